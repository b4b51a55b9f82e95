"""The REST API's calendars and service-level targets, and the clocks every case answer
and webhook payload carries (``casekit_flask.api.service_levels``, ``ClockSchema``)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from conftest import login

from casekit import Actor
from casekit.domain.calendar import BusinessCalendar
from casekit.errors import InvalidInput
from casekit.query.models import ClockView

PROBLEM = "application/problem+json"
API = "/api/v1/settings"
#: A calendar in the JSON form the core stores and the API sends.
CALENDAR: dict[str, Any] = {
    "time_zone": "America/New_York",
    "hours": {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "tue": [["08:00", "17:00"]],
        "fri": [["22:00", "06:00"]],
    },
    "holidays": {"country": "US", "subdivision": "NY"},
    "closed_days": ["2026-12-24"],
}


def stored(calendar: dict[str, Any]) -> dict[str, Any]:
    """What the core keeps of ``calendar``: its JSON form, read and written back."""
    return BusinessCalendar.from_json(calendar).to_json()


def errors_of(response: Any, status: int = 400) -> dict[str, list[str]]:
    assert response.status_code == status, response.data[:400]
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    return body.get("errors") or {}


@pytest.fixture
def carrier(client, world):
    """The carrier's manager, signed in."""
    login(client, world.carrier_manager_actor)
    return client


@pytest.fixture
def key(kit, world) -> dict[str, str]:
    """A write key of the carrier."""
    token = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope="write"
    ).token
    return {"Authorization": f"Bearer {token}"}


def new_target(client: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": "Same day", "first_response_seconds": 4 * 3600} | fields
    response = client.post(f"{API}/service-levels", json=body)
    assert response.status_code == 201, response.json
    return dict(response.json)


# -- calendars ---------------------------------------------------------------------------------
def test_the_own_calendar_is_set_read_and_removed(carrier, kit, world):
    assert errors_of(carrier.get(f"{API}/calendar"), 404) == {}
    response = carrier.put(f"{API}/calendar", json=CALENDAR)
    assert response.status_code == 200, response.json
    setting = response.json
    assert setting["calendar"] == stored(CALENDAR)
    assert setting["partner_org_id"] is None
    assert setting["share_clocks"] is False
    assert setting["updated_by"] == f"user:{world.carrier_manager.id}"
    assert carrier.get(f"{API}/calendar").json == setting
    assert carrier.get(f"{API}/calendars").json == {"calendars": [setting]}
    # The core keeps it as sent.
    kept = kit.service_levels.calendar(world.carrier_manager_actor)
    assert kept is not None
    assert kept.calendar.to_json() == stored(CALENDAR)
    response = carrier.delete(f"{API}/calendar")
    assert response.status_code == 204
    assert response.data == b""
    assert kit.service_levels.calendars(world.carrier_manager_actor) == []
    errors_of(carrier.delete(f"{API}/calendar"), 404)


def test_a_partner_calendar_shows_the_clocks_to_that_partner_only_while_shared(
    carrier, client, kit, world
):
    new_target(carrier, name="Carrier promise")
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number

    def shipper_sees() -> list[dict[str, Any]]:
        login(client, world.shipper_actor)
        clocks = client.get(f"/api/v1/cases/{number}").json["clocks"]
        login(client, world.carrier_manager_actor)
        return list(clocks)

    assert shipper_sees() == []
    url = f"{API}/calendars/{world.shipper.id}"
    response = carrier.put(url, json=CALENDAR | {"share_clocks": True})
    assert response.status_code == 200, response.json
    assert response.json["partner_org_id"] == world.shipper.id
    assert response.json["share_clocks"] is True
    assert [(c["side"], c["kind"], c["target_name"]) for c in shipper_sees()] == [
        ("carrier", "first_response", "Carrier promise")
    ]
    assert carrier.get(url).json == response.json
    listed = carrier.get(f"{API}/calendars").json["calendars"]
    assert [c["partner_org_id"] for c in listed] == [world.shipper.id]
    # PUT sets the whole setting: without share_clocks the clocks are the carrier's again.
    assert carrier.put(url, json=CALENDAR).json["share_clocks"] is False
    assert shipper_sees() == []
    carrier.put(url, json=CALENDAR | {"share_clocks": True})
    assert carrier.delete(url).status_code == 204
    assert shipper_sees() == []
    errors_of(carrier.get(url), 404)
    errors_of(carrier.delete(url), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"share_clocks": "yes"}, "share_clocks"),
        ({"share_clocks": 1}, "share_clocks"),
        ({"hours": ["mon"]}, "hours"),
        ({"time_zone": 5}, "time_zone"),
        ({"holidays": {"country": "US", "region": "TX"}}, "holidays.region"),
        ({"holidays": "US"}, "holidays"),
        ({"closed_days": "2026-12-24"}, "closed_days"),
        ({"colour": "blue"}, "colour"),
        ({"time_zone": "a\x00b"}, "time_zone"),
    ],
)
def test_a_bad_partner_calendar_is_a_400_naming_the_field(carrier, kit, world, body, field):
    response = carrier.put(f"{API}/calendars/{world.shipper.id}", json=CALENDAR | body)
    assert field in errors_of(response)
    assert kit.service_levels.calendars(world.carrier_manager_actor) == []


