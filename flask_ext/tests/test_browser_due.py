"""A carrier's promise in Chromium: a case opened on Friday at 16:55 for a carrier that
works 08:00-17:00 Monday to Friday in New York, with a first answer due within four
working hours, shows "due Monday 11:55" in the carrier's time zone, whatever the
browser's, on the case page and in the list's Due column, and comes into the Due Soon
view when its warning time has come; the carrier's owner is warned once, at the configured
threshold and not a minute before; axe finds no serious violation on either page.
Screenshots at 1366 x 900 and 390 px go to ``tests/artifacts/``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from conftest import ARTIFACTS
from sqlalchemy import select
from test_browser import follow, sign_in

from casekit import Audience
from casekit.store import tables

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

HOUR = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
#: Friday 4 December 2026, 16:55 in New York (EST, UTC-5).
FRIDAY_1655 = datetime(2026, 12, 4, 21, 55, tzinfo=UTC)


@pytest.fixture
def friday_case(kit, world) -> str:
    """The carrier's calendar and promise, and the shipper's case on Friday at 16:55."""
    dispatcher = world.carrier_manager_actor
    kit.service_levels.set_calendar(
        dispatcher,
        {
            "time_zone": "America/New_York",
            "hours": {day: [["08:00", "17:00"]] for day in WEEKDAYS},
            "holidays": {"country": "US"},
        },
    )
    kit.service_levels.save_target(
        dispatcher,
        {"name": "Damage: answer within 4 hours", "first_response": 4 * HOUR, "warn_before": HOUR},
    )
    kit.clock.advance(FRIDAY_1655 - kit.clock.now())
    number = kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        subject="Crushed pallet",
        shipment="SHP-1",
        carrier=world.carrier.id,
        message="The pallet arrived crushed.",
        audience=Audience.PARTNERS,
    ).number
    kit.cases.set_owner(dispatcher, number, world.carrier_agent.id)  # the carrier's owner
    return number


def _warnings(kit) -> list[tuple[str, str, str]]:
    """(event, recipient's address, clock kind) of every service-level warning queued."""
    o = tables.outbox.c
    stmt = select(o.event, o.email, o.old_value).where(
        o.event.in_(["clock_due_soon", "clock_breached"])
    )
    with kit.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(stmt.order_by(o.id))]


def words(locator) -> str:
    return " ".join(locator.inner_text().split())


def axe_serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [1366, 390])
def test_due_monday_1155_in_new_york_on_the_case_page_and_in_the_lists(
    kit, world, live, browser, friday_case, width
):
    number = friday_case
    height = 900 if width > 800 else 844
    # The browser is in Berlin: the due time is the carrier's, in New York.
    context = browser.new_context(
        viewport={"width": width, "height": height}, timezone_id="Europe/Berlin"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{number}")
        clock = page.locator(".ck-clocks li")
        assert clock.count() == 1
        assert words(clock) == "On track First response due Mon 7 Dec 11:55 EST — in 2 d 19 h"
        assert page.locator(".ck-clocks time").get_attribute("datetime") == "2026-12-07T16:55:00Z"
        page.screenshot(path=str(ARTIFACTS / f"due-case-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []

        # The list: the Due column, chosen in the column chooser.
        page.goto(f"{live}/cases/?view=all_active")
        page.click(".ck-columns summary")
        page.check("input[name=column][value=due]")
        follow(page, page.locator("button:has-text('Save columns')"))
        cell = page.locator(f"#row-{number} td.ck-col-due")
        assert words(cell) == "On track Mon 7 Dec 11:55 EST in 2 d 19 h"
        page.screenshot(path=str(ARTIFACTS / f"due-list-{width}.png"), full_page=True)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        page.goto(f"{live}/cases/?view=due_soon")
        assert page.locator("td.ck-col-number a").all_inner_texts() == []
        assert re.sub(r"\D", "", page.inner_text("#result-count")) == "0"

        # Monday 10:54 in New York: a minute before the configured threshold (an hour of
        # working time before 11:55), the sweep owes nobody a warning.
        kit.clock.advance(hours=65, minutes=59)
        kit.service_levels.sweep()
        assert _warnings(kit) == []
        # 10:55, the threshold: the carrier's owner is warned, through the outbox, once,
        # however often the sweep runs.
        kit.clock.advance(minutes=1)
        kit.service_levels.sweep()
        kit.service_levels.sweep()
        warned = [("clock_due_soon", world.carrier_agent.email, "first_response")]
        assert _warnings(kit) == warned
        # 11:00: still once.
        kit.clock.advance(minutes=5)
        kit.service_levels.sweep()
        assert _warnings(kit) == warned
        page.goto(f"{live}/cases/?view=due_soon")
        assert page.inner_text("#result-count") == "1 case"
        assert page.locator("td.ck-col-number a").all_inner_texts() == [number]
        cell = page.locator(f"#row-{number} td.ck-col-due")
        assert words(cell) == "Due soon Mon 7 Dec 11:55 EST in 55 min"
        assert page.locator("#sort option:checked").inner_text() == "Due"
        assert page.locator("#dir option:checked").inner_text() == "soonest first"
        headers = page.locator("thead th").evaluate_all("ths => ths.map(th => th.className)")
        assert headers.count("ck-col-due") == 1  # where the user put it
        page.screenshot(path=str(ARTIFACTS / f"due-soon-{width}.png"), full_page=True)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        if width == 1366:
            wrap, table = page.evaluate(
                "[document.querySelector('.ck-table-wrap').clientWidth,"
                " document.querySelector('.ck-case-table').scrollWidth]"
            )
            assert table <= wrap  # the Due column fits beside the default ones
            assert axe_serious(page) == []
        page.goto(f"{live}/cases/{number}")
        assert words(page.locator(".ck-clocks li")) == (
            "Due soon First response due Mon 7 Dec 11:55 EST — in 55 min"
        )
        assert problems == []
    finally:
        context.close()
