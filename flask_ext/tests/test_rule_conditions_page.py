"""A rule's page: a manager of the shipper edits its conditions on the shipment's cases —
their priority and the shipper's own tags — and nothing else of the rule moves; bad input
is a 400 naming the field; the tags offered and accepted are the shipper's alone."""

from __future__ import annotations

import re

import pytest
from conftest import login, strangers
from test_csrf import form_token, host_app

from casekit.domain.tags import Priority

LOST = {"name": "Lost one", "exceptions": ["lost"], "case_type": "lost", "tier": 1}


def url(rule_id: int) -> str:
    return f"/cases/settings/rules/{rule_id}"


@pytest.fixture
def scene(kit, world):
    manager = world.shipper_manager_actor
    tags = {name: kit.tags.create(manager, name).id for name in ("VIP", "Key account", "On hold")}
    old = kit.tags.create(manager, "Old label").id
    kit.tags.update(manager, old, archived=True)
    tags["Old label"] = old
    tags["Carrier's own"] = kit.tags.create(world.carrier_manager_actor, "Carrier's own").id
    rule = kit.rules.create(manager, LOST | {"priority": "high", "tag_ids": [tags["VIP"]]})
    return rule, tags


def test_a_manager_sets_and_clears_the_conditions_on_the_shipments_cases(kit, world, client, scene):
    rule, tags = scene
    manager = world.shipper_manager_actor
    login(client, manager)
    page = client.get(url(rule.id)).data.decode()
    # The shipper's tags in use are offered; not an archived one the rule does not name,
    # never the carrier's.
    offered = set(re.findall(r'name="case_tags_any" value="(\d+)"', page))
    assert offered == {str(tags[n]) for n in ("VIP", "Key account", "On hold")}
    assert "Old label" not in page
    assert "Carrier&#39;s own" not in page
    assert "Carrier's own" not in page
    form = {
        "case_min_priority": "high",
        "case_tags_any": [str(tags["VIP"]), str(tags["Key account"])],
        "case_tags_none": [str(tags["On hold"])],
    }
    response = client.post(url(rule.id), data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url(rule.id))
    page = client.get(url(rule.id)).data.decode()
    assert "Saved the conditions of the rule “Lost one”." in page
    assert (
        "An active case of High priority or higher, tagged VIP or Key account; "
        "no active case tagged On hold" in page
    )
    saved = kit.rules.get(manager, rule.id)
    spec = saved.spec
    assert (spec.case_priorities, spec.case_min_priority) == ((), Priority.HIGH)
    assert (spec.case_tags_any, spec.case_tags_all, spec.case_tags_none) == (
        (tags["VIP"], tags["Key account"]),
        (),
        (tags["On hold"],),
    )
    # The rest of the rule is as it was.
    before = {k: v for k, v in rule.spec.as_json().items() if not k.startswith("case_")}
    after = {k: v for k, v in spec.as_json().items() if not k.startswith("case_")}
    assert after == before
    assert (saved.enabled, int(saved.tier), spec.case_type) == (True, 1, "lost")
    # The form shows the saved choices, and an archived tag the rule names stays offered.
    kit.tags.update(manager, tags["On hold"], archived=True)
    page = client.get(url(rule.id)).data.decode()
    assert re.search(rf'name="case_tags_none" value="{tags["On hold"]}" checked', page)
    assert '<option value="high" selected>' in page
    # Priorities, all of: then everything cleared.
    form = {"case_priorities": ["urgent", "high"], "case_tags_all": [str(tags["VIP"])]}
    assert client.post(url(rule.id), data=form).status_code == 302
    spec = kit.rules.get(manager, rule.id).spec
    assert spec.case_priorities == (Priority.URGENT, Priority.HIGH)
    assert (spec.case_min_priority, spec.case_tags_all, spec.case_tags_none) == (
        None,
        (tags["VIP"],),
        (),
    )
    assert client.post(url(rule.id), data={}).status_code == 302
    assert kit.rules.get(manager, rule.id).spec.reads_cases is False
    # The rules page links each card to its page.
    assert f'href="{url(rule.id)}"' in client.get("/cases/settings/rules").data.decode()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"case_priorities": ["urgent", "asap"]},
            "Priorities of the shipment",
            "unknown value &#39;asap&#39;",
        ),
        ({"case_min_priority": "top"}, "Lowest priority of the shipment", "one of low"),
        (
            {"case_priorities": ["urgent"], "case_min_priority": "high"},
            "Lowest priority of the shipment",
            "not both",
        ),
        ({"case_tags_all": ["12a"]}, "Tags of the shipment&#39;s cases, all of", "not a tag"),
        ({"case_tags_any": ["{VIP}"], "case_tags_none": ["{VIP}"]}, "Tags none of", "both"),
        (
            {"case_tags_any": ["{Carrier's own}"]},
            "Tags of the shipment&#39;s cases, any of",
            "not tags of the shipper",
        ),
    ],
    ids=["unknown priority", "unknown lowest", "both", "not a number", "both ways", "carrier's"],
)
def test_bad_conditions_are_a_400_naming_the_field_and_save_nothing(
    kit, world, client, scene, form, field, message
):
    rule, tags = scene
    login(client, world.shipper_manager_actor)
    sent = {
        k: [re.sub(r"\{(.+)\}", lambda m: str(tags[m.group(1)]), v) for v in vs]
        if isinstance(vs, list)
        else vs
        for k, vs in form.items()
    }
    response = client.post(url(rule.id), data=sent)
    assert response.status_code == 400
    page = response.data.decode()
    summary = page.split('class="ck-error-summary"', 1)[1].split("</div>", 1)[0]
    assert f"<strong>{field}" in summary
    assert message in summary
    assert "aria-invalid" in page
    # What was sent is kept on the form; the carrier's tag is never offered.
    assert "Carrier&#39;s own" not in page
    assert kit.rules.get(world.shipper_manager_actor, rule.id).spec == rule.spec


