"""Attachments served as downloads, never rendered by the browser."""

from __future__ import annotations

from flask import Response
from werkzeug.wsgi import FileWrapper

from casekit import Actor
from casekit_flask.extension import current_kit


def send_attachment(actor: Actor, number: str, attachment_id: int) -> Response:
    """The attachment as a download: the actor must be able to read its entry (else 404)."""
    view, stream = current_kit().open_attachment(actor, number, attachment_id)
    response = Response(
        FileWrapper(stream),
        mimetype="application/octet-stream",
        direct_passthrough=True,
    )
    response.headers["Content-Length"] = str(view.size)
    response.headers.set("Content-Disposition", "attachment", filename=view.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.call_on_close(stream.close)
    return response