def test_a_partner_must_be_an_organization_of_the_other_role(carrier, kit, world):
    other_carrier = kit.directory.add_organization(
        Actor.host(), name="Slow Freight", role="carrier", external_id="slow"
    )
    for partner in (world.carrier.id, other_carrier.id, 999_999):
        response = carrier.put(f"{API}/calendars/{partner}", json=CALENDAR)
        assert list(errors_of(response)) == ["partner_org_id"], partner
    # Too large for an id: named, never a database error.
    response = carrier.put(f"{API}/calendars/{2**40}", json=CALENDAR)
    assert list(errors_of(response)) == ["partner_org_id"]
    assert errors_of(carrier.get(f"{API}/calendars/{2**40}")) == {
        "partner_org_id": ["an id from 1 to 2147483647"]
    }
    # The own calendar shows its clocks to no one.
    assert "share_clocks" in errors_of(carrier.put(f"{API}/calendar", json={"share_clocks": True}))
    assert kit.service_levels.calendars(world.carrier_manager_actor) == []


MONDAY = {"mon": [["08:00", "17:00"]]}
#: Calendars the core refuses, and the field of the body each is refused for.
REFUSED = [
    ({"time_zone": "Mars/Olympus_Mons", "hours": MONDAY}, "time_zone"),
    ({"hours": {"mon": [["08:00", "25:00"]]}}, "hours.mon[0]"),
    ({"hours": {"mon": [["08:00", "17:00"], ["16:00", "18:00"]]}}, "hours.mon[1]"),
    ({"hours": {"someday": [["08:00", "17:00"]]}}, "hours.someday"),
    ({"hours": {}}, "hours"),
    ({"time_zone": "UTC"}, "hours"),
    ({"hours": MONDAY, "holidays": {"country": "XX"}}, "holidays.country"),
    ({"hours": MONDAY, "holidays": {"country": "US", "subdivision": "ZZ"}}, "holidays.subdivision"),
    ({"hours": MONDAY, "closed_days": ["2026-02-30"]}, "closed_days[0]"),
]


@pytest.mark.parametrize(("calendar", "field"), REFUSED)
def test_what_the_core_refuses_is_a_400_naming_the_bodys_field(
    carrier, kit, world, calendar, field
):
    """The core checks a calendar's contents; the API answers its verdict, the field named
    as the body names it (the core's ``calendar.hours.mon[0]`` is ``hours.mon[0]``)."""
    with pytest.raises(InvalidInput) as refused:
        BusinessCalendar.from_json(calendar)
    assert errors_of(carrier.put(f"{API}/calendar", json=calendar)) == {
        field: refused.value.errors[f"calendar.{field}"]
    }
    assert kit.service_levels.calendars(world.carrier_manager_actor) == []


