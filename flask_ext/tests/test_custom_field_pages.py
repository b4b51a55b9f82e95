"""Custom fields on the staff pages, through the Flask test client: Settings → Custom
fields, the create form's inputs and the case page's panel (the other side's shared
fields read-only, its private ones nowhere)."""

from __future__ import annotations

import json

from conftest import login


def test_managers_keep_fields_and_agents_fill_them_in(kit, world, client):
    login(client, world.shipper_manager_actor)
    assert client.get("/cases/settings/custom-fields").status_code == 200
    made = client.post(
        "/cases/settings/custom-fields",
        data={"label": "Goods value", "key": "goods_value", "kind": "number",
              "visibility": "private", "required_for": ["lost"]},
    )  # fmt: skip
    assert made.status_code == 302, made.data.decode()
    client.post(
        "/cases/settings/custom-fields",
        data={"label": "Dock", "key": "dock", "kind": "choice", "choices": "A\nB\n",
              "visibility": "shared"},
    )  # fmt: skip
    client.post(
        "/cases/settings/custom-fields",
        data={"label": "Parts", "key": "parts", "kind": "multi_choice", "choices": "lid\nbox"},
    )
    bad = client.post(
        "/cases/settings/custom-fields", data={"label": "X", "key": "Bad Key", "kind": "text"}
    )
    assert bad.status_code == 400
    assert "lower-case letter" in bad.data.decode()
    fields = {f.key: f for f in kit.custom_fields.list(world.shipper_actor)}
    assert fields["goods_value"].required_for == ("lost",)
    assert fields["dock"].choices == ("A", "B")
    renamed = client.post(
        "/cases/settings/custom-fields",
        data={"field": fields["dock"].id, "action": "save", "label": "Loading dock",
              "choices": "A\nB\nC", "visibility": "shared"},
    )  # fmt: skip
    assert renamed.status_code == 302
    assert kit.custom_fields.get(world.shipper_actor, fields["dock"].id).label == "Loading dock"
    login(client, world.shipper_actor)
    page = client.get("/cases/settings/custom-fields").data.decode()
    assert "Only a manager adds or changes fields." in page
    assert (
        client.post(
            "/cases/settings/custom-fields", data={"label": "Mine", "key": "mine", "kind": "text"}
        ).status_code
        == 403
    )

    # The create form asks for the value the type requires, naming the field.
    form = client.get("/cases/new").data.decode()
    assert 'name="cf-goods_value"' in form
    assert 'name="cf-dock"' in form
    refused = client.post("/cases/new", data={"type": "lost", "carrier": world.carrier.id})
    assert refused.status_code == 400
    assert "Goods value: required on lost cases" in refused.data.decode()
    opened = client.post(
        "/cases/new",
        data={"type": "lost", "carrier": world.carrier.id, "cf-goods_value": "99.5",
              "cf-dock": "B", "cf-parts-shown": "1", "cf-parts": ["box"]},
    )  # fmt: skip
    assert opened.status_code == 302, opened.data.decode()
    number = opened.headers["Location"].rsplit("/", 1)[1]
    assert kit.cases.get(world.shipper_actor, number).custom_field_values == {
        "goods_value": 99.5,
        "dock": "B",
        "parts": ["box"],
    }

    # The case page's panel: the form, and a bad value named on the page.
    page = client.get(f"/cases/{number}").data.decode()
    assert 'id="fields-title"' in page
    assert '<option value="B" selected>B</option>' in page
    version = kit.cases.get(world.shipper_actor, number).version
    wrong = client.post(
        f"/cases/{number}/custom-fields",
        data={"version": version, "cf-goods_value": "lots", "cf-dock": "C"},
    )
    assert wrong.status_code == 400
    assert "Goods value: a number" in wrong.data.decode()
    saved = client.post(
        f"/cases/{number}/custom-fields",
        data={"version": version, "cf-goods_value": "", "cf-dock": "C", "cf-parts-shown": "1"},
    )
    assert saved.status_code == 302
    assert kit.cases.get(world.shipper_actor, number).custom_field_values == {"dock": "C"}
    assert "set Loading dock: C" in client.get(f"/cases/{number}").data.decode()

    # The list filters by a field (one "cf" argument a filter), and so does a saved view.
    def listed(*filters: dict[str, object]) -> str:
        args = [("view", "all_cases")] + [("cf", json.dumps(f)) for f in filters]
        got = client.get("/cases/", query_string=args)
        assert got.status_code == 200, got.data.decode()
        return got.data.decode()

    assert f'id="row-{number}"' in listed({"op": "in", "name": "dock", "values": ["C"]})
    assert "Field Loading dock: C" in listed({"op": "in", "name": "dock", "values": ["C"]})
    assert f'id="row-{number}"' not in listed({"op": "in", "name": "dock", "values": ["A"]})
    assert f'id="row-{number}"' in listed({"op": "empty", "name": "goods_value"})
    assert client.get("/cases/", query_string={"cf": "{}"}).status_code == 400
    query = {
        "view": "all_cases",
        "filters": [
            {"field": "custom_field", "op": "in", "value": {"name": "dock", "values": ["C"]}}
        ],
    }
    saved = kit.views.save(world.shipper_actor, "Dock C", query)
    page = client.get("/cases/", query_string={"saved": saved.id}).data.decode()
    assert f'id="row-{number}"' in page
    assert "Field Loading dock: C" in page

    # The carrier reads the shared field, read-only, and none of the private ones.
    login(client, world.carrier_actor)
    seen = client.get(f"/cases/{number}").data.decode()
    assert "Loading dock" in seen
    assert "(shipper's, shared)" in seen
    assert 'name="cf-dock"' not in seen
    assert "Goods value" not in seen
    assert "Parts" not in seen
    assert client.post(f"/cases/{number}/custom-fields", data={"cf-dock": "A"}).status_code in (
        302,
        400,
    )
    assert kit.cases.get(world.shipper_actor, number).custom_field_values == {"dock": "C"}
