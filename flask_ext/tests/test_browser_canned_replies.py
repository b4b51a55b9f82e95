"""Canned replies in Chromium: insert one into the case page's composer after what was
typed, edit it, apply another in one step; on a phone the composer's reply picker fits.
"""

from __future__ import annotations

import pytest
from test_browser import follow, shot, sign_in

pytestmark = [pytest.mark.browser]


def test_insert_edit_and_apply_from_the_composer(kit, world, browser, live, customer_case):
    number = customer_case.number
    manager = world.shipper_manager_actor
    photos = kit.canned_replies.save(
        manager,
        title="Ask for photos",
        body="Hello {{ customer.first_name }}, please send photos of order {{ order.number }}.",
        audience="customer",
    )
    trace = kit.canned_replies.save(
        manager,
        title="Asked the carrier",
        body="We have asked the carrier to trace {{ shipment.reference }}.",
        audience="customer",
        actions={"status": "waiting", "owner": "me", "watchers": ["me"]},
    )
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{number}")
        composer = page.locator("#composer")
        composer.locator("#body").fill("Sorry for the wait.")
        page.locator("#canned_reply").select_option(str(photos.id))
        follow(page, composer.get_by_role("button", name="Insert"))
        body = page.locator("#body")
        assert body.input_value() == (
            "Sorry for the wait.\n\nHello Casey, please send photos of order O-7."
        )
        assert page.locator("input[name=audience][value=customer]").is_checked()
        assert "Inserted “Ask for photos”" in page.locator(".ck-flash").inner_text()
        shot(page, "canned-reply-inserted")
        # Edited, then posted with the other reply's actions: what the composer holds.
        body.fill("Sorry for the wait. We asked the carrier; photos would help too.")
        page.locator("#canned_reply").select_option(str(trace.id))
        follow(page, page.locator("#composer").get_by_role("button", name="Apply"))
        assert f"/cases/{number}#entry-" in page.url
        last = page.locator(".ck-message").last
        assert "We asked the carrier; photos would help too." in last.inner_text()
        assert "Waiting" in page.locator("#case-title").inner_text()
        case = kit.cases.get(manager, number)
        assert case.shipper_owner_id == world.shipper_manager.id
        assert world.shipper_manager.id in case.watcher_ids
        uses = {u.title: (u.inserted, u.applied) for u in kit.canned_replies.usage(manager)}
        assert uses == {"Ask for photos": (1, 0), "Asked the carrier": (0, 1)}
        # On a phone the reply picker and its buttons stay within the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live}/cases/{number}")
        picker = page.locator(".ck-canned")
        picker.scroll_into_view_if_needed()
        box = picker.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "canned-reply-phone")
    finally:
        context.close()
