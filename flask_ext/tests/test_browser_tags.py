"""Tags and priority in Chromium: the shipper's manager adds a tag in Settings → Tags,
tags a case and makes it urgent on the case page, then filters the list by the tag and
the priority with the Tags and Priority columns shown, urgent first; the carrier reads the
priority and none of the shipper's tags. axe finds no serious violation on the pages, at
1366 x 900 and 390 px; screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS
from test_browser import follow, sign_in
from test_browser_due import axe_serious, words

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.mark.parametrize("width", [1366, 390])
def test_tagging_prioritising_and_filtering_by_them(kit, world, live, browser, width):
    sam = world.shipper_actor
    carrier = world.carrier.id
    crushed = kit.cases.open(sam, type="osd_damaged", subject="Crushed pallet", carrier=carrier)
    late = kit.cases.open(sam, type="lost", subject="Late", carrier=carrier, priority="high")
    kit.cases.open(sam, type="lost", subject="Where is it?", carrier=carrier)
    kit.tags.create(world.shipper_manager_actor, "VIP", colour="purple")
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "own_org")  # the shipper's manager
        page.goto(f"{live}/cases/settings/tags")
        page.fill("#new-name", "Fragile")
        page.select_option("#new-colour", "red")
        follow(page, page.locator("button:has-text('Add tag')"))
        assert "Tag Fragile added." in page.inner_text(".ck-flash")
        rows = page.locator(".ck-tag-list tbody th").all_inner_texts()
        assert rows == ["Fragile", "VIP"]
        page.screenshot(path=str(ARTIFACTS / f"tags-settings-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []

        # The case page: urgent, and tagged Fragile.
        page.goto(f"{live}/cases/{crushed.number}")
        page.select_option("#case-priority", "urgent")
        follow(page, page.locator("button:has-text('Set priority')"))
        page.check("label.ck-check:has-text('Fragile') input")
        follow(page, page.locator("button:has-text('Save tags')"))
        assert words(page.locator(".ck-case-meta .ck-priority")) == "Urgent"
        assert page.locator(".ck-case-head .ck-tags li").all_inner_texts() == ["Fragile"]
        timeline = page.inner_text(".ck-timeline") if page.locator(".ck-timeline").count() else ""
        page_text = timeline or page.inner_text("main")
        assert "changed the priority from Normal to Urgent" in page_text
        assert "tagged the case Fragile" in page_text
        page.screenshot(path=str(ARTIFACTS / f"tags-case-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []

        # The list: the Priority and Tags columns, urgent first.
        page.goto(f"{live}/cases/?view=all_cases")
        if width == 390:
            page.click("details.ck-filter-fold > summary")
        page.click(".ck-columns summary")
        page.check("input[name=column][value=priority]")
        page.check("input[name=column][value=tags]")
        follow(page, page.locator("button:has-text('Save columns')"))
        page.select_option("#sort", "priority")
        follow(page, page.locator("form.ck-filters button[type=submit]"))
        numbers = page.locator("td.ck-col-number a").all_inner_texts()
        assert numbers[:2] == [crushed.number, late.number]
        assert words(page.locator(f"#row-{crushed.number} td.ck-col-tags")) == "Fragile"
        assert words(page.locator(f"#row-{late.number} td.ck-col-priority")) == "High"
        # Filter by the tag (the combobox) and by priority (More filters).
        if page.locator("details.ck-filter-fold").get_attribute("open") is None:
            page.click("details.ck-filter-fold > summary")
        more = page.locator("details:has(> summary:has-text('More filters'))")
        if more.get_attribute("open") is None:
            more.locator("summary").click()
        page.locator("#f-tag-input").fill("frag")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.check("input[name=priority][value=urgent]")
        follow(page, page.locator("form.ck-filters button[type=submit]"))
        assert page.locator("td.ck-col-number a").all_inner_texts() == [crushed.number]
        chips = [c.rstrip("\u00d7").strip() for c in page.locator(".ck-chip").all_inner_texts()]
        assert chips == ["Tag: Fragile", "Priority: Urgent"]
        page.screenshot(path=str(ARTIFACTS / f"tags-list-{width}.png"), full_page=True)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        wide = page.evaluate(
            "Array.from(document.querySelectorAll('body *')).filter(e => "
            "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8)"
            ".map(e => e.tagName + '.' + e.className + '#' + e.id)"
        )
        assert overflow <= 0, wide
        if width == 1366:
            assert axe_serious(page) == []

        # The carrier reads the priority, never the shipper's tag.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{crushed.number}")
        assert words(page.locator(".ck-case-meta .ck-priority")) == "Urgent"
        assert "Fragile" not in page.content()
        assert problems == []
    finally:
        context.close()
