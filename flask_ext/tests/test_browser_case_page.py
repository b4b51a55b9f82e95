"""The staff case page in Chromium: the first screen is the conversation and the
composer, the facts panel never overflows, a phone reads it top to bottom, and a
stale tab shows what changed and applies the change again. One browser for the
module; every database the run has (the page reads the case through the kit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ARTIFACTS, serving, signing_in_app
from test_browser import follow, shot, sign_in

from casekit import Actor, OrderFacts, ShipmentFacts, Status

pytestmark = [pytest.mark.browser]

#: A tracking number with no place to break, and a long reference: they wrap.
TRACKING = "1Z" + "9" * 46 + "X"
REFERENCE = "SHP-" + "LONGREFERENCE" * 4


@pytest.fixture
def live(kit, world, actors) -> Iterator[str]:
    """The host app with CSRF on, on a free loopback port; /login/<who> signs in."""
    app = signing_in_app(kit, dict(actors))

    with serving(app) as base:
        yield base


@pytest.fixture
def page(browser: Any, live: str) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, timezone_id="Europe/Berlin"
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.console_errors = errors
    yield tab
    context.close()


@pytest.fixture
def busy_case(kit, world, shipments) -> Any:
    """A case with an order, a shipment whose numbers are long, a customer, the
    carrier, and a long conversation."""
    shipments.add_shipment(
        ShipmentFacts(
            reference=REFERENCE,
            shipper="acme",
            carrier="fast",
            tracking_number=TRACKING,
            destination_name="Casey Customer, 1200 Very Long Street Name Avenue, Springfield",
            order_number="O-77",
        )
    )
    shipments.add_order(
        OrderFacts(number="O-77", shipper="acme", customer_email=world.customer.email)
    )
    case = kit.cases.open(
        world.shipper_manager_actor,
        type="lost",
        shipment=REFERENCE,
        order="O-77",
        customer=world.customer.id,
        carrier=world.carrier.id,
        subject="Parcel shows delivered but never arrived",
        message="The customer says the parcel never came.",
        audience="partners",
    )
    for i in range(6):
        kit.messages.post(world.carrier_actor, case.number, f"Checking with the depot ({i}).")
        kit.messages.post(
            world.shipper_manager_actor,
            case.number,
            f"Thanks, the customer is waiting ({i}).\n\nSecond paragraph of the update.",
            audience="partners",
        )
    kit.messages.post(world.shipper_manager_actor, case.number, "Latest word", audience="internal")
    return case


def screen(page: Any, name: str) -> None:
    """The first screen only, as the viewer sees it."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


GEOMETRY = """() => {
  const box = s => {
    const e = document.querySelector(s); if (!e) return null;
    const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  };
  document.querySelectorAll('.ck-side details').forEach(d => { d.open = true; });
  const over = [...document.querySelectorAll('.ck-side, .ck-side *')]
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth)
    .map(e => `${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`);
  const out = {head: box('.ck-case-head'), thread: box('.ck-thread'),
    first: box('.ck-entries > li'), last: box('.ck-entries > li:last-child'),
    body: box('#body'), post: box('#composer button[type=submit]'),
    side: box('.ck-side'), over, width: document.documentElement.scrollWidth,
    sideText: document.querySelector('.ck-side').innerText};
  document.querySelectorAll('.ck-side details').forEach(d => { d.open = false; });
  return out;
}"""


