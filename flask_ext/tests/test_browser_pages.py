"""Every page of the demo in Chromium, as staff and as a customer: no console error
(the pages' own strict CSP included), a favicon, and dates that keep their day in
Chicago and in Tokyo."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import ARTIFACTS, chromium, serving
from flask import Flask
from test_vocabulary import walk

from casekit import Actor
from casekit_flask.demo import create_demo_app

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[Flask, str]]:
    app = create_demo_app(tmp_path_factory.mktemp("demo"), shipments=40, deliver=False)
    kit = app.extensions["casekit"].kit
    kit.notifications.deliver()  # the captured mail pages have mail to show
    try:
        with serving(app) as base:
            yield app, base
    finally:
        kit.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One Chromium for the module; each test opens its own contexts."""
    with chromium() as launched:
        yield launched


def tab(browser, zone: str = "Europe/Berlin", width: int = 1366):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, timezone_id=zone, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def act_as(page, base: str, identity: str) -> None:
    """Switch identity the way a demo visitor does: the banner's select and button."""
    page.goto(f"{base}/")
    page.select_option("#demo-identity", identity)
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()


def paths_of(app: Flask, identity: str) -> list[str]:
    """The demo's pages ``identity`` reaches by its links: one of each kind."""
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        client = app.test_client()
        client.post("/demo/identity", data={"identity": identity})
        start = ["/", "/cases/", "/demo/mail/", "/my-account/cases/"]
        return [path for path, _page in walk(client, start, per_shape=1, limit=45)]
    finally:
        app.config["WTF_CSRF_ENABLED"] = True


@pytest.mark.parametrize("identity", ["morgan", "customer1"])
def test_no_page_logs_a_console_error_and_every_page_has_a_favicon(demo, browser, identity):
    app, base = demo
    page = tab(browser)
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script: {e}"))
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and "cv999999" not in r.url.lower()
            and problems.append(f"{r.status} {r.url}")
        ),
    )
    act_as(page, base, identity)
    paths = paths_of(app, identity)
    assert len(paths) >= (4 if identity == "customer1" else 12), paths
    for path in paths:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        icon = page.locator("link[rel=icon]")
        assert icon.count() == 1, path
        assert icon.get_attribute("href").endswith("/favicon.svg"), path
        # A page that shows moments has them shown by the page's script.
        for moment in page.locator("time[datetime]").all()[:3]:
            assert "UTC" not in moment.inner_text(), path
    assert problems == []
    # The not-found page keeps the reader's navigation and a way back.
    staff = identity == "morgan"
    page.goto(f"{base}/cases/cv999999" if staff else f"{base}/my-account/cases/cv999999")
    assert "Case CV999999 was not found." in page.locator("main").inner_text()
    back = "Back to the case list" if staff else "Back to my feedback"
    assert page.get_by_role("link", name=back).count() == 1
    assert page.get_by_role("navigation").count() >= 1
    # Its own 404 is all the console says: no resource of the page fails, no script.
    assert problems == [
        "console: Failed to load resource: the server responded with a status of 404 (NOT FOUND)"
    ]

    svg = urllib.request.urlopen(base + page.locator("link[rel=icon]").get_attribute("href"))
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    ico = urllib.request.urlopen(f"{base}/favicon.ico")
    assert ico.status == 200
    assert ico.read(4) == b"\x00\x00\x01\x00"  # an ICO file
    page.context.close()


def shown_day(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day:%b} {day.day}, {day.year}"


def shown_moment(iso: str, zone: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M} {moment:%p}"


@pytest.mark.parametrize("zone", ["America/Chicago", "Asia/Tokyo"])
def test_dates_keep_their_day_and_moments_are_in_the_readers_zone(demo, browser, zone):
    app, base = demo
    kit = app.extensions["casekit"].kit
    rows = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=200).rows
    with_dates = next(
        r
        for r in rows
        if (facts := kit.cases.facts(Actor.host(), r.number)).shipment is not None
        and facts.shipment.promised_date is not None
        and facts.order is not None
    )
    page = tab(browser, zone)
    act_as(page, base, "morgan")
    page.goto(f"{base}/cases/{with_dates.number}")
    days = page.locator("time[data-style=day]").all()
    assert len(days) >= 3  # the order date, the promised and the estimated delivery dates
    for element in days:
        iso = element.get_attribute("datetime")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso)
        assert element.inner_text() == shown_day(iso), (zone, iso)
    facts = kit.cases.facts(Actor.host(), with_dates.number)
    assert shown_day(facts.shipment.promised_date.isoformat()) in page.locator("main").inner_text()
    placed = facts.order.placed_at
    assert shown_day(placed.date().isoformat()) in page.locator("main").inner_text()
    moments = page.locator("time[data-style=datetime]").all()
    assert moments
    for element in moments[:5]:
        iso = element.get_attribute("datetime")
        assert element.inner_text().replace("\u202f", " ") == shown_moment(iso, zone)
    # The captured mail's times are shown the same way, never as "+0000".
    page.goto(f"{base}/demo/mail/")
    sent = page.locator("td time[data-style=datetime]").all()
    assert sent
    assert "+0000" not in page.locator("main").inner_text()
    iso = sent[0].get_attribute("datetime")
    assert sent[0].inner_text().replace("\u202f", " ") == shown_moment(iso, zone)
    page.context.close()


def test_screenshots_of_the_pages_whose_words_changed(demo, browser):
    app, base = demo
    kit = app.extensions["casekit"].kit
    rows = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=200).rows
    shipped = next(r for r in rows if r.cell("tracking_number"))
    for width in (1366, 390):
        page = tab(browser, "America/Chicago", width)
        act_as(page, base, "morgan")
        for name, path in (
            ("case", f"/cases/{shipped.number}"),
            ("list", "/cases/?view=all_cases"),
            ("mail", "/demo/mail/"),
            ("error-404", "/cases/cv999999"),
        ):
            page.goto(f"{base}{path}")
            page.screenshot(path=str(ARTIFACTS / f"words-{name}-{width}.png"), full_page=True)
        # The demo banner's label sits on the banner's line (its style is the stylesheet's).
        label = page.locator("label[for=demo-identity]")
        assert label.evaluate("e => getComputedStyle(e).marginTop") == "0px"
        page.context.close()
