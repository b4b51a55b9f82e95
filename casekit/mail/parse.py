"""Inbound mail, read: addresses, text, attachments, auto-replies and bounces.

:func:`parse_mail` never raises on bad mail: a part it cannot decode, a
charset it does not know or a header it cannot read becomes a line in
:attr:`ParsedMail.problems` and the best text it could get. The text shown on
a case has the quoted history and signature removed by
:mod:`mailparser_reply`; HTML-only mail becomes text through
:mod:`inscriptis`, and the HTML kept for display is cleaned by :mod:`nh3`.
Bounces are recognised from delivery status reports (RFC 3464) and, for
the servers that send none, by :mod:`flufl.bounce`'s detectors.
"""

from __future__ import annotations

import email.utils
import functools
import io
import re
from collections.abc import Iterator, Sequence
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import BinaryIO

from attrs import field, frozen

from casekit.mail.marker import cut_at_marker
from casekit.mail.spool import MARKER_HEADER, Split

__all__ = [
    "MailAttachment",
    "ParsedMail",
    "auto_reply_reason",
    "parse_headers_only",
    "parse_mail",
]

# compat32: headers are read once, raw, and decoded here (the default policy's
# header classes parse every header on every access, at many times the cost).
_PARSER = BytesParser(policy=email_policy.compat32)
_HEADER_ONLY = BytesHeaderParser(policy=email_policy.compat32)
_ID = re.compile(r"<([^<>\s]+)>")
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_LIST_HEADERS = ("List-Id", "List-Post", "List-Unsubscribe", "List-Help")
_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_BODY_TYPES = ("text/plain", "text/html")
# Words of failure notices: only such mail is handed to flufl.bounce's detectors.
_BOUNCE_HINTS = re.compile(
    r"undeliver|returned|delivery|failure|failed|rejected|not delivered|unable|"
    r"mailer|postmaster|daemon|error|bounce|unknown user|no such",
    re.IGNORECASE,
)
# Failure notices in plain words that flufl.bounce does not read: Postfix's
# ("<a@b.example>: host mx said: 550 ..."), Gmail's ("wasn't delivered to
# a@b.example because ...") and Exchange's list under "Delivery has failed to
# these recipients or groups:". Each finds the address and the rest of its line.
_TEXT_FAILURES = (
    re.compile(r"(?m)^<([^<>\s@]+@[^<>\s]+)>(?: \(expanded from [^)\n]*\))?:(.*)$"),
    re.compile(
        r"(?i)\bwasn['\u2019]?t delivered to <?([^\s<>@]+@[^\s<>]+?)>?(?=[\s,;]|\.(?:\s|$))(.*)"
    ),
)
_EXCHANGE_LIST = re.compile(r"(?i)delivery has failed to these recipients or groups:[ \t]*\n")
_ADDRESS_IN_LINE = re.compile(r"<?([^\s<>()@,;:\"]+@[^\s<>()@,;:\"]+\.[^\s<>()@,;:\"]+)>?")
# An SMTP reply code or enhanced status of a temporary failure (4xx, 4.x.x).
_TEMPORARY = re.compile(r"(?<![\d.])4(?:\d\d|\.\d{1,3}\.\d{1,3})(?![\d.])")
# The subjects of out-of-office and other automatic replies that come without
# RFC 3834's headers (Outlook's "Automatic reply:", Lotus' "Out of Office",
# and their translations), at the start of the subject.
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|"
    r"auto|autosvar|autoreply|abwesenheitsnotiz|automatische antwort|abwesend|"
    r"r[ée]ponse automatique|absence du bureau|absent(?:e)? du bureau|"
    r"respuesta autom[áa]tica|fuera de la oficina|afwezig(?:heidsmelding)?|"
    r"automatisch antwoord|risposta automatica|fuori ufficio|"
    r"resposta autom[áa]tica|fora do escrit[óo]rio|ausente|automaattinen vastaus)\s*(?::|$)",
    re.IGNORECASE,
)
# Senders whose mail is never a person's: autoresponders and no-reply systems.
_AUTO_SENDERS = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|auto[-_.]?reply|auto[-_.]?responder|"
    r"vacation|out[-_.]?of[-_.]?office)(?:[-_.+][^@]*)?@",
    re.IGNORECASE,
)
MAX_HEADER = 998
# The bytes of a header that no charset declares, as the parser keeps them (surrogates).
_UNDECLARED_8BIT = re.compile("[\udc80-\udcff]")