def test_the_first_screen_is_the_conversation_and_the_composer(live, page, world, busy_case):
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/{busy_case.number}")
    at = page.evaluate(GEOMETRY)
    screen(page, "case-page-shipper-1366")
    assert at["width"] <= 1366
    # The conversation starts near the top; its newest entry and the whole composer
    # are on the first screen.
    assert at["thread"]["top"] < 300, at["thread"]
    assert at["first"]["top"] < 900
    assert at["thread"]["top"] <= at["last"]["top"], at["last"]
    assert at["last"]["bottom"] <= 900, at["last"]
    assert at["body"]["top"] < 900, at["body"]
    assert at["post"]["bottom"] <= 900, at["post"]
    # The facts panel is beside the conversation, and nothing in it overflows.
    assert at["side"]["left"] >= at["thread"]["right"]
    assert at["side"]["top"] < 300
    assert at["over"] == []
    assert TRACKING in at["sideText"].replace("\n", "")
    assert REFERENCE in at["sideText"].replace("\n", "")
    # The composer starts on the carrier, who collaborates; the customer's case is
    # not the customer's own feedback.
    assert page.get_by_role("radio", name="To the carrier").is_checked()
    # The rarely used forms wait behind a disclosure.
    assert not page.locator("select#carrier").is_visible()
    assert page.get_by_text("Change the carrier").is_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    at = page.evaluate(GEOMETRY)
    shot(page, "case-page-shipper-390")
    assert at["width"] <= 390, f"the case page scrolls sideways at 390px: {at['width']}px"
    assert at["over"] == []
    # A phone reads it top to bottom: header, conversation, composer, facts.
    assert at["head"]["bottom"] <= at["thread"]["top"]
    assert at["thread"]["bottom"] <= at["body"]["top"]
    assert at["post"]["bottom"] <= at["side"]["top"]
    assert at["thread"]["top"] < 844
    blocked = [e for e in page.console_errors if "Content Security Policy" in e and "casekit" in e]
    assert blocked == []


def test_an_agent_sees_only_what_it_may_use(live, page, world, busy_case):
    sign_in(page, live, "case_carrier")  # the carrier's manager
    page.goto(f"{live}/cases/{busy_case.number}")
    screen(page, "case-page-carrier-1366")
    assert page.get_by_role("radio", name="To the shipper").is_checked()
    assert page.locator("#carrier").count() == 0
    assert page.get_by_role("button", name="Take ownership").is_visible()
    at = page.evaluate(GEOMETRY)
    assert at["over"] == []
    assert at["post"]["bottom"] <= 900
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "case-page-carrier-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_stale_tab_shows_what_changed_and_applies_the_change_again(
    kit, live, page, world, busy_case
):
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/{busy_case.number}")
    page.locator("select#status").select_option("waiting")
    # Meanwhile, in another tab, the carrier solves the case.
    kit.cases.change_status(world.carrier_manager_actor, busy_case.number, "solved")
    follow(page, page.get_by_role("button", name="Change status"))
    notice = page.locator(".ck-stale")
    assert notice.is_visible()
    said = " ".join(notice.inner_text().split())
    assert "You asked to change the status to Waiting" in said
    assert f"{busy_case.number} changed after you opened this page" in said
    assert "Max Dispatch solved the case" in said
    assert kit.cases.get(Actor.host(), busy_case.number).status is Status.SOLVED
    # The notice sits above the conversation, on the first screen.
    assert notice.bounding_box()["y"] < page.locator(".ck-thread").bounding_box()["y"]
    screen(page, "case-page-stale-1366")
    follow(page, page.get_by_role("button", name="Apply my change again"))
    assert "Status changed." in page.content()
    assert page.locator(".ck-stale").count() == 0
    assert kit.cases.get(Actor.host(), busy_case.number).status is Status.WAITING


def test_a_post_lands_on_the_new_message_with_the_header_in_view(live, page, world, busy_case):
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/{busy_case.number}")
    page.get_by_label("Message").fill("The driver will call the customer at noon.")
    follow(page, page.get_by_role("button", name="Post"))
    page.wait_for_function("window.scrollY === 0 && location.hash.startsWith('#entry-')")
    new = page.locator(".ck-entry:target")
    assert "The driver will call the customer at noon." in new.inner_text()
    box = new.bounding_box()
    thread = page.locator(".ck-thread").bounding_box()
    assert thread["y"] <= box["y"]
    assert box["y"] + box["height"] <= min(900, thread["y"] + thread["height"]) + 1
    assert page.locator("#case-title").bounding_box()["y"] >= 0
