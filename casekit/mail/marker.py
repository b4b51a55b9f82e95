"""The "reply above this line" marker: written at the top of a notification, cut at on the way in.

When replies are accepted, each notification's text and HTML parts start
with :data:`REPLY_MARKER`. A person answers above it; their mail client
quotes the notification, marker included, below the answer (as it is, or
with ``> `` in front of each line). :func:`cut_at_marker` keeps what is
above the first marker line, so the quoted notification never reaches the
case, whatever the client's quoting looks like.

A marker line is any line that starts with ``##-`` and ends with ``-##``
(after any quoting), so an organization's template may word it in its own
language and replies to it are cut all the same.
"""

from __future__ import annotations

import re

__all__ = ["REPLY_MARKER", "cut_at_marker", "has_marker"]

#: The line at the top of a notification that a reply is typed above.
REPLY_MARKER = "##- Please type your reply above this line -##"

# A marker line, quoted ("> > ") or not, in any wording: "##- ... -##".
_MARKER_LINE = re.compile(r"^[ \t>]*##-[^\n]{1,200}?-##[ \t]*$", re.MULTILINE)


_MARKER_ANYWHERE = re.compile(r"##-[^\n<>]{1,200}?-##")


def has_marker(text: str, *, html: bool = False) -> bool:
    """Whether ``text`` has a marker line (in ``html``: a marker anywhere, between tags)."""
    return (_MARKER_ANYWHERE if html else _MARKER_LINE).search(text) is not None


# The header a mail client writes above what it quotes, in any language: an
# attribution line ("On Mon, … <a@b> wrote:", "Am 05.01.2026 um 10:02 schrieb …:",
# "Le lun. 5 janv. 2026 à 10:02, … a écrit :"), or a block of "Label: value"
# lines naming an address (Outlook's "From:/Sent:/To:/Subject:", "Von:/Gesendet:/…"),
# after a separator line ("____", "-----Original Message-----").
_FIELD = re.compile(r"^\*?[^\W\d_][\w .-]{0,30}\*?:\*?(?:\s|$)")
_SEPARATOR = re.compile(r"^(?:[_=\-]{5,}|-{2,}[^-\n]{3,40}-{2,})$")
_ADDRESS_OR_TIME = re.compile(r"@|\d{1,2}[:.h]\d\d")


def _is_quote_header(lines: list[str]) -> bool:
    while lines and _SEPARATOR.match(lines[0]):
        lines = lines[1:]
    text = " ".join(lines)
    if not _ADDRESS_OR_TIME.search(text) or len(text) > 400:
        return False
    if len(lines) <= 3 and text.rstrip().endswith(":"):
        return True  # an attribution line, perhaps wrapped
    return len(lines) >= 2 and all(_FIELD.match(line) for line in lines)


def cut_at_marker(text: str) -> str | None:
    """The answer above the first marker line of ``text``, or None when it has none.

    What the client wrote between the answer and the marker goes too: quoted
    lines, and the quote header, when it looks like one (:func:`_is_quote_header`).
    The answer may still end with a signature, which the reply parser removes.
    """
    match = _MARKER_LINE.search(text)
    if match is None:
        return None
    lines = [line.rstrip() for line in text[: match.start()].split("\n")]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    start = len(lines)
    while start > 0 and lines[start - 1].strip():
        start -= 1
    if _is_quote_header([line.strip() for line in lines[start:]]):
        del lines[start:]
        while lines and (not lines[-1].strip() or _SEPARATOR.match(lines[-1].strip())):
            lines.pop()
    return "\n".join(lines).strip()
