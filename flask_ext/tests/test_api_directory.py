"""The REST API's directory: users, customers, the audit trail and the host's sync."""

from __future__ import annotations

import pytest
from conftest import login
from flask import url_for

from casekit import Actor

PROBLEM = "application/problem+json"


@pytest.fixture
def keys(kit, world) -> dict[str, dict[str, str]]:
    """The shipper's admin and write keys and the carrier's admin key, as headers."""

    def key(org_id: int, scope: str) -> dict[str, str]:
        token = kit.api_keys.create(Actor.host(), org_id=org_id, name=scope, scope=scope).token
        return {"Authorization": f"Bearer {token}"}

    return {
        "admin": key(world.shipper.id, "admin"),
        "write": key(world.shipper.id, "write"),
        "carrier": key(world.carrier.id, "admin"),
    }


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.data[:400]
    assert response.mimetype == PROBLEM
    return response.json


def test_users_are_listed_found_and_changed_by_an_admin_key(client, kit, world, keys):
    sam = world.shipper_agent.id
    listed = client.get("/api/v1/directory/users", headers=keys["write"]).json["users"]
    assert [u["name"] for u in listed] == ["Mia Manager", "Sam Shipper"]
    assert listed[1]["email"] == "sam@acme.test"
    response = client.patch(
        f"/api/v1/directory/users/{sam}",
        json={"name": "Samuel", "role": "manager", "external_id": "u-1"},
        headers=keys["admin"],
    )
    assert response.status_code == 200, response.json
    assert (response.json["name"], response.json["role"]) == ("Samuel", "manager")
    found = client.get("/api/v1/directory/users?external_id=u-1", headers=keys["write"])
    assert [u["id"] for u in found.json["users"]] == [sam]
    nobody = client.get("/api/v1/directory/users?external_id=u-2", headers=keys["write"])
    assert nobody.json == {"users": []}
    log = client.get("/api/v1/directory/changes?limit=3", headers=keys["write"]).json["changes"]
    assert [(c["change"], c["old"], c["new"]) for c in log] == [
        ("external_id", None, "u-1"),
        ("role", "agent", "manager"),
        ("name", "Sam Shipper", "Samuel"),
    ]
    # A write key does not change the directory; a bad field is named.
    problem(client.patch(f"/api/v1/directory/users/{sam}", json={}, headers=keys["write"]), 403)
    bad = client.patch(f"/api/v1/directory/users/{sam}", json={"email": "x"}, headers=keys["admin"])
    assert list(problem(bad, 400)["errors"]) == ["email"]
    bad = client.patch(f"/api/v1/directory/users/{sam}", json={"rank": 1}, headers=keys["admin"])
    assert list(problem(bad, 400)["errors"]) == ["rank"]


def test_another_organization_never_reads_nor_changes_the_directory(client, world, keys):
    sam, casey = world.shipper_agent.id, world.customer.id
    carrier = keys["carrier"]
    for url in (f"/api/v1/directory/users/{sam}", f"/api/v1/directory/customers/{casey}"):
        assert "sam@acme.test" not in problem(client.get(url, headers=carrier), 404).get(
            "detail", ""
        )
        problem(client.patch(url, json={"name": "X"}, headers=carrier), 404)
    listed = client.get("/api/v1/directory/users", headers=carrier).json["users"]
    assert {u["email"] for u in listed} == {"cal@fast.test", "max@fast.test"}
    found = client.get("/api/v1/directory/customers?email=casey@example.test", headers=carrier)
    assert found.json == {"customers": []}
    changes = client.get("/api/v1/directory/changes", headers=carrier).json["changes"]
    assert "Cal Carrier" in str(changes)
    assert "sam@acme.test" not in str(changes)
    assert "casey" not in str(changes)


def test_deactivation_ends_the_session_and_the_keys(app, client, kit, world, keys):
    sam = world.shipper_agent
    theirs = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="mia's", scope="write"
    ).token
    number = kit.cases.open(world.shipper_actor, type="lost", message="Hello").number
    with app.test_request_context():
        page = url_for("casekit_staff.case_page", number=number)
    login(client, world.shipper_actor)
    assert client.get(f"/api/v1/cases/{number}").status_code == 200
    assert client.get(page).status_code == 200
    assert (
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {theirs}"}).status_code
        == 200
    )
    response = client.patch(
        f"/api/v1/directory/users/{sam.id}", json={"active": False}, headers=keys["admin"]
    )
    assert (response.json["active"], response.json["name"]) == (False, "Sam Shipper")
    client.patch(
        f"/api/v1/directory/users/{world.shipper_manager.id}",
        json={"active": False},
        headers=keys["admin"],
    )
    # The host's session still names Sam; casekit no longer lets them in.
    problem(client.get(f"/api/v1/cases/{number}"), 401)
    assert client.get(page).status_code == 401  # the test host has no login page
    problem(client.get("/api/v1/cases", headers={"Authorization": f"Bearer {theirs}"}), 401)
    listed = client.get("/api/v1/directory/users", headers=keys["admin"]).json["users"]
    assert listed == []
    everyone = client.get(
        "/api/v1/directory/users?include_deactivated=true", headers=keys["admin"]
    ).json["users"]
    assert {u["name"]: u["active"] for u in everyone} == {
        "Sam Shipper": False,
        "Mia Manager": False,
    }
    # Their history keeps their name.
    timeline = client.get(f"/api/v1/cases/{number}/timeline", headers=keys["admin"]).json
    assert timeline["entries"][0]["user_id"] == sam.id
    # Back again.
    client.patch(f"/api/v1/directory/users/{sam.id}", json={"active": True}, headers=keys["admin"])
    assert client.get(f"/api/v1/cases/{number}").status_code == 200


