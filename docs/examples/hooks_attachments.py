"""A plugin that keeps attachments in memory (a stand-in for an object store)."""

import hashlib
import io
import itertools

from casekit import Actor, CaseKit, InvalidInput, Upload, hookimpl
from casekit.attachments import StoredFile


class MemoryStore:
    PREFIX = "mem:"

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self._keys = itertools.count(1)

    @hookimpl
    def casekit_store_attachment(self, stream, max_bytes):
        data = bytearray()
        while chunk := stream.read(64 * 1024):
            data += chunk
            if len(data) > max_bytes:  # keep nothing
                raise InvalidInput({"attachments": [f"larger than {max_bytes} bytes"]})
        key = f"{self.PREFIX}{next(self._keys)}"
        self.blobs[key] = bytes(data)
        return StoredFile(key, len(data), hashlib.sha256(data).hexdigest())

    @hookimpl
    def casekit_open_attachment(self, storage_key):
        if not storage_key.startswith(self.PREFIX):
            return None  # another store's key
        return io.BytesIO(self.blobs[storage_key])


store = MemoryStore()
kit = CaseKit(database_url="sqlite://", plugins=[store])
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper")
case = kit.cases.open(host, type="osd_damaged", shipper=acme.id)
photo = Upload("pod.jpg", io.BytesIO(b"\xff\xd8\xff..."), "image/jpeg")
message = kit.messages.post(host, case.number, "Photo of the damage", attachments=[photo])

info, stream = kit.open_attachment(host, case.number, message.attachments[0].id)
with stream:
    assert stream.read() == b"\xff\xd8\xff..."
print(info.filename, info.content_type, info.size, "bytes in", sorted(store.blobs))
