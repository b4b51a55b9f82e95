"""Tags and priority on the staff pages and in the REST API, through the Flask test client:
Settings → Tags, the case page's panel, the create form, the list's filters, columns,
sort and bulk actions; ``/api/v1/tags`` and the case's ``priority`` and ``tags``."""

from __future__ import annotations

import csv
import io
import re

from conftest import login

from casekit import Actor, Priority


def _case_tags(kit, actor, number) -> list[str]:
    return [t.name for t in kit.cases.get(actor, number).tags]


def test_managers_keep_the_tags_page_and_agents_apply_tags_on_the_case_page(kit, world, client):
    login(client, world.shipper_manager_actor)
    assert client.get("/cases/settings/tags").status_code == 200
    made = client.post("/cases/settings/tags", data={"name": "Fragile", "colour": "red"})
    assert made.status_code == 302
    client.post("/cases/settings/tags", data={"name": "VIP", "colour": "purple"})
    # Bad input: a 400 naming the field, the input kept.
    for form, field in (
        ({"name": "", "colour": "red"}, "Name"),
        ({"name": "fragile", "colour": "red"}, "Name"),
        ({"name": "Odd", "colour": "chartreuse"}, "Colour"),
        ({"tag": "x", "name": "Odd"}, "Tag"),
    ):
        refused = client.post("/cases/settings/tags", data=form)
        assert refused.status_code == 400, form
        assert f"<strong>{field}</strong>:" in refused.data.decode(), form
    fragile, vip = (t.id for t in kit.tags.list(world.shipper_actor))
    renamed = client.post(
        "/cases/settings/tags", data={"tag": vip, "name": "Key account", "colour": "teal"}
    )
    assert renamed.status_code == 302
    page = client.get("/cases/settings/tags").data.decode()
    assert "ck-tag ck-tag-teal" in page
    assert "Key account" in page
    # An agent reads the list, with no form to change it, and may not change it.
    login(client, world.shipper_actor)
    page = client.get("/cases/settings/tags").data.decode()
    assert "Key account" in page
    assert "Only a manager adds or changes tags." in page
    assert client.post("/cases/settings/tags", data={"name": "Mine"}).status_code == 403
    # The carrier's staff read their own (empty) list.
    login(client, world.carrier_actor)
    assert "Key account" not in client.get("/cases/settings/tags").data.decode()

    # The create form: a priority and the organization's tags.
    login(client, world.shipper_actor)
    form = client.get("/cases/new").data.decode()
    assert 'name="priority"' in form
    assert "Key account" in form
    opened = client.post(
        "/cases/new",
        data={"type": "lost", "carrier": world.carrier.id, "priority": "high", "tag": [fragile]},
    )
    assert opened.status_code == 302, opened.data.decode()
    number = opened.headers["Location"].rsplit("/", 1)[1]
    assert _case_tags(kit, world.shipper_actor, number) == ["Fragile"]
    assert kit.cases.get(world.shipper_actor, number).priority is Priority.HIGH
    bad = client.post("/cases/new", data={"type": "lost", "priority": "asap"})
    assert bad.status_code == 400
    assert "<strong>Priority</strong>: one of low, normal, high, urgent" in bad.data.decode()

    # The case page: the panel, then each form.
    page = client.get(f"/cases/{number}").data.decode()
    assert "Priority and tags" in page
    assert re.search(r'<option value="high" selected>High</option>', page)
    assert re.search(rf'name="tag" value="{fragile}" checked', page)
    version = kit.cases.get(world.shipper_actor, number).version
    moved = client.post(
        f"/cases/{number}/priority", data={"priority": "urgent", "version": version}
    )
    assert moved.status_code == 302
    refused = client.post(f"/cases/{number}/priority", data={"priority": "asap"})
    assert refused.status_code == 400
    assert "<strong>Priority</strong>: one of low" in refused.data.decode()
    tagged = client.post(f"/cases/{number}/tags", data={"tag": [fragile, vip]})
    assert tagged.status_code == 302
    assert _case_tags(kit, world.shipper_actor, number) == ["Fragile", "Key account"]
    refused = client.post(f"/cases/{number}/tags", data={"tag": "x"})
    assert refused.status_code == 400
    assert "<strong>Tags</strong>: choose tags from the list" in refused.data.decode()
    page = client.get(f"/cases/{number}").data.decode()
    assert "tagged the case Key account" in page
    assert "changed the priority from High to Urgent" in page
    # The carrier reads the priority, not the shipper's tags nor their timeline entries.
    login(client, world.carrier_actor)
    theirs = client.get(f"/cases/{number}").data.decode()
    assert "changed the priority from High to Urgent" in theirs
    assert "Fragile" not in theirs
    assert "Key account" not in theirs
    other = kit.tags.create(world.carrier_manager_actor, "Claim filed").id
    refused = client.post(f"/cases/{number}/tags", data={"tag": [fragile]})
    assert refused.status_code == 400
    assert "not one of your organization" in refused.data.decode()
    assert client.post(f"/cases/{number}/tags", data={"tag": [other]}).status_code == 302
    assert _case_tags(kit, world.shipper_actor, number) == ["Fragile", "Key account"]