@frozen
class MailAttachment:
    """A file in an inbound message: in memory when small, in a file when spilled."""

    filename: str
    content_type: str
    size: int
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None

    def open(self) -> BinaryIO:
        if self.path is not None:
            return self.path.open("rb")
        return io.BytesIO(self.data or b"")


@frozen(kw_only=True)
class ParsedMail:
    """What casekit reads from one message."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str | None
    from_name: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    reply_text: str
    html: str | None
    attachments: tuple[MailAttachment, ...]
    auto_reply: str | None
    bounce: bool
    #: Permanently failed recipients a bounce names.
    failed_recipients: tuple[str, ...]
    #: Message-IDs of the bounced message (from its returned headers).
    bounced_message_ids: tuple[str, ...]
    #: The addresses of the Cc header (they are in ``recipients`` too).
    cc: tuple[str, ...] = ()
    problems: tuple[str, ...]
    #: Why the message could not be read beyond its headers (None: it was read).
    malformed: str | None = None


def _headers(msg: Message) -> dict[str, str]:
    """The first value of each header, by lower-case name, undecoded."""
    found: dict[str, str] = {}
    for name, value in msg.raw_items():
        found.setdefault(name.lower(), str(value))
    return found


def _header(headers: dict[str, str], name: str, problems: list[str]) -> str:
    """A header's decoded value ('' if absent); never raises."""
    raw = headers.get(name.lower())
    if raw is None:
        return ""
    if not raw.isascii() and _UNDECLARED_8BIT.search(raw):
        problems.append(f"header {name} has undeclared 8-bit text")
        raw = _eight_bit(raw.encode("utf-8", "surrogateescape"))
    text = raw
    if "=?" in raw:
        try:
            text = str(make_header(decode_header(raw)))
        except Exception as error:  # an unknown charset, a broken encoded word
            problems.append(f"header {name} could not be decoded ({type(error).__name__})")
            parts = []
            for chunk, _charset in decode_header(raw) if "=?" in raw else [(raw, None)]:
                parts.append(
                    chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
                )
            text = "".join(parts)
    text = _without_nul(text, f"header {name}", problems)
    return " ".join(text.split())[:MAX_HEADER]


def _without_nul(text: str, where: str, problems: list[str]) -> str:
    """``text`` without NUL characters, which no database's text column takes."""
    if "\x00" not in text:
        return text
    problems.append(f"{where} had NUL characters (removed)")
    return text.replace("\x00", "")


