"""Every route and every kind of visitor, generated from the app's URL map.

``EXPECTED`` holds, for each endpoint and method of casekit's blueprints,
the status each visitor gets. :func:`test_every_route_has_an_expectation`
fails when a route is added without one, so no page escapes this test.
Visitors: staff of the case's shipper (``own_org``), of another shipper,
of the case's carrier, of another carrier; the case's customer, another
customer of the same shipper; and an anonymous visitor.
"""

from __future__ import annotations

import io

import pytest
from conftest import allowed_writes, login

from casekit import Actor, Upload

PERSONAS = (
    "own_org",
    "other_shipper",
    "case_carrier",
    "other_carrier",
    "case_customer",
    "other_customer",
    "anonymous",
)
PARTIES = {"own_org", "case_carrier"}


def staff_any(ok: int) -> dict[str, int]:
    """Any staff member gets ``ok`` (their own organization's data); customers 404."""
    return {
        "own_org": ok,
        "other_shipper": ok,
        "case_carrier": ok,
        "other_carrier": ok,
        "case_customer": 404,
        "other_customer": 404,
        "anonymous": 401,
    }


def parties(ok: int) -> dict[str, int]:
    """Only staff of the case's parties; everyone else finds nothing."""
    return {
        "own_org": ok,
        "other_shipper": 404,
        "case_carrier": ok,
        "other_carrier": 404,
        "case_customer": 404,
        "other_customer": 404,
        "anonymous": 401,
    }


def customers(case_customer: int, other_customer: int) -> dict[str, int]:
    return {
        "own_org": 404,
        "other_shipper": 404,
        "case_carrier": 404,
        "other_carrier": 404,
        "case_customer": case_customer,
        "other_customer": other_customer,
        "anonymous": 401,
    }


def own_org_only(ok: int) -> dict[str, int]:
    """Only staff of the organization the thing belongs to (here the case's shipper)."""
    return {**parties(ok), "case_carrier": 404}


EVERYONE_200 = dict.fromkeys(PERSONAS, 200)
# A webhook answers by its signature, whoever the session says the visitor is.
EVERYONE_403 = dict.fromkeys(PERSONAS, 403)

