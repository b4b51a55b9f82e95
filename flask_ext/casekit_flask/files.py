"""Attachments: uploads read from a form, and files served as downloads (photos may be
shown inline), never rendered by the browser as a page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, cast

from flask import Response, request
from werkzeug.wsgi import FileWrapper

from casekit import Actor, Upload
from casekit_flask.extension import current_kit

CHUNK = 64 * 1024

#: The photos a page shows inline, by their first bytes: only these formats, whatever
#: media type the upload claimed (an SVG or an HTML file is always a download).
_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def uploads(field: str = "attachments") -> list[Upload]:
    """The files of the form's ``field``, as uploads (the core checks their number and size)."""
    return [
        Upload(
            filename=f.filename or "file", content_type=f.mimetype, stream=cast(BinaryIO, f.stream)
        )
        for f in request.files.getlist(field)
        if f.filename
    ]


def image_type(head: bytes) -> str | None:
    """The media type of a JPEG, PNG, GIF or WebP image starting with ``head``, or None."""
    for magic, media_type in _IMAGES:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class _Chunks:
    """The bytes read ahead, then the rest of ``stream``; closing it closes the stream
    (a server closes what it serves, as it closes a :class:`FileWrapper`)."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head = head
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            yield self.head
        while chunk := self.stream.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self.stream.close()


def send_attachment(
    actor: Actor, number: str, attachment_id: int, *, inline: bool = False
) -> Response:
    """The attachment as a download: the actor must be able to read its entry (else 404).

    With ``inline``, a JPEG, PNG, GIF or WebP image (told by its first bytes,
    not by its name or claimed type) is served as that image, for an ``<img>``;
    anything else is the download still.
    """
    view, stream = current_kit().open_attachment(actor, number, attachment_id)
    head = stream.read(12) if inline else b""
    shown = image_type(head) if inline else None
    response = Response(
        _Chunks(head, stream) if inline else FileWrapper(stream),
        mimetype=shown or "application/octet-stream",
        direct_passthrough=True,
    )
    response.headers["Content-Length"] = str(view.size)
    response.headers.set(
        "Content-Disposition", "inline" if shown else "attachment", filename=view.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.call_on_close(stream.close)
    return response