def _eight_bit(raw: bytes) -> str:
    """Bytes of no declared charset: UTF-8 if they are, else Windows-1252."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _ids(value: str) -> tuple[str, ...]:
    found = _ID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip()]
    return tuple(dict.fromkeys(i.lower() for i in found))


def _addresses(values: Sequence[str]) -> list[tuple[str, str]]:
    return list(_parsed_addresses(tuple(values)))


@functools.lru_cache(maxsize=64)
def _parsed_addresses(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # Kept a while: one message's From and Cc are asked for more than once.
    result = []
    for name, address in email.utils.getaddresses(list(values)):
        address = address.strip().lower()
        if "@" in address and len(address) <= 320:
            result.append((name.strip(), address))
    return tuple(result)


def auto_reply_reason(headers: dict[str, str], problems: list[str] | None = None) -> str | None:
    """Why a message with ``headers`` looks machine-sent.

    RFC 3834's ``Auto-Submitted``, the common headers of autoresponders and
    mailing lists, the subjects of out-of-office replies in the common
    languages (at the start: ``Automatic reply:``, ``Out of Office:``,
    ``Auto:``, ``Abwesenheitsnotiz``, ``Réponse automatique`` …) and senders
    that never are a person (``noreply@``, ``autoreply@``, ``vacation@`` …).
    """
    seen: list[str] = problems if problems is not None else []
    submitted = _header(headers, "Auto-Submitted", seen).split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = _header(headers, "Precedence", seen).strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if name.lower() in headers:
            return f"{name} header"
    suppress = _header(headers, "X-Auto-Response-Suppress", seen)
    if suppress:
        return f"X-Auto-Response-Suppress: {suppress}"
    for name in _LIST_HEADERS:
        if name.lower() in headers:
            return f"{name} header (mailing list)"
    subject = _header(headers, "Subject", seen)
    if _AUTO_SUBJECT.match(subject):
        return f"subject {subject[:60]!r}"
    for _, address in _addresses([_header(headers, "From", seen)]):
        if _AUTO_SENDERS.match(address):
            return f"sender {address}"
    return None


def _text_of(part: Message, problems: list[str]) -> str:
    """A text part's content, whatever its charset claims, without NUL characters."""
    return _without_nul(
        _decoded_text(part, problems), f"a {part.get_content_type()} part", problems
    )


def _decoded_text(part: Message, problems: list[str]) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    ctype = part.get_content_type()
    charset = part.get_content_charset()
    if charset:
        try:
            return raw.decode(charset)
        except LookupError:
            problems.append(f"a {ctype} part in the unknown charset {charset}")
        except UnicodeDecodeError:
            problems.append(f"a {ctype} part is not valid {charset}")
            return raw.decode(charset, "replace")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        if not charset:
            problems.append(f"a {ctype} part has undeclared 8-bit text")
        return _eight_bit(raw)


def _html_to_text(html: str) -> str:
    import inscriptis  # type: ignore[import-untyped]

    try:
        return str(inscriptis.get_text(html)).strip()
    except Exception:  # a document lxml cannot build: fall back to the sanitised tags
        import nh3

        return nh3.clean(html, tags=set()).strip()


@functools.cache
def _reply_parser_class() -> type:
    from mailparser_reply.parser import (  # type: ignore[import-untyped]
        EmailMessage as ReplyMessage,
    )
    from mailparser_reply.parser import EmailReply

    class FirstReply(ReplyMessage):  # type: ignore[misc]
        """mail-parser-reply's message, read only up to the first reply header.

        The library splits the whole thread and strips signatures from every
        part; casekit shows only the newest, so the rest is not worked on.
        """

        def read(self) -> FirstReply:
            match = self.HEADER_REGEX.search(self.text)
            if match is None:
                return super().read()  # type: ignore[no-any-return]
            header = next((group for group in match.groups() if group), match.group(0))
            position = self.text.find(header)
            if position <= 0:
                return super().read()  # type: ignore[no-any-return]
            first = self.text[:position]
            disclaimers, signatures = self._process_signatures_disclaimers(first)
            self.replies.append(
                EmailReply(content=first, signatures=signatures, disclaimers=disclaimers)
            )
            return self

    return FirstReply


def _strip_reply(text: str, languages: Sequence[str]) -> str:
    """The newest reply of ``text``: quoted history, signature and disclaimers removed.

    A reply above casekit's "reply above this line" marker
    (:mod:`casekit.mail.marker`) is cut there first, whatever quotes the
    marker; the client's quote header left above it ("On … wrote:") goes
    with the rest of the history. An answer written below the marker (the
    marker first, then the answer) is read as if there were no marker.
    """
    above = cut_at_marker(text)
    if above:
        return _parse_reply(above, languages)
    return _parse_reply(text, languages)


