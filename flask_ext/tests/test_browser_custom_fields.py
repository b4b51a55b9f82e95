"""Custom fields in Chromium: the shipper's manager adds a shared choice field in
Settings → Custom fields, an agent fills in the required one on the create form and
sets the shared one on the case page; the carrier reads the shared field read-only and
none of the private ones. axe finds no serious violation, at 1366 x 900 and 390 px
(no page overflows the narrow screen); screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS
from test_browser import follow, sign_in
from test_browser_due import axe_serious

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

#: Where the screenshots go besides the artifacts (CASEKIT_SHOTS, when set).
SHOTS = Path(os.environ.get("CASEKIT_SHOTS", str(ARTIFACTS)))


def _shot(page: Any, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"custom-fields-{name}-{width}.png"), full_page=True)
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, name


@pytest.mark.parametrize("width", [1366, 390])
def test_fields_are_kept_filled_in_and_read_by_each_side(kit, world, live, browser, width):
    kit.custom_fields.create(
        world.shipper_manager_actor, "goods_value", "Goods value", "number", required_for=["lost"]
    )
    kit.custom_fields.create(
        world.shipper_manager_actor, "parts", "Parts", "multi_choice", choices=["Lid", "Box"]
    )
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "own_org")  # the shipper's manager
        page.goto(f"{live}/cases/settings/custom-fields")
        page.click("details.ck-panel > summary")
        page.fill("#new-label", "Dock")
        page.fill("#new-key", "dock")
        page.select_option("#new-kind", "choice")
        page.fill("#new-choices", "A\nB\nC")
        page.select_option("#new-visibility", "shared")
        follow(page, page.locator("button:has-text('Add field')"))
        assert "Field Dock added." in page.inner_text(".ck-flash")
        labels = page.locator(".ck-field-list tbody th").all_inner_texts()
        assert [label.split()[0] for label in labels] == ["Goods", "Parts", "Dock"]
        _shot(page, "settings", width)
        if width == 1366:
            assert axe_serious(page) == []

        # The create form: the required value, named when it is missing.
        page.goto(f"{live}/cases/new")
        page.select_option("#type", "lost")
        follow(page, page.locator("form button[type=submit]:has-text('Create')"))
        assert "Goods value: required on lost cases" in page.inner_text("main")
        page.select_option("#type", "lost")
        page.fill("#cf-goods_value", "1250.50")
        page.check("input[name=cf-parts][value=Box]")
        follow(page, page.locator("form button[type=submit]:has-text('Create')"))
        number = page.url.rstrip("/").rsplit("/", 1)[1]
        assert kit.cases.get(world.shipper_actor, number).custom_field_values == {
            "goods_value": 1250.5,
            "parts": ["Box"],
        }
        if width == 1366:
            page.goto(f"{live}/cases/new")
            assert axe_serious(page) == []

        # The case page: set the shared field.
        page.goto(f"{live}/cases/{number}")
        page.select_option("#cf-dock", "B")
        follow(page, page.locator("button:has-text('Save fields')"))
        assert "set Dock: B" in page.inner_text("main")
        _shot(page, "case", width)
        if width == 1366:
            assert axe_serious(page) == []

        # The carrier: the shipper's shared field, read-only; no private one.
        kit.cases.change(world.shipper_actor, number, {"carrier": world.carrier.id})
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{number}")
        panel = page.locator("section[aria-labelledby=fields-title]")
        assert "Dock" in panel.inner_text()
        assert page.locator("#cf-dock").count() == 0
        assert "Goods value" not in page.content()
        _shot(page, "case-carrier", width)
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_fields_as_list_columns_sorted_and_filtered(kit, world, live, browser, width):
    mia, max_ = world.shipper_manager_actor, world.carrier_manager_actor
    kit.custom_fields.create(mia, "po_ref", "PO reference", "text")
    kit.custom_fields.create(mia, "goods_value", "Goods value", "number")
    kit.custom_fields.create(
        mia, "dock", "Dock", "choice", choices=["A", "B", "C"], visibility="shared"
    )
    kit.custom_fields.create(mia, "parts", "Parts", "multi_choice", choices=["Lid", "Box"])
    kit.custom_fields.create(max_, "claim_due", "Claim due", "date", visibility="shared")
    kit.custom_fields.create(max_, "seal_ok", "Seal intact", "checkbox")
    given = [
        {"po_ref": "Blue crate", "goods_value": 1250.5, "dock": "B", "parts": ["Lid", "Box"]},
        {"po_ref": "Wet cartons", "goods_value": 80, "dock": "A"},
        {"po_ref": "Torn wrap", "goods_value": 310, "dock": "C", "parts": ["Box"]},
    ]
    numbers = [
        kit.cases.open(
            world.shipper_actor, type="osd_damaged", carrier=world.carrier.id,
            subject=values["po_ref"], custom_fields=values,
        ).number
        for values in given
    ]  # fmt: skip
    kit.cases.change(
        world.carrier_actor, numbers[0], {"custom_fields": {"claim_due": "2026-12-24"}}
    )
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "own_org")  # the shipper's manager
        page.goto(f"{live}/cases/?view=all_cases")
        page.click("details.ck-columns > summary")
        for column in (
            "cf:po_ref",
            "cf:goods_value",
            "cf:dock",
            "cf:parts",
            "cf:carrier.claim_due",
        ):
            page.check(f'input[name=column][value="{column}"]')
        assert page.locator('input[name=column][value="cf:seal_ok"]').count() == 0
        follow(page, page.locator("button:has-text('Save columns')"))
        headers = page.locator("th.ck-col-field").all_inner_texts()
        assert [h.strip().rstrip("↕▲▼").strip() for h in headers] == [
            "PO reference",
            "Goods value",
            "Dock",
            "Parts",
            "Claim due (carrier)",
        ]
        row = page.locator(f"#row-{numbers[0]}").inner_text()
        assert "Lid, Box" in row
        assert "2026-12-24" in row
        assert "1250.5" in row
        # Sorted by the goods value, lowest first.
        follow(page, page.locator("th.ck-col-field a:has-text('Goods value')"))
        listed = page.locator("td.ck-col-number a").all_inner_texts()
        assert listed == [numbers[1], numbers[2], numbers[0]]
        _shot(page, "list-columns", width)
        if width == 1366:
            assert axe_serious(page) == []

        # The filter panel: a value range and a text, as the list's cf address.
        if not page.locator("details.ck-filter-fold").evaluate("d => d.open"):
            page.click("details.ck-filter-fold > summary")  # folded on a narrow screen
        page.click("details:has(> summary:has-text('More filters')) > summary")
        page.fill('input[name="cf.from.goods_value"]', "100")
        page.fill('input[name="cf.text.po_ref"]', "a")
        page.locator('.ck-field-filters input[type="date"]').first.fill("2026-12-01")
        follow(page, page.locator("button:has-text('Apply')"))
        assert "cf=" in page.url
        assert "cf." not in page.url.replace("cf%3A", "")
        assert page.locator("td.ck-col-number a").all_inner_texts() == [numbers[0]]
        chips = page.locator(".ck-chip").all_inner_texts()
        assert any("Field Goods value: 100 to" in chip for chip in chips), chips
        assert page.input_value('input[name="cf.from.goods_value"]') == "100"
        page.locator(".ck-field-filters").scroll_into_view_if_needed()
        _shot(page, "list-filters", width)
        page.locator(".ck-field-filters").screenshot(
            path=str(SHOTS / f"custom-fields-filter-panel-{width}.png")
        )
        if width == 1366:
            assert axe_serious(page) == []

        # The carrier: its own fields and the shipper's shared one, never a private one.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/?view=all_cases")
        page.click("details.ck-columns > summary")
        offered = page.locator("input[name=column][value^='cf:']").evaluate_all(
            "els => els.map(e => e.value)"
        )
        assert offered == ["cf:claim_due", "cf:seal_ok", "cf:shipper.dock"]
        assert "PO reference" not in page.content()
        assert problems == []
    finally:
        context.close()
