"""The rules page: the shipper's rules grouped under Tier 1 and Tier 2, each rule's tier
and switch editable by a manager, the starter set installed from it."""

from __future__ import annotations

import re

from conftest import login
from markupsafe import escape

from casekit.domain.rule_starters import STARTER_RULES
from casekit.domain.rules import Tier

PAGE = "/cases/settings/rules"
LOST = {"name": "Lost one", "exceptions": ["lost"], "case_type": "lost"}


def groups(page: str) -> dict[str, list[str]]:
    """The rule names under each tier's heading, in the page's order."""
    found = {}
    for section in page.split('<section class="ck-tier')[1:]:
        heading = re.search(r"<h2[^>]*>([^<]*)<", section).group(1).strip()
        found[heading] = re.findall(r'<h3 id="rule-\d+">([^<]*)</h3>', section)
    return found


def test_the_starters_install_from_the_page_in_their_tiers(kit, world, client):
    login(client, world.shipper_manager_actor)
    page = client.get(PAGE).data.decode()
    assert groups(page) == {"Tier 1 — act now": [], "Tier 2 — watch": []}
    assert "18 of them are not among your rules yet" in page
    response = client.post(PAGE, data={"action": "starters"})
    assert response.status_code == 302
    page = client.get(PAGE).data.decode()
    assert "18 starter rules added, switched off" in page
    shown = groups(page)
    by_tier = {
        tier: sorted(str(escape(d["name"])) for d in STARTER_RULES if d["tier"] == tier)
        for tier in (1, 2)
    }
    assert shown == {"Tier 1 — act now": by_tier[1], "Tier 2 — watch": by_tier[2]}
    assert "Add the starter rules" not in page  # none left to add
    # What each card says: its trigger, its mode and the case it opens.
    card = page.split(">Damaged (freight)</h3>", 1)[1].split("</li>", 1)[0]
    assert "Exception: Damaged" in card
    assert "Any mode but parcel" in card
    assert "OS&amp;D – Damaged" in card  # noqa: RUF001
    card = page.split(">Stalled In Transit (freight)</h3>", 1)[1].split("</li>", 1)[0]
    assert "No update in transit (72 h)" in card
    card = page.split(">Lost (parcel)</h3>", 1)[1].split("</li>", 1)[0]
    assert "<dd>Parcel</dd>" in card
    assert client.post(PAGE, data={"action": "starters"}).status_code == 302
    assert len(kit.rules.list(world.shipper_actor)) == 18


def test_a_manager_moves_a_rule_to_another_tier_and_switches_it_on(kit, world, client):
    manager = world.shipper_manager_actor
    lost = kit.rules.create(manager, LOST, enabled=False)
    held = kit.rules.create(
        manager,
        {"name": "Held", "exceptions": ["held_at_terminal"], "case_type": "other", "tier": 1},
    )
    login(client, manager)
    assert groups(client.get(PAGE).data.decode()) == {
        "Tier 1 — act now": ["Held"],
        "Tier 2 — watch": ["Lost one"],
    }
    form = {
        "rule": [str(lost.id), str(held.id)],
        f"tier-{lost.id}": "1",
        f"enabled-{lost.id}": "on",
        f"tier-{held.id}": "1",
        f"enabled-{held.id}": "on",
    }
    response = client.post(PAGE, data=form)
    assert response.status_code == 302
    page = client.get(PAGE).data.decode()
    assert "Rules saved (1 changed)." in page
    assert groups(page) == {"Tier 1 — act now": ["Held", "Lost one"], "Tier 2 — watch": []}
    moved = kit.rules.get(manager, lost.id)
    assert (moved.tier, moved.enabled, moved.spec.exceptions) == (Tier.ACT_NOW, True, ("lost",))
    # Unchecked: switched off; a rule the form did not show is left as it is.
    later = kit.rules.create(manager, LOST | {"name": "Later"})
    form = {"rule": [str(held.id)], f"tier-{held.id}": "2"}
    assert client.post(PAGE, data=form).status_code == 302
    assert [(r.name, int(r.tier), r.enabled) for r in kit.rules.list(manager)] == [
        ("Lost one", 1, True),
        ("Held", 2, False),
        ("Later", 2, True),
    ]
    assert kit.rules.get(manager, later.id).enabled is True


