"""``casekit.mail.spool.split``: a message held in memory and small enough that no part
can spill is its own skeleton, as reading it line by line would make it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from casekit.mail.spool import SPILL_BYTES, split

CORPUS = sorted(
    p
    for p in (Path(__file__).parent / "mail" / "corpus").rglob("*")
    if p.is_file() and p.name not in ("EXPECTED", "LICENSE", "NOTICE")
)


class _Stream(io.RawIOBase):
    """A binary stream that is no BytesIO: read line by line, as a file would be."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) > 100


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_small_message_in_memory_is_its_own_skeleton(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    assert len(raw) <= SPILL_BYTES
    read = split(io.BufferedReader(_Stream(raw)), tmp_path)
    assert read.spilled == {}
    assert read.skeleton == raw
    held = io.BytesIO(b"ignored" + raw)
    held.seek(len(b"ignored"))  # from where the stream stands
    fast = split(held, tmp_path)
    assert (fast.skeleton, fast.spilled) == (raw, {})
    assert list(tmp_path.iterdir()) == []


def test_a_message_in_memory_larger_than_the_spill_size_still_spills(tmp_path: Path) -> None:
    body = b"QUJD" * 40_000  # 160,000 characters of base64
    raw = (
        b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
        b"--x\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n--x--\r\n"
    )
    read = split(io.BytesIO(raw), tmp_path, spill_bytes=64 * 1024)
    [part] = read.spilled.values()
    assert part.size == 120_000
    assert part.path.read_bytes() == b"ABC" * 40_000
    assert len(read.skeleton) < 1000
