"""Attachment storage: the value a store returns, and the built-in filesystem store."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO

from attrs import frozen

from casekit.errors import InvalidInput
from casekit.plugins import hookimpl

CHUNK = 64 * 1024

# C0 and C1 control characters, DEL, line and paragraph separators, and the
# bidirectional overrides that make "invoice\u202egpj.exe" display as a JPEG.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@frozen
class StoredFile:
    """Where a store put an attachment, and what it measured on the way."""

    storage_key: str
    size: int
    sha256: str


@frozen
class Upload:
    """An attachment handed to casekit: a name, a media type, a readable stream."""

    filename: str
    stream: BinaryIO
    content_type: str = "application/octet-stream"


def safe_filename(name: str) -> str:
    """The last path part of ``name``, without control characters, at most 255 bytes.

    Control characters include C1 controls, line separators and bidirectional
    overrides; leading dots go too, so a name is never hidden or ``..``.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_CHARACTERS.sub("", name).strip().lstrip(".")
    while len(name.encode()) > 255:
        name = name[:-1]
    return name or "attachment"


def _create(path: Path) -> BinaryIO:
    """``path`` opened for writing; its folder is made only when it is missing."""
    try:
        return path.open("wb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")


class FilesystemStorage:
    """The built-in attachment store: files under one folder, streamed in chunks.

    Keys look like ``fs:ab/cdef...``; anything else is another store's.
    """

    PREFIX = "fs:"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @hookimpl(trylast=True)
    def casekit_store_attachment(self, stream: BinaryIO, max_bytes: int) -> StoredFile:
        token = secrets.token_hex(16)
        relative = f"{token[:2]}/{token[2:]}"
        target = self.root / relative
        digest = hashlib.sha256()
        size = 0
        partial = target.with_suffix(".part")
        try:
            with _create(partial) as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise InvalidInput(
                            {"attachments": [f"larger than the limit of {max_bytes} bytes"]}
                        )
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return StoredFile(self.PREFIX + relative, size, digest.hexdigest())

    def _path(self, storage_key: str) -> Path | None:
        if not storage_key.startswith(self.PREFIX):
            return None
        relative = storage_key[len(self.PREFIX) :]
        if not re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{30}", relative):
            return None
        return self.root / relative

    @hookimpl(trylast=True)
    def casekit_open_attachment(self, storage_key: str) -> BinaryIO | None:
        path = self._path(storage_key)
        return None if path is None else path.open("rb")

    @hookimpl(trylast=True)
    def casekit_delete_attachment(self, storage_key: str) -> bool | None:
        path = self._path(storage_key)
        if path is None:
            return None
        path.unlink(missing_ok=True)
        return True