def test_a_bad_tier_is_a_400_naming_the_rules_tier_and_saving_nothing(kit, world, client):
    manager = world.shipper_manager_actor
    lost = kit.rules.create(manager, LOST)
    held = kit.rules.create(
        manager, {"name": "Held", "exceptions": ["held_at_terminal"], "case_type": "other"}
    )
    login(client, manager)
    form = {
        "rule": [str(lost.id), str(held.id)],
        f"tier-{lost.id}": "1",
        f"enabled-{lost.id}": "on",
        f"tier-{held.id}": "3",
    }
    response = client.post(PAGE, data=form)
    assert response.status_code == 400
    page = response.data.decode()
    summary = page.split('class="ck-error-summary"', 1)[1].split("</div>", 1)[0]
    assert f'href="#tier-{held.id}"' in summary
    assert "<strong>Tier of Held</strong></a>: 1 (act now) or 2 (watch)" in summary
    assert re.search(rf'id="tier-{held.id}"[^>]*aria-invalid="true"', page)
    # The other rule's choice is kept on the form, and nothing is saved.
    kept = page.split(f'id="tier-{lost.id}"', 1)[1].split("</select>", 1)[0]
    assert '<option value="1" selected>' in kept
    assert [(r.name, int(r.tier)) for r in kit.rules.list(manager)] == [
        ("Held", 2),
        ("Lost one", 2),
    ]
    assert client.post(PAGE, data={"rule": [str(held.id)]}).status_code == 400


def test_agents_read_the_rules_carriers_hold_none(kit, world, client):
    kit.rules.create(world.shipper_manager_actor, LOST)
    login(client, world.shipper_actor)
    page = client.get(PAGE).data.decode()
    assert groups(page)["Tier 2 — watch"] == ["Lost one"]
    assert "Only a manager changes the rules." in page
    assert "Save rules" not in page
    assert re.search(r'<select id="tier-\d+" name="tier-\d+" disabled', page)
    rule_id = kit.rules.list(world.shipper_actor)[0].id
    denied = client.post(PAGE, data={"rule": [str(rule_id)], f"tier-{rule_id}": "1"})
    assert denied.status_code == 403
    assert client.post(PAGE, data={"action": "starters"}).status_code == 403
    assert int(kit.rules.get(world.shipper_actor, rule_id).tier) == 2
    assert 'href="/cases/settings/rules"' in client.get("/cases/settings").data.decode()
    login(client, world.carrier_manager_actor)
    page = client.get(PAGE).data.decode()
    assert "holds none" in page
    assert "Lost one" not in page
    assert client.post(PAGE, data={"action": "starters"}).status_code == 403
    assert 'href="/cases/settings/rules"' not in client.get("/cases/settings").data.decode()
    login(client, world.customer_actor)
    assert client.get(PAGE).status_code == 404


def test_a_card_says_what_the_shipments_cases_must_be_in_the_shippers_tags(kit, world, client):
    manager = world.shipper_manager_actor
    vip = kit.tags.create(manager, "VIP").id
    key = kit.tags.create(manager, "Key account").id
    hold = kit.tags.create(manager, "On hold").id
    kit.tags.create(world.carrier_manager_actor, "Carrier's own tag")
    kit.rules.create(
        manager,
        LOST
        | {
            "case_min_priority": "high",
            "case_tags_any": [vip, key],
            "case_tags_none": [hold],
        },
    )
    kit.rules.create(
        manager, LOST | {"name": "Not held", "case_tags_none": [hold], "priority": "urgent"}
    )
    login(client, world.shipper_actor)
    page = client.get(PAGE).data.decode()
    card = page.split(">Lost one</h3>", 1)[1].split("</li>", 1)[0]
    assert (
        "<dt>Cases</dt><dd>An active case of High priority or higher, tagged VIP or Key account; "
        "no active case tagged On hold</dd>" in card
    )
    card = page.split(">Not held</h3>", 1)[1].split("</li>", 1)[0]
    assert "<dt>Cases</dt><dd>No active case tagged On hold</dd>" in card
    assert "Lost (Urgent priority)" in card
    assert "Carrier&#39;s own tag" not in page
    assert "Carrier's own tag" not in page