def test_staff_and_keys_read_the_calendars_managers_and_write_keys_change_them(
    client, kit, world, key
):
    kit.service_levels.set_calendar(world.carrier_manager_actor, CALENDAR)
    login(client, world.carrier_actor)  # an agent
    assert client.get(f"{API}/calendars").status_code == 200
    errors_of(client.put(f"{API}/calendar", json=CALENDAR), 403)
    errors_of(client.delete(f"{API}/calendar"), 403)
    login(client, world.customer_actor)
    errors_of(client.get(f"{API}/calendars"), 403)
    login(client, None)
    assert client.put(f"{API}/calendar", json=CALENDAR, headers=key).status_code == 200
    read = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="BI", scope="read"
    ).token
    headers = {"Authorization": f"Bearer {read}"}
    assert client.get(f"{API}/calendar", headers=headers).status_code == 200
    errors_of(client.put(f"{API}/calendar", json=CALENDAR, headers=headers), 403)
    # The shipper's staff have no calendar: the carrier's is not theirs to read.
    login(client, world.shipper_manager_actor)
    assert client.get(f"{API}/calendars").json == {"calendars": []}


# -- targets -----------------------------------------------------------------------------------
def test_a_target_is_added_read_changed_and_removed(carrier, kit, world):
    created = new_target(
        carrier,
        name="Damaged freight",
        conditions={"types": ["osd_damaged", "lost"], "partners": [world.shipper.id]},
        resolution_seconds=3 * 8 * 3600,
        pause_when_waiting=True,
        warn_before_seconds=1800,
        escalation={"watchers": [world.carrier_agent.id], "hand_over_to": world.carrier_agent.id},
    )
    assert created | {"id": 0, "updated_at": ""} == {
        "id": 0,
        "name": "Damaged freight",
        "position": 0,
        "enabled": True,
        "conditions": {"types": ["lost", "osd_damaged"], "partners": [world.shipper.id]},
        "first_response_seconds": 4 * 3600,
        "next_response_seconds": None,
        "resolution_seconds": 3 * 8 * 3600,
        "pause_when_waiting": True,
        "warn_before_seconds": 1800,
        "escalation": {
            "watchers": [world.carrier_agent.id],
            "hand_over_to": world.carrier_agent.id,
        },
        "updated_at": "",
        "updated_by": f"user:{world.carrier_manager.id}",
    }
    url = f"{API}/service-levels/{created['id']}"
    assert carrier.get(url).json == created
    # A change sets what it names; null clears a time and the escalation.
    changed = carrier.patch(
        url, json={"name": "Damage", "first_response_seconds": None, "escalation": None}
    )
    assert changed.status_code == 200, changed.json
    assert changed.json == created | {
        "name": "Damage",
        "first_response_seconds": None,
        "escalation": {"watchers": [], "hand_over_to": None},
    }
    kept = kit.service_levels.target(world.carrier_manager_actor, created["id"])
    assert (kept.name, kept.first_response_seconds, kept.escalation) == ("Damage", None, {})
    assert carrier.delete(url).status_code == 204
    errors_of(carrier.get(url), 404)
    errors_of(carrier.delete(url), 404)
    errors_of(carrier.patch(url, json={"name": "x"}), 404)


def test_targets_are_listed_in_the_order_they_are_tried(carrier):
    first, second = new_target(carrier, name="First"), new_target(carrier, name="Second")
    assert [t["position"] for t in (first, second)] == [0, 1]
    url = f"{API}/service-levels"
    moved = carrier.patch(f"{url}/{second['id']}", json={"position": 0})
    assert moved.status_code == 200
    carrier.patch(f"{url}/{first['id']}", json={"position": 1})
    assert [t["name"] for t in carrier.get(url).json["targets"]] == ["Second", "First"]


