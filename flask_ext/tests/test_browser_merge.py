"""Merging in Chromium: the shipper's agent opens "Merge into…" on a duplicate, types the
original's number, confirms on the page that shows both cases, lands on the original with
the duplicate's messages and the notice; the duplicate's page sends them on. axe finds no
serious violation, at 1366 x 900 and 390 px; screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS
from test_browser import follow, sign_in
from test_browser_due import axe_serious

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.mark.parametrize("width", [1366, 390])
def test_merging_a_duplicate_from_its_page(kit, world, live, browser, width):
    sam = world.shipper_actor
    carrier, customer = world.carrier.id, world.customer.id
    original = kit.cases.open(
        sam, type="osd_damaged", subject="Crushed pallet", carrier=carrier, customer=customer,
        message="The pallet arrived crushed.",
    )  # fmt: skip
    dup = kit.cases.open(
        sam, type="osd_damaged", subject="Damaged delivery (phone call)", carrier=carrier,
        customer=customer, message="Customer called: crushed pallet again.",
    )  # fmt: skip
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{dup.number}")
        page.locator("summary:has-text('Merge into')").click()
        page.fill("#merge-into", original.number.lower())
        page.screenshot(path=str(ARTIFACTS / f"merge-case-{width}.png"), full_page=True)
        follow(page, page.locator("button:has-text('Continue')"))
        shown = page.inner_text("main")
        assert f"Duplicate: {dup.number}" in shown
        assert f"Original: {original.number}" in shown
        assert "Damaged delivery (phone call)" in shown
        page.screenshot(path=str(ARTIFACTS / f"merge-confirm-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []
        follow(page, page.locator(f"button:has-text('Merge {dup.number} into')"))
        assert page.url.endswith(f"/cases/{original.number}")
        assert f"Case {dup.number} was merged into {original.number}." in page.inner_text(
            ".ck-flash"
        )
        assert "Customer called: crushed pallet again." in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / f"merge-original-{width}.png"), full_page=True)
        page.goto(f"{live}/cases/{dup.number}")
        assert page.url.endswith(f"/cases/{original.number}")
        assert "was merged into this case" in page.inner_text(".ck-flash")
        if width == 1366:
            assert axe_serious(page) == []
        assert problems == []
    finally:
        context.close()
