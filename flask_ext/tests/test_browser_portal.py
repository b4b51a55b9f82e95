"""The customer portal in Chromium, at a phone's width (390 px) and a desktop's (1366 px):
feedback with a photo on an order picked from the host's order page, the status in the
customer's words, the way back to the list. Screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import png, serving, signing_in_app
from flask import render_template_string
from test_browser import follow, shot, sign_in, tab  # noqa: F401 (tab: a fixture)

from casekit import Actor, OrderFacts

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def host(kit, world, actors) -> Iterator[str]:
    """The host app (CSRF on) with its own order page, served on a free loopback port."""
    app = signing_in_app(kit, dict(actors))

    @app.get("/orders/<number>")
    def order_page(number: str):  # the host's order page, with casekit's button
        return render_template_string(
            "<!doctype html><html lang=en><title>Order</title><h1>Order {{ n }}</h1>"
            "{{ casekit_feedback_button(n) }}",
            n=number,
        )

    with serving(app) as base:
        yield base


def _fits(page, width: int) -> None:
    """Nothing on the page is wider than the window: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_feedback_with_a_photo_from_an_order_on_a_phone_and_a_desktop(
    kit,
    world,
    host,
    tab,  # noqa: F811 (the fixture imported above)
    shipments,
):
    page = tab
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    email = world.customer.email
    for number in ("NW-5046", "NW-5051"):
        shipments.add_order(OrderFacts(number=number, shipper="acme", customer_email=email))
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    # A blocked style or script is a console error; a missing file is a failed response
    # (the host's own favicon is not the portal's).
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )

    # On a phone: the host's order page's button opens the form with its order picked.
    page.set_viewport_size(PHONE)
    sign_in(page, host, "case_customer")
    page.goto(f"{host}/orders/NW-5051")
    follow(page, page.get_by_role("link", name="Send feedback"))
    assert page.get_by_label("Order NW-5051").is_checked()
    assert not page.get_by_label("Order NW-5046").is_checked()
    _fits(page, PHONE["width"])
    message = "The box arrived crushed on one corner and two of the four mugs were broken."
    page.get_by_label("Your message").fill(message)
    page.get_by_label("Photos").set_input_files(
        [{"name": "box.png", "mimeType": "image/png", "buffer": png(120, 16)}]
    )
    shot(page, "portal-feedback-390")
    follow(page, page.get_by_role("button", name="Send", exact=True))
    page.wait_for_url(re.compile(r"/my-account/cases/CV\d+$"))
    number = page.url.rsplit("/", 1)[1]

    # The case page: the order and the message as its title, the customer's words, the photo.
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text().startswith("Order NW-5051: The box arrived crushed")
    assert page.locator(".ck-portal-state").inner_text().startswith("Received")
    photo = page.get_by_role("link", name="box.png").locator("img")
    photo.wait_for()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 120
    _fits(page, PHONE["width"])

    # The merchant answers; the customer reads it as waiting for them.
    kit.messages.post(
        world.shipper_actor, number, "Sorry! Is the lid broken too?", audience="customer"
    )
    page.reload()
    assert "Waiting for your reply" in page.locator(".ck-portal-state").inner_text()
    assert "Waiting for your reply" in page.locator(".ck-portal-state .ck-status").inner_text()
    shot(page, "portal-case-390")

    # Back to the list: newest first, the status and the latest reply.
    follow(page, page.get_by_role("link", name="All my feedback"))
    assert page.url.endswith("/my-account/cases/")
    card = page.locator(".ck-portal-card").first
    assert card.get_by_role("link").inner_text().startswith("Order NW-5051: The box arrived")
    assert "Waiting for your reply" in card.inner_text()
    assert "Sorry! Is the lid broken too?" in card.inner_text()
    _fits(page, PHONE["width"])
    shot(page, "portal-list-390")

    # On a desktop: a second feedback, picking the other order on the form.
    page.set_viewport_size(DESKTOP)
    follow(page, page.get_by_role("link", name="Send feedback"))
    page.get_by_label("Order NW-5046").check()
    page.get_by_label("Your message").fill("Where is my refund?")
    shot(page, "portal-feedback-1366")
    follow(page, page.get_by_role("button", name="Send", exact=True))
    assert page.get_by_role("heading", level=1).inner_text() == "Order NW-5046: Where is my refund?"
    shot(page, "portal-case-1366")
    follow(page, page.get_by_role("link", name="All my feedback"))
    titles = page.locator(".ck-portal-card-title").all_inner_texts()
    assert titles[0] == "Order NW-5046: Where is my refund?"
    assert titles[1].startswith("Order NW-5051: The box arrived")
    shot(page, "portal-list-1366")
    _fits(page, DESKTOP["width"])
    assert problems == []