def _parse_reply(text: str, languages: Sequence[str]) -> str:
    """The newest reply in ``text`` as mail-parser-reply finds it (all of it when it cannot)."""
    try:
        message = _reply_parser_class()(text=text, languages=list(languages)).read()
        if message.replies:
            latest = str(message.replies[0].body).strip()
            if latest:
                return latest
    except Exception:  # the parser's regexes on odd text: keep the whole text
        pass
    return text.strip()


def _leaves(msg: Message) -> Iterator[Message]:
    """Every leaf part, a message/rfc822 part counting as one (a forwarded mail)."""
    if msg.is_multipart() and msg.get_content_maintype() == "multipart":
        for part in msg.get_payload():
            if isinstance(part, Message):
                yield from _leaves(part)
    else:
        yield msg


def _filename(part: Message, index: int, problems: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        problems.append(f"part {index} has an unreadable file name")
        name = None
    if name and "=?" in name:
        name = _header({"name": name}, "name", problems)
    return " ".join(str(name).split()) if name else None


def _extension(content_type: str) -> str:
    import mimetypes

    return mimetypes.guess_extension(content_type) or ".bin"


def _is_body_candidate(part: Message, ctype: str) -> bool:
    if part.get_content_type() != ctype or part.get(MARKER_HEADER) is not None:
        return False
    if (part.get_content_disposition() or "").lower() == "attachment":
        return False
    try:
        return part.get_filename() is None
    except Exception:
        return False


def _body(msg: Message) -> Message | None:
    """The part shown as the message: the first inline plain text, else HTML."""
    leaves = list(_leaves(msg))
    for ctype in _BODY_TYPES:
        for part in leaves:
            if _is_body_candidate(part, ctype):
                return part
    return None


def _is_dsn(msg: Message) -> bool:
    return (
        msg.get_content_type() == "multipart/report"
        and str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )


def _dsn_failures(msg: Message) -> tuple[list[str], list[str]]:
    """(permanently failed recipients, returned Message-IDs) of a delivery status report."""
    failed: list[str] = []
    ids: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            if not isinstance(blocks, list):
                continue
            for block in blocks[1:]:  # the first block describes the reporting MTA
                if not isinstance(block, Message):
                    continue
                action = str(block.get("Action", "")).strip().lower()
                status = str(block.get("Status", "")).strip()
                recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient"))
                address = recipient.partition(";")[2].strip().strip("<>").lower()
                if (action == "failed" or status.startswith("5")) and "@" in address:
                    failed.append(address)
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                ids.extend(_ids(str(inner[0].get("Message-ID", ""))))
            elif isinstance(inner, str):
                match = re.search(r"(?im)^message-id:\s*(<[^>]+>)", inner)
                if match:
                    ids.extend(_ids(match.group(1)))
    return failed, ids


def _heuristic_failures(msg: Message) -> tuple[list[str], list[str]]:
    """(permanent, temporary) failures flufl.bounce's detectors find in a non-DSN bounce."""
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(msg)
    except Exception:
        temporary, permanent = frozenset(), frozenset()
    if not temporary and not permanent:
        return _textual_failures(msg)
    return _clean(permanent), _clean(temporary)


def _textual_failures(msg: Message) -> tuple[list[str], list[str]]:
    """(permanent, temporary) failures a plain-text notice names (:data:`_TEXT_FAILURES`).

    Only the notice's own text is read, never a returned message, whose
    headers name addresses that did not fail.
    """
    part = _body(msg)
    if part is None or part.get(MARKER_HEADER) is not None:
        return [], []
    text = _decoded_text(part, [])
    if part.get_content_type() == "text/html":
        text = _html_to_text(text)
    text = text.replace("\r\n", "\n")
    found: list[tuple[str, str]] = []
    for pattern in _TEXT_FAILURES:
        found += [(m.group(1), m.group(2)) for m in pattern.finditer(text)]
    for listed in _EXCHANGE_LIST.finditer(text):
        for line in text[listed.end() :].split("\n")[:12]:
            addresses = _ADDRESS_IN_LINE.findall(line)
            if not addresses and line.strip() and found:
                break
            found += [(address, line) for address in addresses]
    permanent = [a for a, rest in found if not _TEMPORARY.search(rest)]
    temporary = [a for a, rest in found if _TEMPORARY.search(rest)]
    return _clean(permanent), _clean(temporary)


def _clean(addresses: object) -> list[str]:
    found = []
    for address in addresses:  # type: ignore[attr-defined]
        text = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)
        text = text.strip().strip("<>").lower()
        if "@" in text:
            found.append(text)
    return found


