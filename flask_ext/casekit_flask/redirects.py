"""Where casekit's pages send a browser back to: paths of this site only."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["same_site_path", "with_next"]


def same_site_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default``.

    For every redirect whose target comes from a request (a form's or a
    query's ``next``). Browsers drop tabs and line breaks inside a URL and
    read a backslash as a slash, so ``/<tab>/evil.example/`` and
    ``/\\evil.example`` lead to another host: a target holding a backslash,
    a space or a control character is refused, as is one with a scheme or a
    host, one starting with ``//``, and one that is not a path at all.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(
        char.isspace() or unicodedata.category(char).startswith("C") for char in target
    ):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def with_next(url: str, target: str) -> str:
    """``url`` with ``next=target`` added to its query, encoded."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"next": target})) if q)
    return urlunsplit(parts._replace(query=query))
