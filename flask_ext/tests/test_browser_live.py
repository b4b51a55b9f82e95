"""Live updates in a real browser: two people (two browser contexts) on one case page.

A new entry by someone else shows within 5 s without a reload, at the default poll
interval; the person writing is told that a colleague writes and that the case
changed before they send; the customer's portal page gets the staff's answer too.
Screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ARTIFACTS, chromium, login_actor_key, make_app, serving
from flask import redirect, session

from casekit import CaseKit
from casekit.testing import World

#: A new entry must show within this many seconds (the default poll is every 4 s).
WITHIN_MS = 5_000

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.fixture
def server(kit: CaseKit, world: World) -> Iterator[str]:
    """The host app with CSRF on and the default poll interval; /login/<who> signs in."""
    app = make_app(kit)
    people = {
        "agent": world.shipper_actor,
        "manager": world.shipper_manager_actor,
        "carrier": world.carrier_actor,
        "customer": world.customer_actor,
    }

    @app.get("/login/<who>")
    def test_login(who: str) -> Any:
        login_actor_key(session, people[who])
        return redirect("/")

    @app.get("/")
    def home() -> str:
        return "host home"

    with serving(app) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def person(browser: Any, server: str, who: str, errors: list[str], width: int = 1366) -> Any:
    """A tab of its own browser context (its own cookies), signed in as ``who``."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, timezone_id="Europe/Berlin"
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)

    def console(message: Any) -> None:
        # A failed request is told by its response below (the favicon is another's issue).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"{who}: {message.text}")

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            errors.append(f"{who}: {answer.status} {answer.url}")

    tab.on("console", console)
    tab.on("response", response)
    tab.on("pageerror", lambda e: errors.append(f"{who}: {e}"))
    tab.goto(f"{server}/login/{who}")
    return tab


def test_a_new_entry_and_a_colleague_writing_show_without_a_reload(
    kit: CaseKit, world: World, server: str, browser: Any
) -> None:
    from playwright.sync_api import expect

    number = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is the parcel?",
        audience="everyone",
    ).number
    errors: list[str] = []
    manager = person(browser, server, "manager", errors)
    agent = person(browser, server, "agent", errors)
    customer = person(browser, server, "customer", errors, width=390)
    manager.goto(f"{server}/cases/{number}")
    agent.goto(f"{server}/cases/{number}")
    customer.goto(f"{server}/my-account/cases/{number}")

    # The agent starts writing: the manager, a colleague, is told within a poll.
    agent.get_by_label("Message").fill("Checking with the carrier now.")
    expect(manager.locator(".ck-live-notice")).to_contain_text(
        f"{world.shipper_agent.name} is writing on this case", timeout=WITHIN_MS + 1_000
    )
    # The manager writes too, and sees in the composer that the agent writes.
    manager.get_by_label("Message").fill("I will call the customer.")
    expect(manager.locator(".ck-live-composer")).to_contain_text(
        f"{world.shipper_agent.name} is writing on it too", timeout=WITHIN_MS + 1_000
    )

    # The agent posts to everyone: within 5 s the entry is on the manager's page and on
    # the customer's, neither reloaded, and the manager is told before they send.
    agent.get_by_label("To everyone").check()
    with agent.expect_navigation():
        agent.get_by_role("button", name="Post").click()
    posted = time.monotonic()
    entry = [e for e in kit.cases.timeline(world.shipper_actor, number) if e.body][-1]
    assert entry.body == "Checking with the carrier now."
    expect(manager.locator(f"#entry-{entry.id}")).to_contain_text(
        "Checking with the carrier now.", timeout=WITHIN_MS
    )
    expect(customer.locator(f"#entry-{entry.id}")).to_contain_text(
        "Checking with the carrier now.", timeout=WITHIN_MS
    )
    assert time.monotonic() - posted < WITHIN_MS / 1000
    expect(manager.locator(".ck-live-composer")).to_contain_text(
        "This case changed while you were writing"
    )
    assert manager.get_by_label("Message").input_value() == "I will call the customer."
    # The agent sent: no longer shown as writing.
    expect(manager.locator(".ck-live-notice")).not_to_contain_text(
        "is writing", timeout=WITHIN_MS + 1_000
    )
    manager.screenshot(path=str(ARTIFACTS / "live-case-1366.png"), full_page=True)
    customer.screenshot(path=str(ARTIFACTS / "live-portal-390.png"), full_page=True)

    # An internal note reaches the colleague, never the customer's page.
    note = kit.messages.post(world.shipper_actor, number, "Refund if lost.", audience="internal")
    expect(manager.locator(f"#entry-{note.id}")).to_be_visible(timeout=WITHIN_MS)
    assert customer.locator(f"#entry-{note.id}").count() == 0
    assert "Refund if lost." not in customer.content()

    # The carrier's answer makes the case unread on the agent's list, with its marker.
    # The agent leaves the case page first: its live refresh fetches the page, which
    # marks what it shows as read, so an answer it picked up would not be unread.
    agent.goto(f"{server}/cases/?view=all_cases")
    kit.messages.post(world.carrier_actor, number, "Out for delivery.", audience="partners")
    agent.reload()
    row = agent.locator("tr", has=agent.get_by_role("link", name=number))
    expect(row.locator(".ck-unread")).to_be_visible()
    agent.screenshot(path=str(ARTIFACTS / "live-list-1366.png"))
    agent.set_viewport_size({"width": 390, "height": 844})
    agent.screenshot(path=str(ARTIFACTS / "live-list-390.png"), full_page=True)
    manager.set_viewport_size({"width": 390, "height": 844})
    manager.screenshot(path=str(ARTIFACTS / "live-case-390.png"), full_page=True)
    assert errors == []