def test_the_list_filters_sorts_shows_and_changes_tags_and_priority(kit, world, client):
    sam, mia = world.shipper_actor, world.shipper_manager_actor
    red = kit.tags.create(mia, "Red", colour="red").id
    blue = kit.tags.create(mia, "Blue", colour="blue").id
    low = kit.cases.open(sam, type="lost", priority="low", tags=[red]).number
    urgent = kit.cases.open(sam, type="lost", priority="urgent").number
    plain = kit.cases.open(sam, type="lost").number
    kit.views.set_columns(sam, ["number", "priority", "tags", "status"])
    login(client, sam)

    def listed(query: str) -> list[str]:
        page = client.get(f"/cases/?view=all_cases&{query}").data.decode()
        return re.findall(r'<tr id="row-([^"]+)"', page)

    page = client.get("/cases/?view=all_cases&sort=priority&dir=desc").data.decode()
    assert re.findall(r'<tr id="row-([^"]+)"', page) == [urgent, plain, low]
    assert 'class="ck-priority ck-priority-urgent">Urgent<' in page
    assert '<li class="ck-tag ck-tag-red">Red</li>' in page
    assert 'id="f-tag"' in page
    assert "Priority: Urgent" in page
    assert listed(f"tag={red}") == [low]
    assert listed("priority=urgent&priority=low") == [plain, urgent, low][1:]
    assert listed("tag_op=empty") == [plain, urgent]
    chips = client.get(f"/cases/?view=all_cases&tag={red}").data.decode()
    assert "Tag: Red" in chips
    # Bulk: a priority on two cases, a tag on two, a tag taken off.
    cases = [f"{n}:{kit.cases.get(sam, n).version}" for n in (urgent, plain)]
    done = client.post(
        "/cases/bulk", data={"case": cases, "action": "priority:high", "back": "view=all_cases"}
    )
    assert done.status_code == 302
    assert {kit.cases.get(sam, n).priority for n in (urgent, plain)} == {Priority.HIGH}
    client.post("/cases/bulk", data={"case": [urgent, plain], "action": f"tag:{blue}"})
    client.post("/cases/bulk", data={"case": [low], "action": f"untag:{red}"})
    assert [_case_tags(kit, sam, n) for n in (low, urgent, plain)] == [[], ["Blue"], ["Blue"]]
    for action in ("priority:asap", "tag:x"):
        refused = client.post(
            "/cases/bulk", data={"case": [low], "action": action, "back": "view=all_cases"}
        )
        assert refused.status_code == 400, action
    # The export has both columns.
    exported = csv.DictReader(io.StringIO(client.get("/cases/export.csv?view=all_cases").text))
    assert {(r["number"], r["priority"], r["tags"]) for r in exported} == {
        (low, "low", ""),
        (urgent, "high", "Blue"),
        (plain, "high", "Blue"),
    }