def parse_headers_only(
    head: bytes,
    why: str,
    *,
    envelope_from: str | None = None,
    envelope_to: Sequence[str] = (),
) -> ParsedMail:
    """What the header block at the start of ``head`` tells of a message that
    :func:`parse_mail` could not read (``why``): enough to store and triage it.

    Reads the headers only (no MIME structure), so it cannot fail the way a
    deeply nested or huge body makes the full parser fail.
    """
    problems: list[str] = [f"message: could not be read ({why})"]
    try:
        msg = _HEADER_ONLY.parsebytes(head)
        headers = _headers(msg)
    except Exception as error:  # the header block itself is unreadable
        problems.append(f"headers: could not be read ({type(error).__name__})")
        headers = {}
    from_value = _header(headers, "From", problems) or _header(headers, "Sender", problems)
    senders = _addresses([from_value])
    from_name, from_address = senders[0] if senders else ("", None)
    if from_address is None and envelope_from and "@" in envelope_from:
        from_address = envelope_from.strip().strip("<>").lower()
    to_values = [_header(headers, name, problems) for name in ("To", "Cc", "Delivered-To")]
    recipients = [r.strip().strip("<>").lower() for r in envelope_to if "@" in r]
    recipients += [a for _, a in _addresses([v for v in to_values if v])]
    return ParsedMail(
        message_id=next(iter(_ids(_header(headers, "Message-ID", problems))), None),
        in_reply_to=_ids(_header(headers, "In-Reply-To", problems)),
        references=_ids(_header(headers, "References", problems)),
        from_address=from_address,
        from_name=from_name,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=_header(headers, "Subject", problems),
        text="",
        reply_text="",
        html=None,
        attachments=(),
        auto_reply=None,
        bounce=False,
        failed_recipients=(),
        bounced_message_ids=(),
        problems=tuple(dict.fromkeys(problems)),
        malformed=why,
    )


