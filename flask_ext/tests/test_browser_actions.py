"""Actions in Chromium: the carrier proposes two delivery windows on the case page
with the date and time pickers, the shipper accepts the second and the shipment shows
the appointment; the carrier asks for a disposition and the shipper decides it with an
internal note the carrier never reads. axe finds no serious violation, at 1366 x 900 and
390 px; screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import ARTIFACTS
from test_browser import follow, sign_in
from test_browser_due import axe_serious

from casekit import Actor, ShipmentFacts

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

NOTE = "Resell value too low; write off"


def no_overflow(page: Any) -> None:
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


@pytest.mark.parametrize("width", [1366, 390])
def test_carrier_proposes_an_appointment_and_the_shipper_accepts_it(
    kit, world, live, browser, width
):
    kit.shipments.upsert_shipments(
        Actor.system_actor("api", org_id=world.shipper.id),
        [ShipmentFacts(reference="PRO-77", carrier=world.carrier.external_id, mode="freight")],
    )
    case = kit.cases.open(
        world.shipper_actor, type="delivery_scheduling", subject="Book the delivery",
        carrier=world.carrier.id, shipment="PRO-77",
    )  # fmt: skip
    day = (kit.clock.now() + timedelta(days=1)).date().isoformat()
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    shot = f"{ARTIFACTS}/actions-{{}}-{width}.png"
    try:
        # The carrier proposes two windows in the destination's time zone.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-actions")
        panel.locator("#appointment-zone").fill("America/Chicago")
        for row, (start, end) in enumerate((("08:00", "12:00"), ("13:00", "17:00"))):
            panel.locator(f"#propose-{row}-date").fill(day)
            panel.locator(f"#propose-{row}-start").fill(start)
            panel.locator(f"#propose-{row}-end").fill(end)
        follow(page, panel.locator("button:has-text('Propose delivery windows')"))
        assert "Delivery windows proposed." in page.inner_text(".ck-flash")
        assert "Waiting for the other side" in page.inner_text("section.ck-actions")
        # A window that ends before it starts is refused, naming it.
        page.screenshot(path=shot.format("proposed"), full_page=True)

        # The shipper accepts the afternoon.
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-actions")
        assert "The carrier proposed" in panel.inner_text()
        page.screenshot(path=shot.format("to-accept"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []
        no_overflow(page)
        panel.locator("label.ck-check:has-text('13:00-17:00') input").check()
        follow(page, panel.locator("button:has-text('Accept')"))
        assert "Delivery appointment accepted." in page.inner_text(".ck-flash")
        agreed = page.inner_text("section.ck-actions .ck-appointment")
        assert "13:00-17:00 (America/Chicago)" in agreed
        facts = page.inner_text("section[aria-labelledby=facts-title]")
        assert "Delivery appointment" in facts
        assert "America/Chicago" in facts
        assert "delivery appointment accepted" in page.inner_text(".ck-timeline")

        # The carrier asks for a disposition; a bad deadline names its field.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-actions")
        panel.locator("details.ck-request > summary").click()
        panel.locator("#disposition-storage").fill("35.50")
        follow(page, panel.locator("button:has-text('Ask for instructions')"))
        assert "a date and time is required" in page.inner_text("section.ck-actions")
        panel = page.locator("section.ck-actions")
        panel.locator("#disposition-reason").select_option("refused")
        panel.locator("#disposition-deadline").fill(f"{day}T17:00")
        panel.locator("#disposition-storage").fill("35.50")
        follow(page, panel.locator("button:has-text('Ask for instructions')"))
        assert "Disposition requested." in page.inner_text(".ck-flash")

        # The shipper decides, with its internal note.
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-actions")
        panel.locator("#disposition-choice").select_option("destroy")
        panel.locator("#disposition-payer").select_option("carrier")
        panel.locator("#disposition-internal").fill(NOTE)
        follow(page, panel.locator("button:has-text('Send instructions')"))
        assert "Disposition decided." in page.inner_text(".ck-flash")
        assert NOTE in page.inner_text("section.ck-actions")
        page.screenshot(path=shot.format("decided-shipper"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []
        no_overflow(page)

        # The carrier reads the decision, never the note.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{case.number}")
        assert "Destroy" in page.inner_text("section.ck-actions")
        assert NOTE not in page.content()
        page.screenshot(path=shot.format("decided-carrier"), full_page=True)
        no_overflow(page)

        # The dashboard's report: the appointment accepted (not judged yet), the choice.
        sign_in(page, live, "own_org")
        today = kit.clock.now().date()
        page.goto(f"{live}/cases/dashboard?from={today}&to={day}")
        section = page.locator("#section-actions")
        cells = section.locator("#table-appointments tbody td").all_inner_texts()
        assert cells == ["1", "0", "0", "—"]
        assert "Destroy" in section.locator("#table-dispositions").inner_text()
        section.screenshot(path=shot.format("dashboard"))
        if width == 1366:
            assert axe_serious(page) == []
        no_overflow(page)
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_the_carrier_withdraws_its_request_and_the_storage_charged_shows(
    kit, world, live, browser, width
):
    case = kit.cases.open(
        world.shipper_actor, type="refused_by_receiver", subject="Refused at the door",
        carrier=world.carrier.id,
    )  # fmt: skip
    kit.actions.request_disposition(
        world.carrier_actor, case.number, reason="refused",
        deadline=kit.clock.now() + timedelta(hours=1), storage_per_day="40.00",
    )  # fmt: skip
    kit.clock.advance(days=2)  # two days begun after the deadline
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    shot = f"{ARTIFACTS}/actions-{{}}-{width}.png"
    try:
        # The shipper sees what is charged so far, and decides; it cannot withdraw.
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-actions")
        assert "80.00 USD (2 days)" in panel.inner_text()
        assert panel.locator("button:has-text('Withdraw the request')").count() == 0
        # The carrier withdraws its request with a word why.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-actions")
        panel.locator("#disposition-withdraw-note").fill("The consignee took it after all")
        page.screenshot(path=shot.format("to-withdraw"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []
        no_overflow(page)
        follow(page, panel.locator("button:has-text('Withdraw the request')"))
        assert "Disposition request withdrawn." in page.inner_text(".ck-flash")
        kit.clock.advance(days=3)  # nothing more is charged
        page.reload()
        panel = page.locator("section.ck-actions")
        assert "Withdrawn" in panel.inner_text()
        assert "80.00 USD (2 days)" in panel.inner_text()
        assert "took it after all" in page.inner_text(".ck-timeline")
        page.screenshot(path=shot.format("withdrawn"), full_page=True)
        no_overflow(page)
        assert problems == []
    finally:
        context.close()
