"""Reading a message without holding its large parts in memory.

The standard library's :mod:`email` parser keeps every part's body as a
string. For a reply with a 25 MB photo that is the whole photo, encoded,
several times over. :func:`split` reads the raw message once, line by line,
and writes a *skeleton*: the same MIME tree with every leaf part larger than
``spill_bytes`` replaced by an empty body and a marker header. The body of
such a part is decoded (base64, quoted-printable or as is) straight into a
file of its own while it is read. The skeleton is small and parses with
:class:`email.parser.BytesParser` as usual; the spilled parts are read back
from their files, in chunks, when they are stored.
"""

from __future__ import annotations

import binascii
import io
import re
import secrets
from collections.abc import Callable
from email import policy as email_policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import BinaryIO

from attrs import frozen

__all__ = ["MARKER_HEADER", "SpilledPart", "Split", "split"]

#: The header a spilled part carries in the skeleton: ``<index> <nonce>``.
MARKER_HEADER = "X-Casekit-Spilled"
SPILL_BYTES = 256 * 1024
MAX_LINE = 64 * 1024
_EOL = re.compile(rb"\r?\n$")
_HEADER_PARSER = BytesHeaderParser(policy=email_policy.compat32)


@frozen
class SpilledPart:
    """A leaf part's decoded body, in a file of its own."""

    path: Path
    size: int


@frozen
class Split:
    """A message read by :func:`split`: its skeleton and its spilled parts."""

    skeleton: bytes
    spilled: dict[int, SpilledPart]
    nonce: str

    def spilled_part(self, marker: str | None) -> SpilledPart | None:
        """The spilled part a skeleton part's marker header names, if genuine."""
        if not marker:
            return None
        index, _, nonce = marker.strip().partition(" ")
        if nonce != self.nonce or not index.isdigit():
            return None
        return self.spilled.get(int(index))


class _Decoder:
    """Decodes a transfer encoding incrementally into a file."""

    def __init__(self, encoding: str, out: BinaryIO) -> None:
        self.encoding = encoding
        self.out = out
        self.size = 0
        self._rest = b""
        self._held = b""  # raw and quoted-printable: the last line's EOL belongs to the boundary

    def feed(self, line: bytes) -> None:
        if self.encoding == "base64":
            data = self._rest + bytes(c for c in line if c not in b" \t\r\n")
            whole = len(data) - len(data) % 4
            self._rest = data[whole:]
            if whole:
                self._write(_b64(data[:whole]))
            return
        if self._held:
            self._emit(self._held)
        self._held = line

    def close(self) -> None:
        if self.encoding == "base64":
            if self._rest:
                padded = self._rest + b"=" * (-len(self._rest) % 4)
                self._write(_b64(padded))
            return
        if self._held:
            self._emit(_EOL.sub(b"", self._held))
            self._held = b""

    def _emit(self, line: bytes) -> None:
        if self.encoding == "quoted-printable":
            self._write(binascii.a2b_qp(line))
        else:
            self._write(line)

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        self.out.write(data)


def _b64(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


class _Leaf:
    """A leaf part being read: its headers, and its body buffered or spilling."""

    def __init__(self, headers: list[bytes], encoding: str) -> None:
        self.headers = headers
        self.encoding = encoding
        self.lines: list[bytes] = []
        self.size = 0
        self.decoder: _Decoder | None = None
        self.file: BinaryIO | None = None
        self.path: Path | None = None


def split(
    source: BinaryIO, workdir: Path | Callable[[], Path], *, spill_bytes: int = SPILL_BYTES
) -> Split:
    """Read ``source`` into a skeleton; leaf parts over ``spill_bytes`` go to ``workdir``."""
    nonce = secrets.token_hex(8)
    if isinstance(source, io.BytesIO):
        with source.getbuffer() as whole:
            small = len(whole) - source.tell() <= spill_bytes
        if small:
            # No part of a message this small can spill: its skeleton is the
            # message itself (what reading it line by line would write).
            return Split(source.read(), {}, nonce)
    out = io.BytesIO()
    spilled: dict[int, SpilledPart] = {}
    boundaries: list[bytes] = []
    headers: list[bytes] | None = []  # None while in a multipart's preamble or epilogue
    leaf: _Leaf | None = None

    def finish_leaf() -> None:
        nonlocal leaf
        if leaf is None:
            return
        if leaf.decoder is None:
            out.write(b"".join(leaf.headers))
            out.write(b"".join(leaf.lines))
        else:
            assert leaf.file is not None
            assert leaf.path is not None
            leaf.decoder.close()
            leaf.file.close()
            index = len(spilled)
            spilled[index] = SpilledPart(leaf.path, leaf.decoder.size)
            head = leaf.headers[:-1] if leaf.headers else []
            out.write(b"".join(head))
            out.write(f"{MARKER_HEADER}: {index} {nonce}\r\n\r\n".encode())
        leaf = None

    def end_headers(block: list[bytes]) -> None:
        nonlocal headers, leaf
        parsed = _HEADER_PARSER.parsebytes(b"".join(block))
        boundary = parsed.get_boundary() if parsed.get_content_maintype() == "multipart" else None
        if boundary:
            out.write(b"".join(block))
            boundaries.append(boundary.encode("latin-1", "replace"))
            headers = None
            return
        encoding = str(parsed.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        leaf = _Leaf(block, encoding)
        headers = None

    while line := source.readline(MAX_LINE):
        if headers is not None:
            headers.append(line)
            if line in (b"\r\n", b"\n"):
                end_headers(headers)
            continue
        if boundaries and line.startswith(b"--"):
            mark = line.rstrip()
            matched = False
            for depth in range(len(boundaries) - 1, -1, -1):
                boundary = b"--" + boundaries[depth]
                if mark == boundary or mark == boundary + b"--":
                    finish_leaf()
                    closing = mark != boundary
                    del boundaries[depth + (0 if closing else 1) :]
                    out.write(line)
                    headers = None if closing else []
                    matched = True
                    break
            if matched:
                continue
        if leaf is None:
            out.write(line)
            continue
        leaf.size += len(line)
        if leaf.decoder is not None:
            leaf.decoder.feed(line)
            continue
        leaf.lines.append(line)
        if leaf.size > spill_bytes:
            folder = workdir if isinstance(workdir, Path) else workdir()
            leaf.path = folder / f"part-{len(spilled)}-{secrets.token_hex(4)}"
            leaf.file = leaf.path.open("wb")
            leaf.decoder = _Decoder(leaf.encoding, leaf.file)
            for held in leaf.lines:
                leaf.decoder.feed(held)
            leaf.lines = []
    if headers:  # a message (or part) that ends inside its headers
        out.write(b"".join(headers))
    finish_leaf()
    return Split(out.getvalue(), spilled, nonce)
