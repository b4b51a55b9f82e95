"""Bringing a carrier in later from the case page and over REST, on the database under test."""

from __future__ import annotations

import pytest
from conftest import login

from casekit import Actor, OrgRole, Side, UserRole


@pytest.fixture
def swift(kit, world):
    """A second carrier the shipper works with, and its manager."""
    host = Actor.host()
    org = kit.directory.add_organization(
        host, name="Swift Haulage", role=OrgRole.CARRIER, external_id="swift"
    )
    manager = kit.directory.add_user(
        host, org_id=org.id, name="Ned Swift", email="ned@swift.test", role=UserRole.MANAGER
    )
    return org, Actor.of_user(manager)


def address_of(kit, world, carrier_id):
    found = [
        a.email
        for a in kit.notifications.collaborator_addresses(Actor.host())
        if (a.shipper_org_id, a.carrier_org_id, a.side)
        == (world.shipper.id, carrier_id, Side.CARRIER)
    ]
    return found[0] if found else None


def test_the_shippers_manager_brings_a_carrier_in_with_its_address(kit, world, client, swift):
    org, swift_manager = swift
    case = kit.cases.open(world.shipper_actor, type="lost", message="Where is it?")
    login(client, world.shipper_manager_actor)
    page = client.get(f"/cases/{case.number}").data.decode()
    assert 'id="carrier-title"' in page
    assert '<option value="">No carrier</option>' in page
    assert "Swift Haulage" in page
    assert 'id="collaborator_address"' in page  # a manager edits the address

    response = client.post(
        f"/cases/{case.number}/carrier",
        data={
            "carrier": str(org.id),
            "collaborating": "on",
            "collaborator_address": "Desk@Swift.test",
            "address_was": "",
            "version": str(case.version),
        },
    )
    assert response.status_code == 302, response.data[:400]
    after = kit.cases.get(world.shipper_actor, case.number)
    assert (after.carrier_org_id, after.carrier_collaborating) == (org.id, True)
    assert address_of(kit, world, org.id) == "desk@swift.test"
    assert kit.cases.get(swift_manager, case.number).number == case.number
    page = client.get(f"/cases/{case.number}").data.decode()
    assert f'<option value="{org.id}" selected>Swift Haulage · desk@swift.test</option>' in page
    assert "brought in Swift Haulage as the carrier" in page

    # Collaborating off: the checkbox left unticked.
    client.post(
        f"/cases/{case.number}/carrier",
        data={
            "carrier": str(org.id),
            "collaborator_address": "desk@swift.test",
            "address_was": "desk@swift.test",
        },
    )
    assert kit.cases.get(world.shipper_actor, case.number).carrier_collaborating is False


def test_choosing_another_carrier_never_copies_the_old_ones_address(kit, world, client, swift):
    org, _ = swift
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=world.shipper.id,
        carrier_org_id=world.carrier.id,
        side=Side.CARRIER,
        email="dispatch@fast.test",
    )
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    login(client, world.shipper_manager_actor)
    page = client.get(f"/cases/{case.number}").data.decode()
    assert 'value="dispatch@fast.test"' in page
    response = client.post(
        f"/cases/{case.number}/carrier",
        data={
            "carrier": str(org.id),
            "collaborating": "on",
            "collaborator_address": "dispatch@fast.test",
            "address_was": "dispatch@fast.test",
        },
    )
    assert response.status_code == 302
    assert kit.cases.get(world.shipper_actor, case.number).carrier_org_id == org.id
    assert address_of(kit, world, org.id) is None
    assert address_of(kit, world, world.carrier.id) == "dispatch@fast.test"


def test_an_agent_sees_the_address_but_does_not_edit_it(kit, world, client):
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=world.shipper.id,
        carrier_org_id=world.carrier.id,
        side=Side.CARRIER,
        email="dispatch@fast.test",
    )
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    login(client, world.shipper_actor)
    page = client.get(f"/cases/{case.number}").data.decode()
    assert 'id="collaborator_address"' not in page
    assert "Collaborator address: dispatch@fast.test" in page
    # Its form may still change the carrier's collaborating.
    response = client.post(f"/cases/{case.number}/carrier", data={"carrier": str(world.carrier.id)})
    assert response.status_code == 302
    assert kit.cases.get(world.shipper_actor, case.number).carrier_collaborating is False


def test_the_carrier_has_no_form_and_may_not_post_it(kit, world, client, swift):
    org, _ = swift
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    login(client, world.carrier_manager_actor)
    page = client.get(f"/cases/{case.number}").data.decode()
    assert 'id="carrier-title"' not in page
    response = client.post(
        f"/cases/{case.number}/carrier",
        data={"carrier": str(org.id), "collaborator_address": "x@fast.test", "address_was": ""},
    )
    assert response.status_code == 403
    assert kit.cases.get(Actor.host(), case.number).carrier_org_id == world.carrier.id
    assert address_of(kit, world, org.id) is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"carrier": "abc"}, "carrier"),
        ({"carrier": "999999"}, "carrier"),
        ({"carrier": "{shipper}"}, "carrier"),
        ({"carrier": "{swift}", "collaborator_address": "not an address"}, "collaborator_address"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    kit, world, client, swift, form, field
):
    org, _ = swift
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    login(client, world.shipper_manager_actor)
    data = {k: v.format(shipper=world.shipper.id, swift=org.id) for k, v in form.items()}
    response = client.post(f"/cases/{case.number}/carrier", data={**data, "address_was": ""})
    assert response.status_code == 400
    html = response.data.decode()
    assert f'id="{field}-error"' in html
    assert kit.cases.get(Actor.host(), case.number).version == case.version
    assert address_of(kit, world, org.id) is None