# (endpoint, method) -> (form data, expected status per persona)
EXPECTED: dict[tuple[str, str], tuple[dict[str, str], dict[str, int]]] = {
    ("casekit_staff.static", "GET"): ({}, EVERYONE_200),
    ("casekit_portal.static", "GET"): ({}, EVERYONE_200),
    ("casekit_staff.case_list", "GET"): ({}, staff_any(200)),
    ("casekit_staff.export_csv", "GET"): ({}, staff_any(200)),
    ("casekit_staff.save_view", "POST"): ({"name": "Another", "query": "{}"}, staff_any(302)),
    ("casekit_staff.delete_view", "POST"): (
        {},
        {**staff_any(404), "own_org": 302},
    ),
    # Each chosen case is changed or refused on its own: the answer is the list again.
    ("casekit_staff.bulk", "POST"): ({"case": "{number}", "action": "owner:me"}, staff_any(302)),
    ("casekit_staff.set_columns", "POST"): ({"column": "status"}, staff_any(302)),
    ("casekit_staff.create_case", "GET"): ({}, staff_any(200)),
    # A carrier must name the shipper: its form without one is a 400.
    ("casekit_staff.create_case", "POST"): (
        {"type": "lost"},
        {**staff_any(302), "case_carrier": 400, "other_carrier": 400},
    ),
    ("casekit_staff.settings", "GET"): ({}, staff_any(200)),
    # Carriers have no feedback portal: their managers' form is a 400.
    ("casekit_staff.settings", "POST"): (
        {"feedback_portal": "on"},
        {**staff_any(302), "case_carrier": 400, "other_carrier": 400},
    ),
    ("casekit_staff.shipment_fragment", "GET"): ({}, staff_any(200)),
    ("casekit_staff.case_page", "GET"): ({}, parties(200)),
    ("casekit_staff.post_message", "POST"): ({"body": "hi", "audience": "partners"}, parties(302)),
    # Waiting is about the shipper's conversation with its customer: not the carrier's choice.
    ("casekit_staff.change_status", "POST"): (
        {"status": "waiting"},
        {**parties(302), "case_carrier": 403},
    ),
    # The shipper shares its customer's message; the carrier may not.
    ("casekit_staff.share_entry", "POST"): ({}, {**parties(302), "case_carrier": 403}),
    # The shipper shares its customer's contact details with the carrier; the carrier may not.
    ("casekit_staff.contact_share", "POST"): ({}, {**parties(302), "case_carrier": 403}),
    ("casekit_staff.change_type", "POST"): ({"type": "osd_damaged"}, parties(302)),
    ("casekit_staff.set_owner", "POST"): ({"action": "take"}, parties(302)),
    ("casekit_staff.watchers", "POST"): ({"action": "watch"}, parties(302)),
    ("casekit_staff.crm_number", "POST"): ({"crm_number": "CRM-1"}, parties(302)),
    # The carrier is the shipper's to choose: the carrier's form is refused.
    ("casekit_staff.change_carrier", "POST"): (
        {"carrier": "{carrier}", "collaborating": "on"},
        {**parties(302), "case_carrier": 403},
    ),
    ("casekit_staff.attachment", "GET"): ({}, parties(200)),
    ("casekit_staff.live_state", "GET"): ({}, parties(200)),
    ("casekit_staff.writing", "POST"): ({"active": "1"}, parties(204)),
    ("casekit_staff.collaborator_addresses", "GET"): ({}, staff_any(200)),
    ("casekit_staff.collaborator_addresses", "POST"): ({}, staff_any(302)),
    # Each organization's own case addresses; every persona here is a manager (of its own).
    ("casekit_staff.case_addresses", "GET"): ({}, staff_any(200)),
    ("casekit_staff.case_addresses", "POST"): ({"email": "new@cases.test"}, staff_any(302)),
    ("casekit_staff.templates", "GET"): ({}, staff_any(200)),
    ("casekit_staff.edit_template", "GET"): ({}, staff_any(200)),
    ("casekit_staff.edit_template", "POST"): (
        {"action": "preview", "subject": "Case {{ case.number }}", "text": "Hello"},
        staff_any(200),
    ),
    ("casekit_staff.subscriptions", "GET"): ({}, staff_any(200)),
    ("casekit_staff.subscriptions", "POST"): ({"message_posted": "on"}, staff_any(302)),
    ("casekit_staff.triage", "GET"): ({}, staff_any(200)),
    ("casekit_staff.triage_item", "GET"): ({}, own_org_only(200)),
    ("casekit_staff.triage_original", "GET"): ({}, own_org_only(200)),
    ("casekit_staff.triage_file", "POST"): (
        {"number": "{number}", "audience": "internal"},
        own_org_only(302),
    ),
    ("casekit_staff.triage_open", "POST"): ({"type": "lost"}, own_org_only(302)),
    ("casekit_staff.triage_discard", "POST"): ({}, own_org_only(302)),
    ("casekit_inbound.mailgun", "POST"): ({"body-mime": "From: x@y.test\r\n\r\nhi"}, EVERYONE_403),
    # The dashboard counts each organization's own cases; targets are a manager's
    # (every staff persona here is one) and an agent's POST is a 403 (test_dashboard).
    ("casekit_dashboard.page", "GET"): ({}, staff_any(200)),
    ("casekit_dashboard.as_json", "GET"): ({}, staff_any(200)),
    ("casekit_dashboard.table_csv", "GET"): ({}, staff_any(200)),
    ("casekit_dashboard.targets", "GET"): ({}, staff_any(200)),
    ("casekit_dashboard.targets", "POST"): (
        {"case_type": "lost", "first_response": "4"},
        staff_any(302),
    ),
    ("casekit_portal.my_cases", "GET"): ({}, customers(200, 200)),
    ("casekit_portal.feedback", "GET"): ({}, customers(200, 200)),
    ("casekit_portal.feedback", "POST"): ({"message": "Feedback"}, customers(302, 302)),
    ("casekit_portal.case_page", "GET"): ({}, customers(200, 404)),
    ("casekit_portal.reply", "POST"): ({"body": "Thanks"}, customers(302, 404)),
    ("casekit_portal.attachment", "GET"): ({}, customers(200, 404)),
    ("casekit_portal.live_state", "GET"): ({}, customers(200, 404)),
    # For load balancers: no sign-in, no case data.
    ("casekit_health.check", "GET"): ({}, dict.fromkeys(PERSONAS, 200)),
    # A mail's unsubscribe link carries its own signed token, whoever opens it; this
    # one is forged (the real ones are followed in test_unsubscribe.py).
    ("casekit_unsubscribe.page", "GET"): ({}, dict.fromkeys(PERSONAS, 400)),
    ("casekit_unsubscribe.one_click", "POST"): (
        {"List-Unsubscribe": "One-Click"},
        dict.fromkeys(PERSONAS, 400),
    ),
    ("casekit_unsubscribe.change", "POST"): (
        {"action": "unsubscribe"},
        dict.fromkeys(PERSONAS, 400),
    ),
}


