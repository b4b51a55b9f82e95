"""Answering a captured mail "as its recipient": the demo's stand-in for a mail client.

:func:`read_answer` checks what the visitor typed and attached on the
captured mail's page; :func:`compose_answer` writes the reply a mail client
would send (RFC 5322: from the recipient to the mail's ``Reply-To``, in its
thread by ``In-Reply-To`` and ``References``, the mail quoted below the
answer, the file as a MIME part). The demo feeds its bytes to
:meth:`kit.inbound.receive <casekit.services.inbound.InboundService.receive>`,
the entry point of ``casekit inbound read``, so the answer meets casekit
exactly as a reply by email would.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from attrs import frozen
from werkzeug.datastructures import FileStorage

from casekit.services.messages import MAX_BODY

__all__ = ["Answer", "AnswerFile", "compose_answer", "megabytes", "read_answer"]

#: Room a request needs beyond its file: the answer's text and the form's other fields.
FORM_SLACK = 2 * 1024 * 1024


@frozen
class AnswerFile:
    """The file attached to an answer."""

    filename: str
    content_type: str
    data: bytes


@frozen
class Answer:
    """What the visitor answers: text, a file, or both."""

    text: str
    file: AnswerFile | None = None


def megabytes(size: int) -> str:
    """``size`` bytes in megabytes, for people."""
    return f"{size / (1024 * 1024):g} MB"


def read_answer(
    form: Mapping[str, str], files: Mapping[str, FileStorage], *, max_file_bytes: int
) -> Answer | dict[str, list[str]]:
    """The answer in the page's form (``text`` and ``attachment``), or its errors by field."""
    text = (form.get("text") or "").replace("\r\n", "\n").strip()
    upload = files.get("attachment")
    errors: dict[str, list[str]] = {}
    file = None
    if len(text) > MAX_BODY:
        errors["text"] = [f"at most {MAX_BODY} characters"]
    if upload is not None and upload.filename:
        data = upload.stream.read(max_file_bytes + 1)
        if len(data) > max_file_bytes:
            errors["attachment"] = [f"larger than the limit of {megabytes(max_file_bytes)}"]
        else:
            filename = re.split(r"[\\/]", upload.filename)[-1].strip() or "attachment"
            file = AnswerFile(filename, _content_type(upload.mimetype, filename), data)
    if not text and file is None and not errors:
        errors["text"] = ["write an answer or attach a file"]
    return errors or Answer(text, file)


def _content_type(sent: str, filename: str) -> str:
    """The type the browser sent, else the one the file's name suggests."""
    if re.fullmatch(r"[\w.+-]+/[\w.+-]+", sent or "") and sent != "application/octet-stream":
        return sent.lower()
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def compose_answer(
    mail: EmailMessage, *, sender: str, answer: Answer, now: datetime
) -> EmailMessage:
    """The reply ``sender`` (the mail's recipient) writes to ``mail``, as a mail client would."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = str(mail["Reply-To"] or mail["From"])
    subject = str(mail["Subject"] or "")
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = format_datetime(now)
    domain = getaddresses([sender])[0][1].rpartition("@")[2] or "localhost"
    reply["Message-ID"] = make_msgid(domain=domain)
    original = str(mail["Message-ID"] or "").strip()
    if original:
        reply["In-Reply-To"] = original
        reply["References"] = " ".join(
            part for part in (str(mail["References"] or "").strip(), original) if part
        )
    reply.set_content(f"{answer.text}\n\n{_quoted(mail)}")
    if answer.file is not None:
        maintype, _, subtype = answer.file.content_type.partition("/")
        reply.add_attachment(
            answer.file.data, maintype=maintype, subtype=subtype, filename=answer.file.filename
        )
    return reply


def _quoted(mail: EmailMessage) -> str:
    """The mail below the answer, as a mail client quotes it ("On …, … wrote:")."""
    body = mail.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    lines = "\n".join(f"> {line}".rstrip() for line in text.splitlines())
    return f"On {mail['Date']}, {mail['From']} wrote:\n{lines}\n"