def test_the_rest_api_keeps_tags_and_priority(kit, world, client):
    def key(manager: Actor, org_id: int, scope: str = "write") -> dict[str, str]:
        token = kit.api_keys.create(manager, org_id=org_id, name=scope, scope=scope).token
        return {"Authorization": f"Bearer {token}"}

    acme = key(world.shipper_manager_actor, world.shipper.id)
    fast = key(world.carrier_manager_actor, world.carrier.id)
    made = client.post("/api/v1/tags", json={"name": "Fragile", "colour": "red"}, headers=acme)
    assert made.status_code == 201, made.json
    tag_id = made.json["id"]
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "x", "colour": "chartreuse"}, "colour"),
        ({"name": "fragile"}, "name"),
        ({"name": "x", "extra": 1}, "extra"),
    ):
        refused = client.post("/api/v1/tags", json=body, headers=acme)
        assert refused.status_code == 400, body
        assert field in refused.json["errors"], refused.json
    assert client.get("/api/v1/tags", headers=fast).json == {"tags": []}
    assert (
        client.patch(f"/api/v1/tags/{tag_id}", json={"name": "x"}, headers=fast).status_code == 404
    )
    archived = client.patch(f"/api/v1/tags/{tag_id}", json={"archived": True}, headers=acme)
    assert archived.json["archived"] is True
    assert client.get("/api/v1/tags", headers=acme).json == {"tags": []}
    listed = client.get("/api/v1/tags?archived=true", headers=acme).json["tags"]
    assert [t["name"] for t in listed] == ["Fragile"]
    client.patch(f"/api/v1/tags/{tag_id}", json={"archived": False}, headers=acme)

    opened = client.post(
        "/api/v1/cases",
        json={"type": "lost", "carrier": world.carrier.id, "priority": "urgent", "tags": [tag_id]},
        headers=acme,
    )
    assert opened.status_code == 201, opened.json
    number = opened.json["number"]
    assert opened.json["priority"] == "urgent"
    assert opened.json["tags"] == [{"id": tag_id, "name": "Fragile", "colour": "red"}]
    seen = client.get(f"/api/v1/cases/{number}", headers=fast).json
    assert seen["priority"] == "urgent"
    assert seen["tags"] == []
    for body, field in (
        ({"priority": "asap"}, "priority"),
        ({"tags": ["x"]}, "tags"),
        ({"add_tags": [tag_id]}, "add_tags"),  # the shipper's tag, sent by the carrier
    ):
        refused = client.patch(f"/api/v1/cases/{number}", json=body, headers=fast)
        assert refused.status_code == 400, body
        assert {name.split(".")[0] for name in refused.json["errors"]} == {field}, refused.json
    lowered = client.patch(f"/api/v1/cases/{number}", json={"priority": "low"}, headers=fast)
    assert lowered.json["priority"] == "low"
    untagged = client.patch(f"/api/v1/cases/{number}", json={"remove_tags": [tag_id]}, headers=acme)
    assert untagged.json["tags"] == []
    client.patch(f"/api/v1/cases/{number}", json={"tags": [tag_id]}, headers=acme)
    other = client.post("/api/v1/cases", json={"type": "lost"}, headers=acme).json["number"]

    def numbers(headers: dict[str, str], query: str) -> list[str]:
        page = client.get(f"/api/v1/cases?view=all_cases&{query}", headers=headers)
        assert page.status_code == 200, page.json
        return [row["number"] for row in page.json["cases"]]

    assert numbers(acme, f"tag={tag_id}") == [number]
    assert numbers(fast, f"tag={tag_id}") == []
    assert numbers(acme, "priority=low") == [number]
    assert numbers(acme, "sort=priority") == [other, number]  # normal before low
    rows = client.get("/api/v1/cases?view=all_cases", headers=acme).json["cases"]
    assert {r["number"]: [t["name"] for t in r["tags"]] for r in rows} == {
        number: ["Fragile"],
        other: [],
    }
    assert client.get("/api/v1/cases?priority=asap", headers=acme).status_code == 400
    spec = client.get("/api/v1/openapi.json").json
    case_schema = spec["components"]["schemas"]["Case"]["properties"]
    assert {"priority", "tags"} <= set(case_schema)
    assert "/api/v1/tags/{tag_id}" in spec["paths"]


def test_the_rules_page_says_which_priority_and_tags_a_rule_gives(kit, world, client):
    mia = world.shipper_manager_actor
    vip = kit.tags.create(mia, "VIP", colour="purple").id
    kit.rules.create(
        mia,
        {
            "name": "Damaged",
            "exceptions": ["damaged"],
            "case_type": "osd_damaged",
            "priority": "urgent",
            "tag_ids": [vip],
        },
    )
    login(client, mia)
    page = client.get("/cases/settings/rules").data.decode()
    assert "OS&amp;D \u2013 Damaged (Urgent priority, tag VIP)" in page
