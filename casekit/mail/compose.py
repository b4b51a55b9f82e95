"""Composing a notification's email: headers that thread, tokens that bind.

Every notification gets

- a stable ``Message-ID`` made from its outbox id and case;
- ``In-Reply-To`` and ``References`` naming one thread per case and
  recipient, so each case is one conversation in the recipient's mail
  client (the case-opened mail starts the thread: its Message-ID is the
  thread's);
- the case number in the subject (added in front when a template leaves it out);
- ``Auto-Submitted: auto-generated`` (and ``X-Auto-Response-Suppress``), so
  auto-responders stay quiet;
- when the ``reply_address`` and ``reply_secrets`` settings are set, a
  ``Reply-To`` carrying the recipient's reply token (:mod:`casekit.mail.tokens`);
- when the ``unsubscribe_url`` and ``reply_secrets`` settings are set,
  ``List-Unsubscribe`` with the recipient's unsubscribe link for the case and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058: the mail
  client unsubscribes with one POST, no page).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from attrs import frozen

from casekit.mail.templates import RenderedMail
from casekit.mail.tokens import make_token, reply_address, unsubscribe_url
from casekit.settings import Settings

__all__ = ["OutgoingNotification", "compose", "message_id", "thread_id"]


@frozen(kw_only=True)
class OutgoingNotification:
    """A notification ready to deliver: what a delivery plugin receives.

    ``message`` is the complete email (an ``email.message.Message``:
    headers, plain text and HTML parts);
    the other attributes say what it is about, for plugins that route or
    record it without parsing the message.
    """

    id: int
    case_id: int
    case_number: str
    event: str
    template: str
    recipient_kind: str
    email: str
    name: str
    user_id: int | None
    customer_id: int | None
    attempt: int
    message: Message


def _domain(settings: Settings) -> str:
    return settings.mail_from.rpartition("@")[2] or "localhost"


def thread_id(settings: Settings, case_id: int, recipient_key: str) -> str:
    """The Message-ID that a recipient's mails about one case all refer to."""
    digest = hashlib.sha256(recipient_key.lower().encode("utf-8")).hexdigest()[:16]
    return f"<casekit.case{case_id}.{digest}@{_domain(settings)}>"


def message_id(settings: Settings, notification_id: int, case_id: int) -> str:
    return f"<casekit.n{notification_id}.case{case_id}@{_domain(settings)}>"


def compose(
    settings: Settings,
    rendered: RenderedMail,
    *,
    notification_id: int,
    case_id: int,
    case_number: str,
    event: str,
    recipient_key: str,
    email: str,
    name: str,
    created_at: datetime,
) -> Message:
    """The email of one notification: ``multipart/alternative``, text and HTML.

    Built with the ``email.mime`` classes (the ``compat32`` policy), which
    write a message several times faster than ``EmailMessage``.
    """
    message: Message
    if rendered.html.strip():
        message = MIMEMultipart("alternative")
        message.attach(_text(rendered.text, "plain"))
        message.attach(_text(rendered.html, "html"))
    else:
        message = _text(rendered.text, "plain")
    subject = rendered.subject or case_number
    if case_number not in subject:
        subject = f"[{case_number}] {subject}"
    thread = thread_id(settings, case_id, recipient_key)
    message["From"] = settings.mail_from
    message["To"] = formataddr((name, email), charset="utf-8") if name else email
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["Date"] = format_datetime(created_at)
    if event == "case_opened":
        message["Message-ID"] = thread
    else:
        message["Message-ID"] = message_id(settings, notification_id, case_id)
        message["In-Reply-To"] = thread
        message["References"] = thread
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Casekit-Case"] = case_number
    if settings.reply_address and settings.reply_secrets:
        token = make_token(settings.reply_secrets[0], case_id, recipient_key)
        message["Reply-To"] = reply_address(settings.reply_address, token)
    link = unsubscribe_url(settings.unsubscribe_url, settings.reply_secrets, case_id, recipient_key)
    if link:
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _text(body: str, subtype: str) -> MIMEText:
    """A UTF-8 text part, quoted-printable so that it stays readable and line-safe."""
    return MIMEText(body, subtype, _UTF8_QP)  # type: ignore[arg-type]