def test_the_clocks_follow_the_targets_set_through_the_api(carrier, kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    assert carrier.get(f"/api/v1/cases/{number}").json["clocks"] == []
    target = new_target(carrier, conditions={"types": ["lost"]})
    clocks = carrier.get(f"/api/v1/cases/{number}").json["clocks"]
    assert [(c["kind"], c["target_id"], c["target_seconds"]) for c in clocks] == [
        ("first_response", target["id"], 4 * 3600)
    ]
    carrier.patch(f"{API}/service-levels/{target['id']}", json={"enabled": False})
    assert carrier.get(f"/api/v1/cases/{number}").json["clocks"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_response_seconds": None}, "resolution_seconds"),  # no time at all
        ({"first_response_seconds": 59}, "first_response_seconds"),
        ({"first_response_seconds": 400 * 86400}, "first_response_seconds"),
        ({"first_response_seconds": 3600.5}, "first_response_seconds"),
        ({"first_response_seconds": "3600"}, "first_response_seconds"),
        ({"warn_before_seconds": None}, "warn_before_seconds"),
        ({"warn_before_seconds": -1}, "warn_before_seconds"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"enabled": "yes"}, "enabled"),
        ({"pause_when_waiting": 1}, "pause_when_waiting"),
        ({"position": -1}, "position"),
        ({"conditions": {"colours": ["red"]}}, "conditions.colours"),
        ({"conditions": {"types": ["no_such_type"]}}, "conditions.types"),
        ({"conditions": {"sources": ["fax"]}}, "conditions.sources"),
        ({"conditions": {"partners": [2**40]}}, "conditions.partners.0"),
        ({"conditions": {"types": "lost"}}, "conditions.types"),
        ({"conditions": {"brands": ["x" * 201]}}, "conditions.brands.0"),
        ({"escalation": {"watchers": [2**40]}}, "escalation.watchers.0"),
        ({"escalation": {"boss": 1}}, "escalation.boss"),
        ({"id": 5}, "id"),
    ],
)
def test_a_bad_target_is_a_400_naming_the_field(carrier, kit, world, body, field):
    response = carrier.post(
        f"{API}/service-levels", json={"name": "Same day", "first_response_seconds": 3600} | body
    )
    assert field in errors_of(response)
    assert kit.service_levels.targets(world.carrier_manager_actor) == []


def test_what_the_core_refuses_is_named_as_the_api_names_it(carrier, kit, world):
    """Organizations and users of the wrong side, named by the field of the body."""
    errors = errors_of(
        carrier.post(
            f"{API}/service-levels",
            json={
                "name": "Wrong people",
                "resolution_seconds": 3600,
                "conditions": {"partners": [world.carrier.id]},  # not a shipper
                "escalation": {
                    "watchers": [world.shipper_agent.id],  # not the carrier's
                    "hand_over_to": world.shipper_manager.id,
                },
            },
        )
    )
    assert set(errors) == {
        "conditions.partners",
        "escalation.watchers",
        "escalation.hand_over_to",
    }
    target = new_target(carrier)
    # A change that would leave no time names the last one taken away.
    errors = errors_of(
        carrier.patch(f"{API}/service-levels/{target['id']}", json={"first_response_seconds": None})
    )
    assert list(errors) == ["resolution_seconds"]
    assert kit.service_levels.target(world.carrier_manager_actor, target["id"]).name == "Same day"


def test_another_organizations_target_is_not_found(carrier, client, kit, world):
    target = new_target(carrier)
    url = f"{API}/service-levels/{target['id']}"
    login(client, world.shipper_manager_actor)
    errors_of(client.get(url), 404)
    errors_of(client.patch(url, json={"name": "Mine"}), 404)
    errors_of(client.delete(url), 404)
    assert client.get(f"{API}/service-levels").json == {"targets": []}
    assert errors_of(client.get(f"{API}/service-levels/{2**40}")) == {
        "target_id": ["an id from 1 to 2147483647"]
    }
    login(client, world.carrier_actor)  # an agent reads, never changes
    assert client.get(url).json == target
    errors_of(client.patch(url, json={"name": "Mine"}), 403)
    errors_of(client.post(f"{API}/service-levels", json={"name": "x"}), 403)
    login(client, world.customer_actor)
    errors_of(client.get(f"{API}/service-levels"), 403)
    assert kit.service_levels.target(world.carrier_manager_actor, target["id"]).name == "Same day"


