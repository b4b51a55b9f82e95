"""Attachments: the built-in filesystem store, safe file names, and posting files on cases."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tracemalloc

import pytest

from casekit import AttachmentView, Audience, InvalidInput, NotFound, Upload
from casekit.attachments import CHUNK, FilesystemStorage, StoredFile, safe_filename
from casekit.testing import make_kit

MB = 1024 * 1024


class GeneratedStream(io.RawIOBase):
    """A read-once stream of ``total`` bytes made on demand, never held in memory.

    It remembers the largest read asked for, and refuses ``read()`` of everything.
    """

    def __init__(self, total: int, *, fail_after: int | None = None) -> None:
        self.total = total
        self.position = 0
        self.largest_read = 0
        self.fail_after = fail_after

    @staticmethod
    def block(index: int) -> bytes:
        return hashlib.sha256(index.to_bytes(8, "big")).digest() * 2048  # 64 KiB

    @classmethod
    def expected(cls, total: int) -> tuple[str, int]:
        digest, left, index = hashlib.sha256(), total, 0
        while left:
            piece = cls.block(index)[:left]
            digest.update(piece)
            left -= len(piece)
            index += 1
        return digest.hexdigest(), total

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the store read the whole stream at once")
        self.largest_read = max(self.largest_read, size)
        if self.fail_after is not None and self.position >= self.fail_after:
            raise OSError("connection reset by the client")
        size = min(size, self.total - self.position)
        out = bytearray()
        while len(out) < size:
            index, offset = divmod(self.position + len(out), 64 * 1024)
            out += self.block(index)[offset : offset + size - len(out)]
        self.position += size
        return bytes(out)


def files_under(path):
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.fixture
def store(tmp_path):
    return FilesystemStorage(tmp_path / "store")


# -- the filesystem store ------------------------------------------------------------


def test_store_writes_the_bytes_and_measures_them(store, tmp_path):
    data = b"The pallet arrived crushed.\n" * 1000
    stored = store.casekit_store_attachment(stream=io.BytesIO(data), max_bytes=MB)
    assert isinstance(stored, StoredFile)
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert re.fullmatch(r"fs:[0-9a-f]{2}/[0-9a-f]{30}", stored.storage_key)
    [written] = files_under(tmp_path / "store")
    assert written.read_bytes() == data
    assert written.relative_to(tmp_path / "store").as_posix() == stored.storage_key[3:]
    with store.casekit_open_attachment(storage_key=stored.storage_key) as opened:
        assert opened.read() == data


def test_each_file_gets_its_own_key(store):
    keys = {
        store.casekit_store_attachment(stream=io.BytesIO(b"same"), max_bytes=10).storage_key
        for _ in range(5)
    }
    assert len(keys) == 5


def test_files_share_a_folder_and_a_removed_folder_is_made_again(store, tmp_path, monkeypatch):
    tokens = iter(["ab" + "0" * 30, "ab" + "1" * 30, "ab" + "2" * 30])
    monkeypatch.setattr("casekit.attachments.secrets.token_hex", lambda _n: next(tokens))
    first = store.casekit_store_attachment(stream=io.BytesIO(b"one"), max_bytes=10)
    second = store.casekit_store_attachment(stream=io.BytesIO(b"two"), max_bytes=10)
    assert [p.read_bytes() for p in files_under(tmp_path / "store" / "ab")] == [b"one", b"two"]
    shutil.rmtree(tmp_path / "store")  # a host cleaning up by hand
    third = store.casekit_store_attachment(stream=io.BytesIO(b"three"), max_bytes=10)
    assert (first.storage_key, second.storage_key) == ("fs:ab/" + "0" * 30, "fs:ab/" + "1" * 30)
    with store.casekit_open_attachment(storage_key=third.storage_key) as opened:
        assert opened.read() == b"three"


def test_an_empty_file_is_stored(store):
    stored = store.casekit_store_attachment(stream=io.BytesIO(b""), max_bytes=10)
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    with store.casekit_open_attachment(storage_key=stored.storage_key) as opened:
        assert opened.read() == b""


def test_a_30_mb_stream_is_stored_in_chunks(store, tmp_path):
    total = 30 * MB
    stream = GeneratedStream(total)
    tracemalloc.start()
    try:
        stored = store.casekit_store_attachment(stream=stream, max_bytes=31 * MB)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (stored.sha256, stored.size) == GeneratedStream.expected(total)
    assert stream.position == total
    assert stream.largest_read <= CHUNK
    # the whole file never sat in memory: a few chunks at most
    assert peak < 4 * MB, f"peak traced memory {peak / MB:.1f} MB"
    [written] = files_under(tmp_path / "store")
    assert written.stat().st_size == total


def test_a_stream_at_the_limit_is_accepted(store):
    stored = store.casekit_store_attachment(stream=GeneratedStream(100_000), max_bytes=100_000)
    assert stored.size == 100_000


@pytest.mark.parametrize("total", [11, CHUNK + 1, 3 * CHUNK + 17])
def test_a_stream_over_the_limit_is_refused_and_nothing_is_kept(store, tmp_path, total):
    limit = total - 1
    stream = GeneratedStream(total)
    with pytest.raises(InvalidInput) as info:
        store.casekit_store_attachment(stream=stream, max_bytes=limit)
    assert list(info.value.errors) == ["attachments"]
    assert str(limit) in info.value.errors["attachments"][0]
    assert files_under(tmp_path / "store") == []  # no file, no .part


def test_a_huge_stream_stops_being_read_at_the_limit(store, tmp_path):
    stream = GeneratedStream(10 * 1024 * MB)  # 10 GB: never read to the end
    with pytest.raises(InvalidInput):
        store.casekit_store_attachment(stream=stream, max_bytes=MB)
    assert stream.position <= MB + CHUNK
    assert files_under(tmp_path / "store") == []


def test_a_stream_that_breaks_leaves_nothing(store, tmp_path):
    stream = GeneratedStream(10 * MB, fail_after=2 * MB)
    with pytest.raises(OSError, match="connection reset"):
        store.casekit_store_attachment(stream=stream, max_bytes=20 * MB)
    assert files_under(tmp_path / "store") == []


def test_the_store_only_opens_its_own_keys(store):
    assert store.casekit_open_attachment(storage_key="s3:bucket/ab/cdef") is None
    assert store.casekit_open_attachment(storage_key="mem:1") is None
    assert store.casekit_open_attachment(storage_key="") is None


@pytest.mark.parametrize(
    "key",
    [
        "fs:../secret.txt",
        "fs:../../etc/passwd",
        "fs:/etc/passwd",
        "fs:ab/../../secret.txt",
        "fs:ab/" + "c" * 29,
        "fs:ab/" + "c" * 31,
        "fs:AB/" + "C" * 30,
        "fs:ab/" + "c" * 30 + "\n",
        "fs:ab/" + "c" * 30 + "/..",
        "fs:ab\\" + "c" * 30,
        "fs:abc" + "c" * 30,
        "fs:ab/" + "c" * 30 + ".part",
    ],
)
def test_malformed_keys_are_refused(tmp_path, key):
    store = FilesystemStorage(tmp_path / "store" / "inner")
    (tmp_path / "store" / "inner").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "store" / "secret.txt").write_text("secret")
    assert store.casekit_open_attachment(storage_key=key) is None


def test_the_built_in_store_is_asked_through_the_hooks(kit):
    stored = kit.hooks.store_attachment(
        filename="a.txt", content_type="text/plain", stream=io.BytesIO(b"hello"), max_bytes=10
    )
    with kit.hooks.open_attachment(storage_key=stored.storage_key) as opened:
        assert opened.read() == b"hello"
    with pytest.raises(InvalidInput):
        kit.hooks.store_attachment(
            filename="b.txt", content_type="text/plain", stream=io.BytesIO(b"x" * 11), max_bytes=10
        )


# -- safe file names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/var/tmp/photo.jpg", "photo.jpg"),
        ("C:\\Users\\sam\\Desktop\\invoice.pdf", "invoice.pdf"),
        ("folder/sub\\mixed/name.txt", "name.txt"),
        ("a\x00b\x1fc\x7f.txt", "abc.txt"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("c1\x85control\x9b.txt", "c1control.txt"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # right-to-left override spoofing
        ("a\u2066b\u2069c\u202ad.txt", "abcd.txt"),
        ("line\u2028sep\u2029.txt", "linesep.txt"),
        (".htaccess", "htaccess"),
        ("...hidden", "hidden"),
        ("  .bashrc  ", "bashrc"),
        ("..", "attachment"),
        ("", "attachment"),
        ("folder/", "attachment"),
        ("\x00\x01", "attachment"),
        ("Lieferschein Müller.pdf", "Lieferschein Müller.pdf"),
        ("e\u0301te.txt", "\u00e9te.txt"),  # NFC
    ],
)
def test_safe_filename(given, expected):
    assert safe_filename(given) == expected


def test_safe_filename_limits_to_255_bytes_without_splitting_a_character():
    name = safe_filename("é" * 300 + ".pdf")
    encoded = name.encode("utf-8")
    assert len(encoded) <= 255
    assert len(encoded) >= 254
    assert set(name) == {"é"}
    assert safe_filename("a" * 255) == "a" * 255
    assert safe_filename("a" * 256) == "a" * 255
    emoji = safe_filename("📦" * 100)
    assert len(emoji.encode()) == 252
    assert emoji == "📦" * 63


# -- attachments on cases, end to end ---------------------------------------------------


@pytest.fixture
def case(kit, world):
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Pallet arrived damaged",
    )


@pytest.fixture
def small_kit(kit, database_url, tmp_path, clock):
    """A kit on the same database that accepts attachments of at most 1 KiB."""
    small = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        max_attachment_bytes=1024,
    )
    yield small
    small.close()


def test_post_with_an_upload_then_read_it_back(kit, world, case, tmp_path):
    data = bytes(range(256)) * 40
    entry = kit.messages.post(
        world.carrier_actor,
        case.number,
        "Photo of the damage",
        attachments=[Upload("../../photos/damage.jpg", io.BytesIO(data), "image/jpeg")],
    )
    [view] = entry.attachments
    assert view == AttachmentView(
        id=view.id,
        filename="damage.jpg",
        content_type="image/jpeg",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    # the timeline shows the same attachment
    [message] = [
        e for e in kit.cases.timeline(world.shipper_actor, case.number) if e.id == entry.id
    ]
    assert message.attachments == (view,)
    # both parties can read it back
    for actor in (world.shipper_actor, world.carrier_actor):
        described, opened = kit.open_attachment(actor, case.number, view.id)
        with opened:
            assert opened.read() == data
        assert described == view
    assert [p.stat().st_size for p in files_under(tmp_path / "attachments")] == [len(data)]


def test_attachments_follow_the_audience_of_their_message(kit, world, case):
    note = kit.messages.post(
        world.shipper_actor,
        case.number,
        "Internal: the claim form",
        audience=Audience.INTERNAL,
        attachments=[Upload("claim.pdf", io.BytesIO(b"%PDF-1.7"), "application/pdf")],
    )
    partners = kit.messages.post(
        world.shipper_actor,
        case.number,
        "For the carrier",
        attachments=[Upload("bol.pdf", io.BytesIO(b"%PDF-BOL"), "application/pdf")],
    )
    public = kit.messages.post(
        world.shipper_actor,
        case.number,
        "For everyone",
        audience=Audience.EVERYONE,
        attachments=[Upload("label.pdf", io.BytesIO(b"%PDF-LABEL"), "application/pdf")],
    )
    note_id, partners_id, public_id = (
        note.attachments[0].id,
        partners.attachments[0].id,
        public.attachments[0].id,
    )
    with pytest.raises(NotFound):
        kit.open_attachment(world.carrier_actor, case.number, note_id)
    with pytest.raises(NotFound):
        kit.open_attachment(world.customer_actor, case.number, partners_id)
    _view, opened = kit.open_attachment(world.customer_actor, case.number, public_id)
    with opened:
        assert opened.read() == b"%PDF-LABEL"
    _view, opened = kit.open_attachment(world.shipper_manager_actor, case.number, note_id)
    with opened:
        assert opened.read() == b"%PDF-1.7"


def test_an_attachment_is_read_through_its_own_case_only(kit, world, case):
    entry = kit.messages.post(
        world.shipper_actor,
        case.number,
        "File",
        attachments=[Upload("a.txt", io.BytesIO(b"a"))],
    )
    other = kit.cases.open(world.shipper_actor, type="lost")
    with pytest.raises(NotFound):
        kit.open_attachment(world.shipper_actor, other.number, entry.attachments[0].id)
    with pytest.raises(NotFound):
        kit.open_attachment(world.shipper_actor, case.number, entry.attachments[0].id + 1000)


def test_opening_a_case_with_attachments(kit, world):
    opened = kit.cases.open(
        world.shipper_actor,
        type="osd_shortage",
        message="Two cartons missing",
        attachments=[
            Upload("pod.pdf", io.BytesIO(b"proof of delivery"), "application/pdf"),
            Upload("count.csv", io.BytesIO(b"sku,qty\n1,2\n"), "text/csv"),
        ],
    )
    [message] = [e for e in kit.cases.timeline(world.shipper_actor, opened.number) if e.body]
    assert [(a.filename, a.size) for a in message.attachments] == [
        ("pod.pdf", len(b"proof of delivery")),
        ("count.csv", len(b"sku,qty\n1,2\n")),
    ]
    _view, file = kit.open_attachment(world.shipper_actor, opened.number, message.attachments[1].id)
    with file:
        assert file.read() == b"sku,qty\n1,2\n"


def test_a_too_large_attachment_posts_nothing(kit, world, case, small_kit, tmp_path):
    before = kit.cases.timeline(world.shipper_actor, case.number)
    before_case = kit.cases.get(world.shipper_actor, case.number)
    with pytest.raises(InvalidInput) as info:
        small_kit.messages.post(
            world.carrier_actor,
            case.number,
            "Here are the photos",
            cc=["claims@fast.test"],
            attachments=[Upload("huge.jpg", GeneratedStream(5 * MB), "image/jpeg")],
        )
    assert "attachments" in info.value.errors
    assert kit.cases.timeline(world.shipper_actor, case.number) == before
    after_case = kit.cases.get(world.shipper_actor, case.number)
    assert after_case == before_case  # status, version, dates untouched
    assert files_under(tmp_path / "attachments") == []


def test_a_too_large_second_attachment_posts_nothing_either(kit, world, case, small_kit):
    before = kit.cases.timeline(world.shipper_actor, case.number)
    with pytest.raises(InvalidInput):
        small_kit.messages.post(
            world.carrier_actor,
            case.number,
            "Two files",
            attachments=[
                Upload("small.txt", io.BytesIO(b"fits")),
                Upload("big.bin", io.BytesIO(b"x" * 1025)),
            ],
        )
    assert kit.cases.timeline(world.shipper_actor, case.number) == before
    assert kit.cases.get(world.shipper_actor, case.number).latest_message_user_id == (
        world.shipper_agent.id
    )


def test_a_too_large_attachment_opens_no_case(kit, world, small_kit):
    with pytest.raises(InvalidInput):
        small_kit.cases.open(
            world.shipper_actor,
            type="lost",
            message="See attached",
            attachments=[Upload("big.bin", io.BytesIO(b"x" * 2048))],
        )
    assert kit.cases.list(world.shipper_actor) == []


def test_an_attachment_at_the_limit_is_posted(kit, world, case, small_kit):
    entry = small_kit.messages.post(
        world.carrier_actor,
        case.number,
        "Exactly at the limit",
        attachments=[Upload("limit.bin", io.BytesIO(b"y" * 1024))],
    )
    assert entry.attachments[0].size == 1024


def test_an_attachment_without_text_is_a_message(kit, world, case):
    entry = kit.messages.post(
        world.carrier_actor, case.number, "", attachments=[Upload("pod.pdf", io.BytesIO(b"p"))]
    )
    assert entry.body == ""
    assert [a.filename for a in entry.attachments] == ["pod.pdf"]


def test_a_refused_post_leaves_no_stored_file_behind(kit, world, case, small_kit, tmp_path):
    with pytest.raises(InvalidInput):
        small_kit.messages.post(
            world.carrier_actor,
            case.number,
            "Two files",
            attachments=[
                Upload("small.txt", io.BytesIO(b"fits")),
                Upload("big.bin", io.BytesIO(b"x" * 1025)),
            ],
        )
    assert files_under(tmp_path / "attachments") == []
