"""Rule conditions on the shipment's cases and a canned reply's priority and tags in
Chromium: the shipper's manager reads a rule's conditions on its card, in the shipper's
tag names, and gives a canned reply a priority and tags to add and take off in Settings →
Canned replies, then applies it from the case page; axe finds no serious violation, at
1366 x 900 and 390 px; screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS
from test_browser import follow, sign_in
from test_browser_due import axe_serious

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.mark.parametrize("width", [1366, 390])
def test_rule_conditions_and_a_replys_priority_and_tags(kit, world, live, browser, width):
    mia, sam = world.shipper_manager_actor, world.shipper_actor
    vip = kit.tags.create(mia, "VIP", colour="purple").id
    triage = kit.tags.create(mia, "To triage", colour="orange").id
    hold = kit.tags.create(mia, "On hold", colour="grey").id
    kit.tags.create(world.carrier_manager_actor, "Carrier's own tag")
    kit.rules.create(
        mia,
        {
            "name": "Damaged VIP shipment",
            "tier": 1,
            "exceptions": ["damaged"],
            "case_type": "osd_damaged",
            "case_min_priority": "high",
            "case_tags_any": [vip],
            "case_tags_none": [hold],
            "priority": "urgent",
        },
    )
    case = kit.cases.open(
        sam, type="lost", subject="Where is it?", carrier=world.carrier.id, tags=[triage]
    )
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "own_org")  # the shipper's manager
        page.goto(f"{live}/cases/settings/rules")
        card = page.locator(".ck-rule", has_text="Damaged VIP shipment")
        assert (
            "An active case of High priority or higher, tagged VIP; no active case tagged On hold"
            in card.inner_text()
        )
        assert "Carrier's own tag" not in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / f"rules-case-conditions-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []

        page.goto(f"{live}/cases/settings/canned-replies")
        page.fill("#new-reply-title", "Escalate")
        page.fill("#new-reply-body", "Escalated to our carrier.")
        page.check("input[name=audience][value=internal]")
        page.select_option("#new-reply-priority", "urgent")
        page.check(f"input[name=action_add_tags][value='{vip}']")
        page.check(f"input[name=action_remove_tags][value='{triage}']")
        assert "Carrier's own tag" not in page.inner_text("main")
        page.locator("form.ck-form fieldset").first.screenshot(
            path=str(ARTIFACTS / f"canned-reply-form-{width}.png")
        )
        follow(page, page.locator("button:has-text('Save reply')"))
        assert "Saved the canned reply" in page.inner_text(".ck-flash")
        [reply] = kit.canned_replies.list(mia)
        assert reply.actions.as_json() == {
            "priority": "urgent",
            "add_tags": [vip],
            "remove_tags": [triage],
        }
        follow(page, page.locator("a", has_text="Escalate"))
        assert page.locator("#reply-priority").input_value() == "urgent"
        page.screenshot(path=str(ARTIFACTS / f"canned-reply-page-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []

        page.goto(f"{live}/cases/{case.number}")
        page.select_option("select[name=canned_reply]", str(reply.id))
        follow(page, page.locator("button[name=canned_action][value=apply]"))
        shown = kit.cases.get(sam, case.number)
        assert (shown.priority.value, [t.name for t in shown.tags]) == ("urgent", ["VIP"])
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_manager_edits_a_rules_tag_condition_and_sees_it_saved(kit, world, live, browser, width):
    mia = world.shipper_manager_actor
    vip = kit.tags.create(mia, "VIP", colour="purple").id
    hold = kit.tags.create(mia, "On hold", colour="grey").id
    kit.tags.create(world.carrier_manager_actor, "Carrier's own tag")
    rule = kit.rules.create(
        mia,
        {"name": "Damaged shipment", "tier": 1, "exceptions": ["damaged"], "case_type": "lost"},
    )
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, live, "own_org")  # the shipper's manager
        page.goto(f"{live}/cases/settings/rules")
        card = page.locator(".ck-rule", has_text="Damaged shipment")
        follow(page, card.locator("a", has_text="Change the conditions on its cases"))
        assert "Carrier's own tag" not in page.inner_text("main")
        page.select_option("#case_min_priority", "high")
        page.check(f"input[name=case_tags_any][value='{vip}']")
        page.check(f"input[name=case_tags_none][value='{hold}']")
        page.screenshot(path=str(ARTIFACTS / f"rule-conditions-form-{width}.png"), full_page=True)
        follow(page, page.locator("button:has-text('Save conditions')"))
        assert "Saved the conditions of the rule" in page.inner_text(".ck-flash")
        assert (
            "An active case of High priority or higher, tagged VIP; no active case tagged On hold"
            in page.inner_text("#rule-cases")
        )
        assert page.is_checked(f"input[name=case_tags_any][value='{vip}']")
        page.screenshot(path=str(ARTIFACTS / f"rule-conditions-saved-{width}.png"), full_page=True)
        if width == 1366:
            assert axe_serious(page) == []
        spec = kit.rules.get(mia, rule.id).spec
        assert (spec.case_min_priority.value, spec.case_tags_any, spec.case_tags_none) == (
            "high",
            (vip,),
            (hold,),
        )
        # A bad value sent past the form: the page names the field.
        page.uncheck(f"input[name=case_tags_none][value='{hold}']")
        page.check(f"input[name=case_tags_all][value='{hold}']")
        page.check("input[name=case_priorities][value=urgent]")
        follow(page, page.locator("button:has-text('Save conditions')"))
        assert "Lowest priority of the shipment's cases" in page.inner_text(".ck-error-summary")
        page.screenshot(path=str(ARTIFACTS / f"rule-conditions-error-{width}.png"), full_page=True)
        assert kit.rules.get(mia, rule.id).spec == spec
        assert problems == []
    finally:
        context.close()
