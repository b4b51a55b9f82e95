"""Custom fields over REST: /api/v1/custom-fields and a case's ``custom_fields``
on read and write, with a 400 naming the field for a bad value."""

from __future__ import annotations

import json

from conftest import login

API = "/api/v1/custom-fields"


def test_keep_fields_and_set_and_read_values_over_rest(client, kit, world):
    key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="TMS", scope="write"
    ).token
    auth = {"Authorization": f"Bearer {key}"}
    made = client.post(
        API,
        json={"key": "goods_value", "label": "Goods value", "kind": "number",
              "required_for": ["osd_damaged"]},
        headers=auth,
    )  # fmt: skip
    assert made.status_code == 201, made.json
    value_id = made.json["id"]
    dock = client.post(
        API,
        json={"key": "dock", "label": "Dock", "kind": "choice", "choices": ["A", "B"],
              "visibility": "shared"},
        headers=auth,
    ).json  # fmt: skip
    for bad, name in (
        ({"key": "Dock", "label": "x", "kind": "text"}, "key"),
        ({"key": "x", "label": "x", "kind": "colour"}, "kind"),
        ({"key": "x", "label": "x", "kind": "choice"}, "choices"),
        ({"key": "x", "label": "x", "kind": "text", "extra": 1}, "extra"),
        ({"key": "dock", "label": "x", "kind": "text"}, "key"),
    ):
        refused = client.post(API, json=bad, headers=auth)
        assert refused.status_code == 400, (bad, refused.json)
        assert name in json.dumps(refused.json["errors"])
    listed = client.get(API, headers=auth).json["custom_fields"]
    assert [(f["key"], f["kind"], f["visibility"]) for f in listed] == [
        ("goods_value", "number", "private"),
        ("dock", "choice", "shared"),
    ]

    # Opening: the value the type requires, each error a 400 naming the field.
    case = {"type": "osd_damaged", "carrier": world.carrier.id, "subject": "Crushed"}
    missing = client.post("/api/v1/cases", json=case, headers=auth)
    assert missing.status_code == 400
    required = {"custom_fields.goods_value": ["required on osd_damaged cases"]}
    assert missing.json["errors"] == required
    for bad in ({"goods_value": "lots"}, {"goods_value": 1, "dock": "Z"}, {"nope": 1}, [1]):
        refused = client.post("/api/v1/cases", json=case | {"custom_fields": bad}, headers=auth)
        assert refused.status_code == 400, refused.json
        assert "custom_fields" in json.dumps(refused.json["errors"])
    opened = client.post(
        "/api/v1/cases",
        json=case | {"custom_fields": {"goods_value": 1250.5, "dock": "B"}},
        headers=auth,
    )
    assert opened.status_code == 201, opened.json
    number = opened.json["number"]
    assert opened.json["custom_fields"] == {"goods_value": 1250.5, "dock": "B"}
    changed = client.patch(
        f"/api/v1/cases/{number}", json={"custom_fields": {"goods_value": 10}}, headers=auth
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["custom_fields"] == {"goods_value": 10, "dock": "B"}

    # The carrier reads the shared field alone, under the shipper's name, and
    # filters by it; the shipper's private one matches nothing for it.
    login(client, world.carrier_actor)
    seen = client.get(f"/api/v1/cases/{number}").json
    assert seen["custom_fields"] == {"shipper.dock": "B"}
    refused = client.patch(f"/api/v1/cases/{number}", json={"custom_fields": {"shipper.dock": "A"}})
    assert refused.status_code == 400
    assert list(refused.json["errors"]) == ["custom_fields.shipper.dock"]

    def found(filters: list[dict[str, object]]) -> list[str]:
        query = {"view": "all_cases", "filters": json.dumps(filters)}
        got = client.get("/api/v1/cases", query_string=query)
        assert got.status_code == 200, got.json
        return [row["number"] for row in got.json["cases"]]

    docked = {"name": "shipper.dock", "values": ["B"]}
    by_dock = {"field": "custom_field", "op": "in", "value": docked}
    assert found([by_dock]) == [number]
    worth = {"field": "custom_field", "op": "between",
             "value": {"name": "shipper.goods_value", "from": 0}}  # fmt: skip
    assert found([worth]) == []
    bad = client.get("/api/v1/cases", query_string={"filters": json.dumps(
        [{"field": "custom_field", "op": "in", "value": {"name": "dock"}}])})  # fmt: skip
    assert bad.status_code == 400
    assert client.get(API).json["custom_fields"] == []  # the carrier's own list
    assert client.get(f"{API}/{dock['id']}").status_code == 404
    assert client.patch(f"{API}/{dock['id']}", json={"label": "Mine"}).status_code == 403

    # Archive or delete: a field in use is archived.
    deleted = client.delete(f"{API}/{value_id}", headers=auth)
    assert deleted.status_code == 200
    assert deleted.json["deleted"] is False
    assert deleted.json["custom_field"]["archived"] is True
    unused = client.post(API, json={"key": "spare", "label": "Spare", "kind": "checkbox"},
                         headers=auth).json  # fmt: skip
    assert client.delete(f"{API}/{unused['id']}", headers=auth).json == {
        "deleted": True,
        "custom_field": None,
    }
    patched = client.patch(f"{API}/{dock['id']}", json={"label": "Loading dock",
                           "visibility": "private"}, headers=auth)  # fmt: skip
    assert patched.status_code == 200
    assert patched.json["label"] == "Loading dock"
    assert client.get(f"/api/v1/cases/{number}").json["custom_fields"] == {}
