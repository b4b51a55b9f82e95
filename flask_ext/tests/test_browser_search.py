"""The list's search box in Chromium at 1366 and 390 px: words found with their snippet
marked, an identifier by its start, and a search that finds nothing saying where it looked.

Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import ARTIFACTS, login_actor_key, make_app, serving
from flask import redirect, session

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.fixture
def live(kit, world) -> Iterator[str]:
    app = make_app(kit)

    @app.get("/login")
    def test_login():
        login_actor_key(session, world.shipper_actor)
        return redirect("/cases/")

    with serving(app) as base:
        yield base


@pytest.mark.parametrize("width", [1366, 390])
def test_search_in_the_list(kit, world, live, browser, width):
    me = world.shipper_actor
    damaged = kit.cases.open(
        me,
        type="osd_damaged",
        subject="Crushed pallet",
        customer=world.customer.id,
        shipment="SHP-1",
        message="The forklift pierced two cartons on the dock; the driver took photos.",
    ).number
    kit.cases.open(me, type="lost", shipment="SHP-2", message="No scan since Monday")
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live}/login")
    page.fill("#q", "pierced cartons")
    with page.expect_navigation():
        page.press("#q", "Enter")
    assert page.locator("td.ck-col-number a").all_inner_texts() == [damaged]
    snippet = page.locator(".ck-snippet")
    assert snippet.is_visible()
    assert snippet.locator("mark").all_inner_texts() == ["pierced", "cartons"]
    page.screenshot(path=str(ARTIFACTS / f"search-words-{width}.png"), full_page=True)
    page.goto(f"{live}/cases/?view=all_cases&q=xyzzy")
    empty = page.locator("tbody td").first
    assert "No cases match “xyzzy” in case numbers" in empty.inner_text()
    assert empty.is_visible()
    page.screenshot(path=str(ARTIFACTS / f"search-nothing-{width}.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_search_typed_in_the_box_lists_the_best_match_first(kit, world, live, browser, width):
    me = world.shipper_actor
    best = kit.cases.open(
        me, type="osd_damaged", subject="Pallet crushed", message="pallet pallet crushed"
    ).number
    newer = kit.cases.open(
        me, type="lost", message="A note on the pallet count " + "and more words " * 20
    ).number
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live}/login")
        assert page.locator("td.ck-col-number a").all_inner_texts() == [newer, best]
        page.fill("#q", "pallet")
        with page.expect_navigation():
            page.press("#q", "Enter")
        assert page.locator("td.ck-col-number a").all_inner_texts() == [best, newer]
        chosen = page.locator("#sort option:checked").inner_text()
        assert chosen == "Best match"
        assert page.locator("#dir option:checked").inner_text() == "best first"
        page.screenshot(path=str(ARTIFACTS / f"search-best-match-{width}.png"), full_page=True)
        # A sort chosen is honoured.
        page.select_option("#sort", "created_at")
        with page.expect_navigation():
            page.click("button:has-text('Apply')")
        assert page.locator("td.ck-col-number a").all_inner_texts() == [newer, best]
    finally:
        context.close()
