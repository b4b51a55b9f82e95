"""What a browser would send for a page's form: its fields' values as the page shows them.

``submitted(html, action)`` reads the form whose ``action`` is given and answers its
fields as a list of (name, value) pairs, the way a browser builds the request: text,
number, time, hidden and email inputs with their values, checked checkboxes as "on",
each selected option of a select, a textarea's text. Disabled fields are not sent.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

TEXT_INPUTS = frozenset({"text", "number", "time", "hidden", "email", "date", "search", ""})


class _Form(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.found = False
        self.disabled = 0  # depth of disabled fieldsets
        self.depth: list[bool] = []
        self.fields: list[tuple[str, str]] = []
        self.select: tuple[str, bool] | None = None  # name, disabled
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.inside = html.unescape(a.get("action", "")) == self.action
            self.found = self.found or self.inside
            return
        if not self.inside:
            return
        if tag == "fieldset":
            off = "disabled" in a
            self.depth.append(off)
            self.disabled += off
            return
        off = bool(self.disabled) or "disabled" in a
        name = a.get("name")
        if tag == "input" and name and not off:
            kind = a.get("type", "text").lower()
            if kind in TEXT_INPUTS:
                self.fields.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio") and "checked" in a:
                self.fields.append((name, a.get("value", "on")))
        elif tag == "select" and name:
            self.select = (name, off)
        elif tag == "option" and self.select is not None:
            if "selected" in a and not self.select[1]:
                self.fields.append((self.select[0], a.get("value", "")))
        elif tag == "textarea" and name:
            self.textarea = None if off else name
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "fieldset" and self.depth:
            self.disabled -= self.depth.pop()
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            self.fields.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)


def submitted(page: str, action: str) -> list[tuple[str, str]]:
    """The fields the form of ``page`` posted to ``action`` sends, in order."""
    parser = _Form(action)
    parser.feed(page)
    assert parser.found, f"no form posts to {action}"
    return parser.fields