def test_a_customer_moves_to_a_free_address_only(client, kit, world, keys):
    casey = world.customer.id
    kit.directory.add_customer(
        Actor.host(), shipper_org_id=world.shipper.id, email="taken@example.test"
    )
    url = f"/api/v1/directory/customers/{casey}"
    taken = client.patch(url, json={"email": "taken@example.test"}, headers=keys["admin"])
    assert "another customer" in problem(taken, 400)["errors"]["email"][0]
    moved = client.patch(url, json={"email": "casey@new.test"}, headers=keys["admin"])
    assert moved.json["email"] == "casey@new.test"
    found = client.get("/api/v1/directory/customers?email=casey@new.test", headers=keys["write"])
    assert [c["id"] for c in found.json["customers"]] == [casey]
    both = client.get(
        "/api/v1/directory/customers?email=a@b.test&external_id=x", headers=keys["write"]
    )
    assert "external_id" in problem(both, 400)["errors"]
    login(client, world.customer_actor)
    assert client.get(url).json["email"] == "casey@new.test"


def test_the_sync_is_idempotent_over_http(client, kit, world, keys):
    body = {
        "users": [
            {"external_id": "u-1", "organization": "acme", "name": "Ann", "email": "ann@acme.test"},
            {"external_id": "u-2", "organization": "acme", "name": "Bo", "email": "bo@acme.test"},
        ],
        "customers": [{"external_id": "c-1", "shipper": "acme", "email": "cy@example.test"}],
    }
    first = client.post("/api/v1/directory/sync", json=body, headers=keys["admin"])
    assert first.status_code == 200, first.json
    assert first.json["users"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert first.json["customers"] == {"created": 1, "updated": 0, "unchanged": 0}
    again = client.post("/api/v1/directory/sync", json=body, headers=keys["admin"])
    assert again.json["users"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again.json["customers"] == {"created": 0, "updated": 0, "unchanged": 1}
    body["users"][1]["active"] = False
    left = client.post("/api/v1/directory/sync", json=body, headers=keys["admin"]).json
    assert (left["users"]["updated"], left["deactivated"]) == (1, 1)
    # Another organization's people, an organization, a bad record: refused, nothing written.
    other = {"users": [{**body["users"][0], "organization": "fast"}]}
    problem(client.post("/api/v1/directory/sync", json=other, headers=keys["admin"]), 403)
    orgs = {"organizations": [{"external_id": "new", "name": "New", "role": "carrier"}]}
    problem(client.post("/api/v1/directory/sync", json=orgs, headers=keys["admin"]), 403)
    bad = {"users": [{**body["users"][0], "email": "nope"}]}
    response = client.post("/api/v1/directory/sync", json=bad, headers=keys["admin"])
    assert list(problem(response, 400)["errors"]) == ["users.0.email"]
    problem(client.post("/api/v1/directory/sync", json=body, headers=keys["write"]), 403)
    # The host's own session syncs organizations.
    login(client, Actor.host())
    hosted = client.post("/api/v1/directory/sync", json=orgs)
    assert hosted.json["organizations"] == {"created": 1, "updated": 0, "unchanged": 0}


def test_an_organization_is_found_by_the_hosts_key(client, kit, world, keys):
    """A host's integration names the carrier of a case by casekit's id: it finds the
    organization by the host's own key."""
    kit.directory.update_organization(Actor.host(), world.carrier.id, external_id="carrier-7")
    found = client.get(
        "/api/v1/directory/organizations?external_id=carrier-7", headers=keys["write"]
    )
    assert found.status_code == 200, found.json
    assert found.json == {
        "organizations": [
            {
                "id": world.carrier.id,
                "name": "Fast Freight",
                "role": "carrier",
                "external_id": "carrier-7",
            }
        ]
    }
    one = client.get(f"/api/v1/directory/organizations/{world.carrier.id}", headers=keys["write"])
    assert one.json == found.json["organizations"][0]
    nobody = client.get("/api/v1/directory/organizations?external_id=nope", headers=keys["write"])
    assert nobody.json == {"organizations": []}
    missing = client.get("/api/v1/directory/organizations", headers=keys["write"])
    assert list(problem(missing, 400)["errors"]) == ["external_id"]
    problem(client.get("/api/v1/directory/organizations/999999", headers=keys["write"]), 404)
    # A customer reads no organization.
    login(client, world.customer_actor)
    problem(client.get(f"/api/v1/directory/organizations/{world.carrier.id}"), 403)