def test_a_stale_form_is_a_conflict(kit, world, client, swift):
    org, _ = swift
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    kit.cases.change_type(world.shipper_actor, case.number, "osd_damaged")
    login(client, world.shipper_manager_actor)
    response = client.post(
        f"/cases/{case.number}/carrier",
        data={
            "carrier": str(org.id),
            "collaborating": "on",
            "collaborator_address": "desk@swift.test",
            "address_was": "",
            "version": str(case.version),
        },
    )
    assert response.status_code == 409
    assert "Changed meanwhile" in response.data.decode()
    assert kit.cases.get(Actor.host(), case.number).carrier_org_id == world.carrier.id
    assert address_of(kit, world, org.id) is None  # nothing written, the address neither


# -- REST ----------------------------------------------------------------------------------


@pytest.fixture
def shipper_key(kit, world):
    token = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="TMS", scope="write"
    ).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def carrier_key(kit, world):
    token = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope="write"
    ).token
    return {"Authorization": f"Bearer {token}"}


def test_rest_names_changes_and_removes_the_carrier(kit, world, client, swift, shipper_key):
    org, swift_manager = swift
    case = kit.cases.open(world.shipper_actor, type="lost")
    url = f"/api/v1/cases/{case.number}"
    put = client.put(
        "/api/v1/collaborator-addresses",
        json={
            "shipper_org_id": world.shipper.id,
            "carrier_org_id": org.id,
            "side": "carrier",
            "email": "desk@swift.test",
        },
        headers=shipper_key,
    )
    assert put.status_code == 200, put.json
    named = client.patch(
        url,
        json={"carrier": org.id, "carrier_collaborating": True},
        headers={**shipper_key, "If-Match": f'"{case.version}"'},
    )
    assert named.status_code == 200, named.json
    assert (named.json["carrier_org_id"], named.json["carrier_collaborating"]) == (org.id, True)
    assert kit.cases.get(swift_manager, case.number).carrier_org_id == org.id
    off = client.patch(url, json={"carrier_collaborating": False}, headers=shipper_key)
    assert off.json["carrier_collaborating"] is False
    removed = client.patch(url, json={"carrier": None}, headers=shipper_key)
    assert removed.status_code == 200
    assert removed.json["carrier_org_id"] is None
    events = [
        e["event"]
        for e in client.get(f"{url}/timeline", headers=shipper_key).json["entries"]
        if e["kind"] == "event"
    ]
    assert events.count("carrier_changed") == 2
    assert events.count("carrier_collaborating") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"carrier": "7"}, "carrier"),
        ({"carrier": True}, "carrier"),
        ({"carrier": 0}, "carrier"),
        ({"carrier": 1.5}, "carrier"),
        ({"carrier": 10**9}, "carrier"),
        ({"carrier_collaborating": "yes"}, "carrier_collaborating"),
        ({"carrier_collaborating": 1}, "carrier_collaborating"),
        ({"carrier_collaborating": None}, "carrier_collaborating"),
    ],
)
def test_rest_bad_carrier_input_is_a_400_naming_the_field(
    kit, world, client, shipper_key, body, field
):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    response = client.patch(f"/api/v1/cases/{case.number}", json=body, headers=shipper_key)
    assert response.status_code == 400, response.json
    assert field in response.json["errors"], response.json
    assert kit.cases.get(Actor.host(), case.number).version == case.version


def test_rest_the_carrier_may_not_choose_the_carrier(kit, world, client, swift, carrier_key):
    org, _ = swift
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    for body in ({"carrier": org.id}, {"carrier": None}, {"carrier_collaborating": False}):
        response = client.patch(f"/api/v1/cases/{case.number}", json=body, headers=carrier_key)
        assert response.status_code == 403, response.json
    after = kit.cases.get(Actor.host(), case.number)
    assert (after.carrier_org_id, after.carrier_collaborating) == (world.carrier.id, True)


def test_rest_a_shipments_carrier_holds_unless_relinked(kit, world, client, swift, shipper_key):
    org, _ = swift
    case = kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    assert case.carrier_org_id == world.carrier.id
    response = client.patch(
        f"/api/v1/cases/{case.number}", json={"carrier": org.id}, headers=shipper_key
    )
    assert response.status_code == 400
    assert "SHP-1" in response.json["errors"]["carrier"][0]


def test_the_openapi_document_describes_the_carrier_fields(client):
    spec = client.get("/api/v1/openapi.json").json
    update = spec["components"]["schemas"]["CaseUpdate"]["properties"]
    assert update["carrier"]["type"] == ["integer", "null"] or "null" in str(update["carrier"])
    assert update["carrier_collaborating"]["type"] == "boolean"
    hooks = spec["components"]["schemas"]
    assert "carrier_changed" in str(hooks)