def test_a_write_key_sets_targets_a_read_key_reads_them(client, kit, world, key):
    response = client.post(
        f"{API}/service-levels", json={"name": "By key", "resolution_seconds": 7200}, headers=key
    )
    assert response.status_code == 201, response.json
    assert response.json["updated_by"] == f"system:api@org:{world.carrier.id}"
    assert response.headers["Location"].endswith(f"/service-levels/{response.json['id']}")
    read = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="BI", scope="read"
    ).token
    headers = {"Authorization": f"Bearer {read}"}
    assert client.get(f"{API}/service-levels", headers=headers).json["targets"] == [response.json]
    errors_of(client.post(f"{API}/service-levels", json={"name": "x"}, headers=headers), 403)


# -- the clocks of a case ----------------------------------------------------------------------
def test_every_case_answer_and_webhook_payload_carries_the_callers_clocks(
    carrier, client, kit, world
):
    """The carrier's clocks in its answers and its webhook payloads, field for field as the
    core's view has them; the shipper's staff, its webhook and the customer see none."""
    hooks = {
        side: kit.webhooks.subscribe(
            manager, url=f"https://hooks.example.test/{side}", events=["case_opened"]
        ).webhook.id
        for side, manager in (
            ("shipper", world.shipper_manager_actor),
            ("carrier", world.carrier_manager_actor),
        )
    }
    new_target(carrier, name="Answer in four", resolution_seconds=8 * 3600)
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, customer=world.customer.id
    ).number
    view = kit.cases.get(world.carrier_manager_actor, number)
    assert [c.kind.value for c in view.clocks] == ["first_response", "resolution"]
    wire = [
        {
            name: value.isoformat()
            if hasattr(value, "isoformat")
            else getattr(value, "value", value)
            for name, value in attrs.asdict(clock, recurse=False).items()
        }
        for clock in view.clocks
    ]
    assert {f.name for f in attrs.fields(ClockView)} == set(wire[0])
    answer = carrier.get(f"/api/v1/cases/{number}").json
    assert answer["clocks"] == wire
    payload = kit.webhooks.deliveries(world.carrier_manager_actor, hooks["carrier"])[0].payload
    assert payload["case"]["clocks"] == wire
    shipper_payload = kit.webhooks.deliveries(world.shipper_manager_actor, hooks["shipper"])
    assert shipper_payload[0].payload["case"]["clocks"] == []
    login(client, world.shipper_manager_actor)
    assert client.get(f"/api/v1/cases/{number}").json["clocks"] == []
    login(client, world.customer_actor)
    assert client.get(f"/api/v1/cases/{number}").json["clocks"] == []
    # Lists and the answers of changes carry them too.
    login(client, world.carrier_actor)
    changed = client.patch(f"/api/v1/cases/{number}", json={"crm_number": "FF-1"})
    assert [c["target_name"] for c in changed.json["clocks"]] == ["Answer in four"] * 2


def test_the_openapi_document_describes_the_settings_and_the_clocks(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {
        "/api/v1/settings/calendars",
        "/api/v1/settings/calendar",
        "/api/v1/settings/calendars/{partner_org_id}",
        "/api/v1/settings/service-levels",
        "/api/v1/settings/service-levels/{target_id}",
    } <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["Clock"]["properties"]) == {f.name for f in attrs.fields(ClockView)}
    assert schemas["Case"]["properties"]["clocks"]["items"] == {
        "$ref": "#/components/schemas/Clock"
    }
    assert set(schemas["ServiceLevelCreate"]["properties"]) >= {
        "first_response_seconds",
        "next_response_seconds",
        "resolution_seconds",
        "warn_before_seconds",
        "conditions",
        "escalation",
        "pause_when_waiting",
        "position",
        "enabled",
    }
