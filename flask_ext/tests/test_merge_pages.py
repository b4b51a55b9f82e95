"""Merging on the staff pages and over REST, through the Flask test client: the case
page's "Merge into…", the confirmation with both cases, the merged case's page sending
its readers on; ``POST /api/v1/cases/<number>/merge``, the duplicate's resource and
the 409 on changing it."""

from __future__ import annotations

from conftest import login

PROBLEM = "application/problem+json"


def test_merge_from_the_case_page_and_the_duplicate_sends_readers_on(kit, world, client):
    sam = world.shipper_actor
    original = kit.cases.open(sam, type="lost", carrier=world.carrier.id, subject="Lost box")
    dup = kit.cases.open(sam, type="lost", carrier=world.carrier.id, subject="Lost box again")
    kit.messages.post(world.carrier_actor, dup.number, "CARRIER-NOTE", audience="internal")
    login(client, sam)
    page = client.get(f"/cases/{dup.number}").data.decode()
    assert "Merge into…" in page
    # Bad input: a 400 naming the field, on the page that asked.
    for into, words in (
        ("", "name the case"),
        ("CV999999", "no case CV999999"),
        (dup.number, "itself"),
    ):
        refused = client.get(f"/cases/{dup.number}/merge", query_string={"into": into})
        assert refused.status_code == 400, into
        assert "<strong>Original case</strong>:" in refused.data.decode()
        assert words in refused.data.decode()
    # The confirmation shows both; nothing moved yet.
    confirm = client.get(f"/cases/{dup.number}/merge", query_string={"into": original.number})
    shown = confirm.data.decode()
    assert confirm.status_code == 200
    assert "Lost box again" in shown
    assert "Lost box" in shown
    assert f"Merge {dup.number} into {original.number}" in shown
    assert kit.cases.get(sam, dup.number).merged_into is None
    done = client.post(
        f"/cases/{dup.number}/merge",
        data={"into": original.number, "version": kit.cases.get(sam, dup.number).version},
    )
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/cases/{original.number}")
    landed = client.get(done.headers["Location"]).data.decode()
    assert f"Case {dup.number} was merged into {original.number}." in landed
    assert f"merged case {dup.number} into this one" in landed
    assert "CARRIER-NOTE" not in landed
    # The duplicate's page, and a change from an old tab: on to the original, saying why.
    for response in (
        client.get(f"/cases/{dup.number}"),
        client.post(f"/cases/{dup.number}/status", data={"status": "open"}),
        client.get(f"/cases/{dup.number}/merge", query_string={"into": original.number}),
    ):
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/cases/{original.number}")
    notice = client.get(f"/cases/{original.number}").data.decode()
    assert f"Case {dup.number} was merged into this case, {original.number}" in notice
    # The carrier reads its note on the original, and the merge.
    login(client, world.carrier_actor)
    carrier_page = client.get(f"/cases/{original.number}").data.decode()
    assert "CARRIER-NOTE" in carrier_page
    assert f"merged case {dup.number} into this one" in carrier_page


def test_merge_over_rest(kit, world, client):
    sam = world.shipper_actor
    key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="TMS", scope="write"
    ).token
    auth = {"Authorization": f"Bearer {key}"}
    original = kit.cases.open(sam, type="lost", customer=world.customer.id)
    dup = kit.cases.open(sam, type="lost", customer=world.customer.id)
    other = kit.cases.open(sam, type="lost")
    other_of_customer = kit.cases.open(sam, type="lost", customer=world.customer.id)
    url = f"/api/v1/cases/{dup.number}/merge"
    for body, field in (
        ({}, "into"),
        ({"into": 7}, "into"),
        ({"into": ""}, "into"),
        ({"into": original.number, "extra": 1}, "extra"),
        ({"into": other.number}, "into"),  # the duplicate has a customer the other lacks
        ({"into": "CV999999"}, "into"),
    ):
        refused = client.post(url, json=body, headers=auth)
        assert refused.status_code == 400, body
        assert refused.mimetype == PROBLEM
        assert field in refused.json["errors"], (body, refused.json)
    stale = client.post(url, json={"into": original.number}, headers={**auth, "If-Match": '"99"'})
    assert stale.status_code == 409
    merged = client.post(url, json={"into": original.number.lower()}, headers=auth)
    assert merged.status_code == 200, merged.json
    assert merged.json["number"] == original.number
    assert merged.json["merged_into"] is None
    resource = client.get(f"/api/v1/cases/{dup.number}", headers=auth).json
    assert resource["merged_into"] == original.number
    assert resource["status"] == "solved"
    assert resource["merged_at"] is not None
    for method, path, body in (
        ("post", f"/api/v1/cases/{dup.number}/messages", {"body": "Hi?"}),
        ("patch", f"/api/v1/cases/{dup.number}", {"status": "open"}),
        ("post", url, {"into": original.number}),
    ):
        response = getattr(client, method)(path, json=body, headers=auth)
        assert response.status_code == 409, (path, response.json)
        assert response.json["merged_into"] == original.number
        assert original.number in response.json["detail"]
    events = client.get(f"/api/v1/cases/{original.number}/timeline", headers=auth).json
    assert any(
        e.get("event") == "merged_from" and e.get("new_value") == dup.number
        for e in events["entries"]
    ), events
    # Never a customer, even on two cases of their own.
    login(client, world.customer_actor)
    denied = client.post(
        f"/api/v1/cases/{original.number}/merge", json={"into": other_of_customer.number}
    )
    assert denied.status_code == 403, denied.json
    assert "staff" in denied.json["detail"]
