"""``casekit demo --screenshots DIR``: the demo's key pages, photographed by Chromium.

:func:`take_screenshots` serves a demo app on a free loopback port and drives
Debian's Chromium (``/usr/bin/chromium``) through playwright (``pip install
'casekit-flask[screenshots]'``): the staff case list and a case page as the
merchant's agent, the portal's list and a case as a customer, each at
1366x900 and at a phone's 390x844. The documentation's pictures come from it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from casekit import Actor
from casekit.domain.case import EntryKind
from casekit.errors import ConfigurationError

#: The browser the screenshots are taken with: the system's, never one downloaded.
CHROMIUM = "/usr/bin/chromium"
#: Its flags: no sandbox (containers), no GPU, nothing fetched in the background.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: The window sizes, by the name their files end with.
SIZES = {"1366": (1366, 900), "390": (390, 844)}
#: The pages, by file name: who looks at them (a demo identity) and what they show.
PAGES = ("case-list", "case-page", "portal-list", "portal-case")
#: The demo identities the pages are seen as.
STAFF, CUSTOMER = "alex", "customer1"


def screenshot_names() -> list[str]:
    """The files :func:`take_screenshots` writes, in the order it writes them."""
    return [f"{page}-{size}.png" for size in SIZES for page in PAGES]


class _Quiet(WSGIRequestHandler):
    """Logs no request: the command prints only the files it wrote."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _closing(app: Flask) -> Any:
    """``app``, whose response is closed however its request ends.

    Werkzeug's server closes a response after discarding what is left to
    read of the request; when the browser has reset the connection by then
    (it cancels a favicon's request as it navigates), that read raises and
    the close is skipped, leaving a static file open for the garbage
    collector. A generator's ``finally`` runs when it is exhausted, and when
    it is collected unfinished.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` served on a free loopback port for the block; its address."""
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def _busiest(kit: Any, actor: Actor, rows: list[Any]) -> str:
    """Of ``rows``, the active case whose timeline shows ``actor`` the most messages
    (a solved one if none is active)."""

    def rank(row: Any) -> tuple[bool, int, str]:
        entries = kit.cases.timeline(actor, row.number)
        said = sum(1 for e in entries if e.kind is EntryKind.MESSAGE)
        return row.status.value != "solved", said, row.number

    return str(max(rows, key=rank).number)


def pick_cases(app: Flask) -> tuple[str, str]:
    """The case shown on the staff case page and the one shown on the portal's."""
    kit = app.extensions["casekit"].kit
    identities = app.config["CASEKIT_DEMO_IDENTITIES"]
    staff, customer = identities[STAFF][1], identities[CUSTOMER][1]
    rows = kit.views.list(staff, {"view": "all_cases"}, limit=200).rows
    mine = kit.views.list(customer, {"view": "all_cases"}, limit=50).rows
    if not rows or not mine:
        raise ConfigurationError("the demo has too few cases to photograph: use more --shipments")
    return _busiest(kit, staff, rows), _busiest(kit, customer, mine)


def take_screenshots(app: Flask, folder: Path, *, chromium: str = CHROMIUM) -> list[Path]:
    """Photograph the demo ``app``'s key pages into ``folder``; the files written."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ConfigurationError(
            "casekit demo --screenshots drives Chromium through playwright: "
            "pip install 'casekit-flask[screenshots]'"
        ) from None
    if not Path(chromium).exists():
        raise ConfigurationError(
            f"casekit demo --screenshots needs Chromium at {chromium}: apt-get install chromium"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staff_case, portal_case = pick_cases(app)
    paths = {
        "case-list": (STAFF, "/cases/"),
        "case-page": (STAFF, f"/cases/{staff_case}"),
        "portal-list": (CUSTOMER, "/my-account/cases/"),
        "portal-case": (CUSTOMER, f"/my-account/cases/{portal_case}"),
    }
    written = []
    with serving(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, timezone_id="America/Chicago"
                )
                page = context.new_page()
                acting = None
                for name in PAGES:
                    who, path = paths[name]
                    if who != acting:
                        act_as(page, base, who)
                        acting = who
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    target = folder / f"{name}-{size}.png"
                    page.screenshot(path=str(target), animations="disabled", caret="hide")
                    written.append(target)
                context.close()
        finally:
            browser.close()
    return written


def act_as(page: Any, base: str, identity: str) -> None:
    """Switch the demo identity with the banner's form, as a visitor would."""
    page.goto(f"{base}/")
    page.locator("#demo-identity").select_option(identity)
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()