def casekit_routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        # The REST API has its own matrix, in test_api_access.py.
        if not rule.endpoint.startswith("casekit_") or rule.endpoint.startswith("casekit_api"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((rule.endpoint, method))
    return found


def test_every_route_has_an_expectation(app):
    assert casekit_routes(app) == set(EXPECTED)


@pytest.fixture
def scene(kit, world, actors):
    """One case of the shipper with its carrier and customer, a file for everyone, a saved view."""
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        customer=world.customer.id,
        message="Your parcel",
        audience="everyone",
        attachments=[
            Upload(
                filename="label.pdf", content_type="application/pdf", stream=io.BytesIO(b"%PDF-1.4")
            )
        ],
    )
    entry = next(e for e in kit.cases.timeline(Actor.host(), case.number) if e.attachments)
    said = kit.messages.post(world.customer_actor, case.number, "Where is my parcel?")
    view = kit.views.save(actors["own_org"], "Mine", {})
    # Mail naming the case from a stranger waits in the shipper's triage.
    stranger = (
        f"From: someone@else.test\r\nTo: support@acme.test\r\nSubject: Re: [{case.number}]\r\n"
        "Message-ID: <triage-1@else.test>\r\n\r\nWhere is it?\r\n"
    )
    triaged = kit.inbound.receive(stranger.encode())
    assert triaged.outcome.value == "triaged"
    return {
        "item_id": triaged.inbound_id,
        "name": "case_opened",
        "number": case.number,
        "attachment_id": entry.attachments[0].id,
        "entry_id": said.id,
        "view_id": view.id,
        "reference": "SHP-1",
        "carrier": str(world.carrier.id),
        "filename": "casekit/casekit.css",
        "table": "backlog_by_status",
        "token": "1-u1-forged0000000000",
    }


def build_url(app, endpoint: str, values: dict[str, object]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{k: values[k] for k in rule.arguments})


WRITES = allowed_writes(EXPECTED, PERSONAS)


def check(app, client, actors, scene, route, persona) -> str | None:
    """What is wrong with ``persona``'s request of ``route``, or None."""
    endpoint, method = route
    data, expected = EXPECTED[route]
    data = {
        key: value.format(**scene) if value in ("{number}", "{carrier}") else value
        for key, value in data.items()
    }
    login(client, actors.get(persona))
    url = build_url(app, endpoint, scene)
    with client.open(url, method=method, data=data) as response:
        status, body = response.status_code, response.data
    if status != expected[persona]:
        return f"{persona}: {status}, not {expected[persona]}: {body[:300]!r}"
    # Whoever is not a party never sees the case, not even in a list.
    if (
        persona not in PARTIES
        and persona != "case_customer"
        and status == 200
        and scene["number"].encode() in body
    ):
        return f"{persona}: the page names the case"
    return None


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[1]} {r[0]}")
def test_access(app, client, actors, scene, route):
    """Every visitor that reads ``route`` or is refused by it, on one scene."""
    wrong = [
        found
        for persona in PERSONAS
        if (route, persona) not in WRITES
        and (found := check(app, client, actors, scene, route, persona))
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("route", "persona"),
    WRITES,
    ids=lambda v: f"{v[1]} {v[0]}" if isinstance(v, tuple) else v,
)
def test_access_allowed_posts(app, client, actors, scene, route, persona):
    """Each form a visitor may post, on a scene of its own."""
    found = check(app, client, actors, scene, route, persona)
    assert found is None, found


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_dashboard_counts_only_the_viewers_cases(client, actors, scene, persona):
    """The scene's case counts on its parties' dashboards only; others get nothing."""
    login(client, actors.get(persona))
    response = client.get("/cases/dashboard.json")
    if persona in ("case_customer", "other_customer"):
        assert response.status_code == 404
        return
    if persona == "anonymous":
        assert response.status_code == 401
        return
    volume = next(s for s in response.get_json()["sections"] if s["name"] == "volume")
    counts = {t["key"]: t["count"] for t in volume["totals"]}
    expected = 1 if persona in PARTIES else 0
    assert counts == {"opened": expected, "solved": 0, "active": expected}
