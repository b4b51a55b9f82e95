"""No page shows a raw code: every page of the demo, walked as each kind of reader,
shows casekit's words (:mod:`casekit.labels`) where a code is stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Flask

from casekit import Actor, labels
from casekit_flask.demo import create_demo_app

pytestmark = pytest.mark.backends("sqlite")

#: The vocabularies whose codes pages show (a case's, a shipment's, a mail's).
SHOWN = (
    "status", "category", "source", "audience", "system", "event", "mode", "direction",
    "shipment_status", "exception", "has_event", "inbound_outcome", "granularity", "target",
    "role", "user_role", "operator",
)  # fmt: skip


def raw_forms() -> set[str]:
    """What a code looks like when a page shows it instead of its words: the code
    itself ("user", "parcel", "delivered"), and the words people saw before there was
    one vocabulary ("Api" for the API, "Closed" for a solved case)."""
    forms = {"Api", "Closed"}
    for name in SHOWN:
        for code, words in labels.VOCABULARIES[name].items():
            if code != words:
                forms.add(code)
    return forms


RAW = raw_forms()
#: A snake_case code of any vocabulary, anywhere in a text.
SNAKE = re.compile(
    r"\b("
    + "|".join(
        sorted(
            {c for v in labels.VOCABULARIES.values() for c in v if "_" in c and ":" not in c},
            key=len,
            reverse=True,
        )
    )
    + r")\b"
)


class Texts(HTMLParser):
    """The texts a reader reads (not attributes, not scripts), and the page's links."""

    SKIP = frozenset({"script", "style", "textarea", "code"})

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.links: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        href = dict(attrs).get("href")
        if tag == "a" and href and "download" not in dict(attrs):
            self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(data.strip())


def shape(path: str) -> str:
    """Pages of one kind share a shape: digits and case numbers do not count."""
    parts = urlsplit(path)
    query = "&".join(sorted(p.split("=")[0] for p in parts.query.split("&") if p))
    return re.sub(r"CV\d+|\d+", "N", parts.path) + "?" + query


def walk(
    client, start: list[str], per_shape: int = 2, limit: int = 60
) -> Iterator[tuple[str, str]]:
    """Every page reachable from ``start`` by the site's own links (a few of each shape)."""
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue = list(start)
    chosen = set(start)  # the pages asked for are walked whatever their shape
    while queue and len(seen) < limit:
        path = queue.pop(0).split("#", 1)[0]
        if path in seen or not path.startswith("/") or path.startswith("//"):
            continue
        bare = urlsplit(path).path
        if bare.endswith((".csv", ".json", ".ico", "/original")) or bare.startswith("/api/"):
            continue
        if "/attachments/" in bare or "/static/" in bare:
            continue
        kind = shape(path)
        if shapes.get(kind, 0) >= per_shape and path not in chosen:
            continue
        shapes[kind] = shapes.get(kind, 0) + 1
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = response.data.decode()
        parser = Texts()
        parser.feed(page)
        queue.extend(parser.links)
        yield path, page


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    app = create_demo_app(tmp_path_factory.mktemp("demo"), shipments=40, deliver=False)
    app.config["WTF_CSRF_ENABLED"] = False
    kit = app.extensions["casekit"].kit
    kit.notifications.deliver()  # the captured mail pages have mail to show
    yield app
    kit.close()


@pytest.mark.parametrize("identity", ["morgan", "alex", "dana", "customer1"])
def test_no_page_shows_a_raw_code(demo, identity):
    client = demo.test_client()
    assert client.post("/demo/identity", data={"identity": identity}).status_code == 302
    start = ["/", "/cases/", "/cases/?view=all_cases", "/demo/mail/", "/my-account/cases/"]
    kit = demo.extensions["casekit"].kit
    # The case pages with the most to show: a shipment, an order, rules' and API's cases.
    rows = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=200).rows
    shipped = [r for r in rows if r.cell("tracking_number")]
    start += [f"/cases/{r.number}" for r in [*shipped[:4], *rows[:4]]]
    found: list[str] = []
    pages = 0
    for path, page in walk(client, start):
        pages += 1
        parser = Texts()
        parser.feed(page)
        for text in parser.texts:
            if text in RAW:
                found.append(f"{path}: {text!r}")
            elif match := SNAKE.search(text):
                found.append(f"{path}: {match.group(0)!r} in {text[:80]!r}")
    assert pages >= (3 if identity == "customer1" else 10), f"only {pages} pages walked"
    assert found == []


def test_the_checks_find_a_raw_code():
    """The detector itself: a page that shows codes is caught."""
    parser = Texts()
    parser.feed(
        "<dl><dt>Source</dt><dd>user</dd><dt>Mode</dt><dd>parcel</dd></dl>"
        "<strong>Api</strong><p>moved from reply_received to solved</p><code>parcel</code>"
    )
    assert [t for t in parser.texts if t in RAW] == ["user", "parcel", "Api"]
    assert SNAKE.search("moved from reply_received to solved")
    assert "Staff" not in RAW
    assert "Parcel" not in RAW