def parse_mail(
    split: Split,
    *,
    envelope_from: str | None = None,
    envelope_to: Sequence[str] = (),
    languages: Sequence[str] = ("en",),
) -> ParsedMail:
    """Read the message in ``split`` (see :func:`casekit.mail.spool.split`)."""
    problems: list[str] = []
    msg: Message = _PARSER.parsebytes(split.skeleton)
    headers = _headers(msg)
    for defect in msg.defects:
        problems.append(f"message: {type(defect).__name__}")
    message_id = next(iter(_ids(_header(headers, "Message-ID", problems))), None)
    in_reply_to = _ids(_header(headers, "In-Reply-To", problems))
    references = _ids(_header(headers, "References", problems))
    from_value = _header(headers, "From", problems) or _header(headers, "Sender", problems)
    senders = _addresses([from_value])
    from_name, from_address = senders[0] if senders else ("", None)
    if from_address is None and envelope_from and "@" in envelope_from:
        from_address = envelope_from.strip().strip("<>").lower()
    to_values = [_header(headers, name, problems) for name in ("To", "Cc", "Delivered-To")]
    recipients = [a for _, a in _addresses([v for v in to_values if v])]
    recipients = [r.strip().strip("<>").lower() for r in envelope_to if "@" in r] + recipients
    subject = _header(headers, "Subject", problems)

    auto = auto_reply_reason(headers, problems)
    bounce = _is_dsn(msg)
    failed: list[str] = []
    bounced_ids: list[str] = []
    if bounce:
        failed, bounced_ids = _dsn_failures(msg)
    return_path = _header(headers, "Return-Path", problems).strip().strip("<>").strip()
    null_sender = (envelope_from is not None and envelope_from.strip() in ("", "<>")) or (
        bool(from_value) and not senders and "<>" in from_value
    )
    daemon = any(
        _DAEMONS.match(candidate + ("" if "@" in candidate else "@"))
        for candidate in (from_address or "", return_path.lower())
        if candidate
    )
    if not bounce and (null_sender or daemon or _BOUNCE_HINTS.search(subject + " " + from_value)):
        failed, warned = _heuristic_failures(msg)
        # An auto-reply may come from a null sender too (RFC 3834); a failure
        # report names the recipients that failed, or comes from a daemon.
        bounce = bool(failed or warned) or daemon or (auto is None and null_sender)
        if bounce:
            _, bounced_ids = _dsn_failures(msg)
    if not bounce and auto is None and msg.get_content_type() == "multipart/report":
        auto = f"{msg.get_param('report-type', 'report')} report"

    body_part = _body(msg)
    text = ""
    html: str | None = None
    if body_part is not None and body_part.get(MARKER_HEADER) is None:
        content = _text_of(body_part, problems)
        if body_part.get_content_type() == "text/html":
            import nh3

            html = nh3.clean(content)
            text = _html_to_text(content)
        else:
            text = content
    text = text.replace("\r\n", "\n").strip()
    reply_text = _strip_reply(text, languages) if text else ""

    attachments: list[MailAttachment] = []
    for index, part in enumerate(_leaves(msg)):
        if part is body_part:
            continue
        for defect in getattr(part, "defects", ()):
            problems.append(f"part {index}: {type(defect).__name__}")
        ctype = part.get_content_type()
        name = _filename(part, index, problems)
        disposition = (part.get_content_disposition() or "").lower()
        spilled = split.spilled_part(part.get(MARKER_HEADER))
        if name is None and disposition != "attachment" and spilled is None:
            # Unnamed inline text is another view of the body (an HTML
            # alternative, a DSN's machine-readable part), not a file.
            if ctype.startswith("text/") or ctype.startswith("message/delivery-status"):
                continue
            if ctype in ("multipart/alternative",):
                continue
        filename = name or f"part-{index}{_extension(ctype)}"
        if spilled is not None:
            attachments.append(MailAttachment(filename, ctype, spilled.size, path=spilled.path))
            continue
        try:
            if part.get_content_maintype() == "message":
                inner = part.get_payload()
                data = (
                    inner[0].as_bytes()
                    if isinstance(inner, list) and inner and isinstance(inner[0], Message)
                    else str(inner).encode("utf-8", "replace")
                )
            else:
                payload = part.get_payload(decode=True)
                data = payload if isinstance(payload, bytes) else b""
        except Exception as error:
            problems.append(f"part {index} ({ctype}) could not be decoded: {error}")
            continue
        attachments.append(MailAttachment(filename, ctype, len(data), data=data))

    return ParsedMail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        from_address=from_address,
        from_name=from_name,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=subject,
        text=text,
        reply_text=reply_text,
        html=html,
        attachments=tuple(attachments),
        auto_reply=None if bounce else auto,
        bounce=bounce,
        failed_recipients=tuple(dict.fromkeys(failed)),
        bounced_message_ids=tuple(dict.fromkeys(bounced_ids)),
        problems=tuple(dict.fromkeys(problems)),
        cc=tuple(dict.fromkeys(a for _, a in _addresses([to_values[1]] if to_values[1] else []))),
    )
