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
from conftest import allowed_writes, build_url, login, refusals_and_reads

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


def shippers(ok: int) -> dict[str, int]:
    """Staff of a shipper; a carrier's staff find nothing (a carrier's page about a carrier)."""
    return {**staff_any(ok), "case_carrier": 404, "other_carrier": 404}


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
    # Priority is both sides'; each side sets its own tags (here none of them).
    ("casekit_staff.priority", "POST"): ({"priority": "high"}, parties(302)),
    ("casekit_staff.case_tags", "POST"): ({}, parties(302)),
    # Each side sets its own custom fields (here none of them); each keeps its own list.
    ("casekit_staff.case_custom_fields", "POST"): ({}, parties(302)),
    ("casekit_staff.custom_field_settings", "GET"): ({}, staff_any(200)),
    ("casekit_staff.custom_field_settings", "POST"): (
        {"label": "New field", "key": "new_field", "kind": "text"},
        staff_any(302),
    ),
    # Merging: the confirmation is the parties' staff's; a merge into the case itself is
    # refused for its input (the case is unchanged), found by nobody else.
    ("casekit_staff.merge_case", "GET"): ({}, parties(200)),
    ("casekit_staff.merge_case", "POST"): ({"into": "{number}"}, parties(400)),
    # Actions are the two sides': a step that is none gives them their case page again.
    ("casekit_staff.case_actions", "POST"): ({"do": "none"}, parties(400)),
    # Claims are the two sides': a step that is none gives them their case page again.
    ("casekit_staff.case_claims", "POST"): ({"do": "none"}, parties(400)),
    # Each organization keeps its own tag list.
    ("casekit_staff.tag_settings", "GET"): ({}, staff_any(200)),
    ("casekit_staff.tag_settings", "POST"): ({"name": "New tag", "colour": "red"}, staff_any(302)),
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
    # A shipper's own rules; a carrier holds none, and its managers' form is refused.
    ("casekit_staff.rules", "GET"): ({}, staff_any(200)),
    ("casekit_staff.rules", "POST"): (
        {"action": "starters"},
        {**staff_any(302), "case_carrier": 403, "other_carrier": 403},
    ),
    # One rule's page: the shipper's own; another organization finds no such rule.
    ("casekit_staff.rule", "GET"): ({}, own_org_only(200)),
    ("casekit_staff.rule", "POST"): ({"case_min_priority": "high"}, own_org_only(302)),
    # Calendars and targets: each organization's own (every staff persona here is a
    # manager). The scene's carrier is a partner of the shippers only; the scene's target
    # is the shipper's.
    ("casekit_staff.calendar", "GET"): ({}, staff_any(200)),
    ("casekit_staff.calendar", "POST"): (
        {"time_zone": "UTC", "hours-mon-0-start": "08:00", "hours-mon-0-end": "17:00"},
        staff_any(302),
    ),
    ("casekit_staff.partner_calendar", "GET"): ({}, shippers(200)),
    ("casekit_staff.partner_calendar", "POST"): (
        {"time_zone": "UTC", "hours-mon-0-start": "08:00", "hours-mon-0-end": "17:00"},
        shippers(302),
    ),
    ("casekit_staff.service_levels", "GET"): ({}, staff_any(200)),
    # Moving the only target down moves nothing; another organization has no such target.
    ("casekit_staff.service_levels", "POST"): (
        {"target": "{target_id}", "move": "down"},
        {**staff_any(400), "own_org": 302},
    ),
    ("casekit_staff.new_service_level", "GET"): ({}, staff_any(200)),
    ("casekit_staff.new_service_level", "POST"): (
        {"name": "Same day", "first_response_hours": "4"},
        staff_any(302),
    ),
    ("casekit_staff.service_level", "GET"): ({}, own_org_only(200)),
    ("casekit_staff.service_level", "POST"): (
        {"name": "Next day", "resolution_hours": "8"},
        own_org_only(302),
    ),
    # Canned replies: any staff keeps their own (a manager the organization's); one reply
    # (the shipper's) is its organization's, used from the composer of its cases.
    ("casekit_staff.canned_replies", "GET"): ({}, staff_any(200)),
    ("casekit_staff.canned_replies", "POST"): (
        {"title": "Thanks", "body": "Thank you.", "audience": "internal"},
        staff_any(302),
    ),
    ("casekit_staff.canned_reply", "GET"): ({}, own_org_only(200)),
    ("casekit_staff.canned_reply", "POST"): (
        {"title": "Thanks", "body": "Thank you.", "audience": "internal"},
        own_org_only(302),
    ),
    ("casekit_staff.use_canned_reply", "POST"): (
        {"canned_reply": "{reply_id}", "canned_action": "insert"},
        own_org_only(200),
    ),
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
    # Network benchmarks: each organization's own figures beside the network's; a manager
    # (every staff persona here is one) opts the organization in or out.
    ("casekit_dashboard.benchmarks", "GET"): ({}, staff_any(200)),
    ("casekit_dashboard.benchmarks", "POST"): ({"participating": "yes"}, staff_any(302)),
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
    return build_scene(kit, world, actors)


@pytest.fixture(scope="class")
def shared_scene(shared):
    return build_scene(shared.kit, shared.world, shared.actors)


def build_scene(kit, world, actors):
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
    target = kit.service_levels.save_target(
        actors["own_org"], {"name": "Same day", "first_response": 4 * 3600}
    )
    reply = kit.canned_replies.save(
        actors["own_org"], title="Thanks", body="Thank you.", audience="internal"
    )
    rule = kit.rules.create(
        actors["own_org"],
        {"name": "Lost", "exceptions": ["lost"], "case_type": "lost"},
        enabled=False,
    )
    return {
        "reply_id": reply.id,
        "rule_id": rule.id,
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
        "partner_org_id": world.carrier.id,
        "target_id": target.id,
    }


WRITES = allowed_writes(EXPECTED, PERSONAS)


def check(app, client, actors, scene, route, persona) -> str | None:
    """What is wrong with ``persona``'s request of ``route``, or None."""
    endpoint, method = route
    data, expected = EXPECTED[route]
    data = {
        key: value.format(**scene)
        if value in ("{number}", "{carrier}", "{target_id}", "{reply_id}")
        else value
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


class TestReadsAndRefusals:
    """The reads and the refused posts change nothing: one scene serves them all."""

    @pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[1]} {r[0]}")
    def test_access(self, shared, shared_scene, route):
        """Every visitor that reads ``route`` or is refused by it."""
        wrong = refusals_and_reads(shared, shared_scene, route, PERSONAS, WRITES, check)
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