def test_agents_read_a_rule_others_find_none(kit, world, client, scene):
    rule, tags = scene
    login(client, world.shipper_actor)
    page = client.get(url(rule.id)).data.decode()
    assert "Only a manager changes the rules." in page
    assert re.search(r"<fieldset disabled>", page)
    assert "Save conditions" not in page
    denied = client.post(url(rule.id), data={"case_tags_any": [str(tags["VIP"])]})
    assert denied.status_code == 403
    assert kit.rules.get(world.shipper_actor, rule.id).spec == rule.spec
    others = strangers(kit, world)
    for actor in (world.carrier_manager_actor, others["other_shipper"], others["other_carrier"]):
        login(client, actor)
        assert client.get(url(rule.id)).status_code == 404
        assert client.post(url(rule.id), data={}).status_code == 404
    for actor in (world.customer_actor, others["other_customer"]):
        login(client, actor)
        assert client.get(url(rule.id)).status_code == 404
    login(client, world.shipper_manager_actor)
    assert client.get(url(rule.id + 1000)).status_code == 404
    assert kit.rules.get(world.shipper_actor, rule.id).spec == rule.spec


def test_the_conditions_form_needs_a_valid_token(kit, world, scene):
    rule, tags = scene
    client = host_app(kit, "no CSRFProtect", True).test_client()
    login(client, world.shipper_manager_actor)
    form = {"case_tags_any": [str(tags["VIP"])]}
    refused = client.post(url(rule.id), data=form)
    assert refused.status_code == 400
    assert "The form expired" in refused.data.decode()
    assert kit.rules.get(world.shipper_manager_actor, rule.id).spec.case_tags_any == ()
    token = form_token(client.get(url(rule.id)).data.decode())
    assert client.post(url(rule.id), data=form | {"csrf_token": token}).status_code == 302
    saved = kit.rules.get(world.shipper_manager_actor, rule.id).spec.case_tags_any
    assert saved == (tags["VIP"],)
