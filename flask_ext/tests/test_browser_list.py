"""The Case Management list in Chromium at 1366 and 390 px: sortable headers, a multi-select
typed into, filter chips removed in one click, the column chooser kept, a bulk action.

One browser serves the module; screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import ARTIFACTS, login_actor_key, make_app, serving
from flask import redirect, session

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.fixture
def live(kit, world) -> Iterator[str]:
    """The host app with CSRF on, on a free loopback port; /login signs the shipper's agent in."""
    app = make_app(kit)

    @app.get("/login")
    def test_login():
        login_actor_key(session, world.shipper_actor)
        return redirect("/cases/")

    with serving(app) as base:
        yield base


def numbers(page) -> list[str]:
    return page.locator("td.ck-col-number a").all_inner_texts()


def navigate(page, action) -> None:
    with page.expect_navigation():
        action()


@pytest.mark.parametrize("width", [1366, 390])
def test_the_list_at_work(kit, world, live, browser, width):
    me = world.shipper_actor
    opened = [
        kit.cases.open(me, type="lost", shipment="SHP-1").number,  # brand Acme Home
        kit.cases.open(me, type="osd_damaged", shipment="SHP-2").number,  # Acme Trail
        kit.cases.open(me, type="lost", shipment="SHP-3", take_ownership=False).number,
    ]
    height = 900 if width > 800 else 844
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{live}/login")
        assert page.inner_text("#result-count") == "3 cases"
        assert numbers(page) == opened[::-1]
        assert page.get_attribute("th.ck-col-created_at", "aria-sort") == "descending"
        page.screenshot(path=str(ARTIFACTS / f"list-{width}.png"), full_page=True)
        # The page fits: nothing is wider than the screen, not even the table's region.
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        wrap, table = page.evaluate(
            "[document.querySelector('.ck-table-wrap').clientWidth,"
            " document.querySelector('.ck-case-table').scrollWidth]"
        )
        assert table <= wrap  # every default column shows, Created included
        first_row = page.locator("tbody tr").first.bounding_box()
        menu = page.locator("details.ck-views-menu")
        if width == 1366:
            assert page.locator("aside.ck-views-side").is_visible()
            assert menu.is_hidden()
        else:
            # On a phone the views are one control naming the current view and its count,
            # and the first case shows on the first screen, whole, with its labelled cells.
            assert page.locator("aside.ck-views-side").is_hidden()
            assert " ".join(menu.locator("summary").inner_text().split()) == "View: All Active 3"
            assert first_row is not None
            assert first_row["y"] + first_row["height"] <= height
            # The filters fold under one line while none is set; the bulk actions
            # wait for a chosen case.
            assert page.locator("details.ck-filter-fold").get_attribute("open") is None
            assert page.locator("#f-status-input").is_hidden()
            assert page.locator("#bulk-form").is_hidden()
            assert (
                page.locator("tbody tr")
                .first.locator("td.ck-col-owners")
                .evaluate("td => getComputedStyle(td, '::before').content")
                == '"Owners: "'
            )
            page.screenshot(path=str(ARTIFACTS / f"list-{width}x{height}.png"))
            menu.locator("summary").click()
            assert menu.get_attribute("open") is not None
            assert page.locator("nav[aria-label=Views] a").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / f"list-views-{width}.png"))
            navigate(page, lambda: page.click("nav[aria-label=Views] a:has-text('All Cases')"))
            assert page.inner_text("h1") == "All Cases"
            assert menu.get_attribute("open") is None  # folded again on the new page
            menu.locator("summary").click()
            navigate(page, lambda: page.click("nav[aria-label=Views] a:has-text('All Active')"))

        # Sortable headers: a click sorts by the column, oldest first, and says so.
        navigate(page, lambda: page.click("th.ck-col-created_at a"))
        assert numbers(page) == opened
        assert page.get_attribute("th.ck-col-created_at", "aria-sort") == "ascending"
        navigate(page, lambda: page.click("th.ck-col-number a"))
        assert page.get_attribute("th.ck-col-number", "aria-sort") == "descending"
        assert page.get_attribute("th.ck-col-created_at", "aria-sort") is None

        if width == 390:
            page.click("details.ck-filter-fold > summary")
        # A multi-select one types into: the list box became a combobox.
        assert page.is_hidden("select#f-brand")
        box = page.locator("#f-brand-input")
        assert box.get_attribute("role") == "combobox"
        assert page.locator("label[for=f-brand-input]").inner_text() == "Brand"
        box.fill("trail")
        assert box.get_attribute("aria-expanded") == "true"
        assert page.locator("#f-brand-options [role=option]").all_inner_texts() == ["Acme Trail"]
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")  # chooses; does not send the form
        assert page.url.endswith("dir=desc")
        assert page.locator("#f-brand").evaluate(
            "s => Array.from(s.selectedOptions).map(o => o.value)"
        ) == ["Acme Trail"]
        page.locator("#f-type-input").fill("lost")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.keyboard.press("Backspace")  # takes "Lost" back out
        page.locator("#f-type-input").fill("dam")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.screenshot(path=str(ARTIFACTS / f"list-combo-{width}.png"))
        navigate(page, lambda: page.click("form.ck-filters button[type=submit]"))
        assert page.inner_text("#result-count") == "1 case"
        assert numbers(page) == [opened[1]]
        chips = page.locator(".ck-chip").all_inner_texts()
        assert [c.rstrip("\u00d7").strip() for c in chips] == [
            "Brand: Acme Trail",
            "Case type: OS&D \u2013 Damaged",
        ]
        # The chosen values show as chips in the combobox too, each removable.
        assert page.locator("#f-brand-input").is_visible()  # set filters stay unfolded
        page.screenshot(path=str(ARTIFACTS / f"list-chips-{width}.png"), full_page=True)

        # One click removes one filter and keeps the other.
        navigate(page, lambda: page.click("a[aria-label='Remove filter Brand: Acme Trail']"))
        assert page.locator(".ck-chip").count() == 1
        assert page.inner_text("#result-count") == "1 case"
        navigate(page, lambda: page.click(".ck-chip-remove"))
        assert page.locator(".ck-chip").count() == 0
        assert page.inner_text("#result-count") == "3 cases"

        # The column chooser: kept for the user, in the database.
        page.click(".ck-columns summary")
        page.check("input[name=column][value=tracking_number]")
        page.uncheck("input[name=column][value=latest_message_excerpt]")
        navigate(page, lambda: page.click("button:has-text('Save columns')"))
        navigate(page, lambda: page.goto(f"{live}/cases/?view=all_cases"))
        headers = [
            h.strip(" \n\u2195\u25bc\u25b2") for h in page.locator("thead th").all_inner_texts()
        ]
        assert headers == [
            "Select",
            "Case",
            "Status",
            "Type",
            "Latest message",
            "Owners",
            "Created",
            "Tracking #",
        ]
        assert "number" in kit.views.columns(me)
        assert "tracking_number" in kit.views.columns(me)

        # A bulk action on every row of the page, with the header's checkbox.
        page.check("#select-all")
        assert page.inner_text("#bulk-count") == "3 selected"
        if width == 390:  # a bar along the foot of the screen
            bar = page.locator("#bulk-form").bounding_box()
            assert bar is not None
            assert round(bar["y"] + bar["height"]) == height
        page.select_option("#bulk-action", f"owner:{world.shipper_manager.id}")
        navigate(page, lambda: page.click("button:has-text('Change selected cases')"))
        assert "Set owner: done on 3 cases" in page.inner_text(".ck-flash")
        owners = {kit.cases.get(me, n).shipper_owner_id for n in opened}
        assert owners == {world.shipper_manager.id}
        page.screenshot(path=str(ARTIFACTS / f"list-bulk-{width}.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
