"""The REST API's access matrix: every operation, every kind of caller.

The same visitors as the pages' matrix (test_access.py), signed in through
the host's session, plus the shipper's and carrier's API keys. A caller that
may not see a case gets a 404, never a 403 that says it exists.
"""

from __future__ import annotations

import io

import pytest
from conftest import allowed_writes, build_url, login, refusals_and_reads

from casekit import Actor, Upload
from casekit.domain.notify import TEMPLATE_NAMES

PERSONAS = (
    "own_org",
    "other_shipper",
    "case_carrier",
    "other_carrier",
    "case_customer",
    "other_customer",
    "anonymous",
    "shipper_key",
    "carrier_key",
    "read_key",
)


KEYS = {"shipper_key": 200, "carrier_key": 200, "read_key": 200}


def parties(ok: int, *, customer: int = 404, keys: dict[str, int] | None = None) -> dict[str, int]:
    """The case's parties get ``ok``; others find nothing (404); anonymous 401."""
    return {
        "own_org": ok,
        "other_shipper": 404,
        "case_carrier": ok,
        "other_carrier": 404,
        "case_customer": customer,
        "other_customer": 404,
        "anonymous": 401,
        **(keys if keys is not None else {"shipper_key": ok, "carrier_key": ok, "read_key": 403}),
    }


def anyone(ok: int, **overrides: int) -> dict[str, int]:
    """Every signed-in caller gets ``ok`` (about their own things); anonymous 401."""
    row = dict.fromkeys(PERSONAS, ok)
    row["anonymous"] = 401
    row.update(overrides)
    return row


#: Customers have no settings: their calls are refused.
CUSTOMERS_403 = {"case_customer": 403, "other_customer": 403}

# (endpoint, method) -> (JSON body, expected status per persona)
EXPECTED: dict[tuple[str, str], tuple[object, dict[str, int]]] = {
    ("casekit_api_reference.reference", "GET"): (None, dict.fromkeys(PERSONAS, 200)),
    # The reference page's stylesheet: public, like the page.
    ("casekit_api_reference.static", "GET"): (None, dict.fromkeys(PERSONAS, 200)),
    **{
        ("casekit_api_reference.missing", m): (None, dict.fromkeys(PERSONAS, 404))
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    ("casekit_api_cases.list_cases", "GET"): (None, anyone(200)),
    # Network benchmarks: each organization's staff and keys read its own; a customer has
    # none. Taking part is a manager's (or a write key's) to change.
    ("casekit_api_network.benchmarks", "GET"): (None, anyone(200, **CUSTOMERS_403)),
    ("casekit_api_network.participation", "GET"): (None, anyone(200, **CUSTOMERS_403)),
    ("casekit_api_network.set_participation", "PUT"): (
        {"participating": True},
        anyone(200, **CUSTOMERS_403, read_key=403),
    ),
    # A carrier names the shipper, a customer opens feedback with their own.
    ("casekit_api_cases.open_case", "POST"): (
        {"type": "lost", "subject": "Where is it?"},
        anyone(
            201,
            case_carrier=400,
            other_carrier=400,
            carrier_key=400,
            read_key=403,
        ),
    ),
    ("casekit_api_cases.case", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    ("casekit_api_cases.update_case", "PATCH"): (
        {"type": "osd_damaged"},
        parties(200, customer=403),
    ),
    ("casekit_api_cases.timeline", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    ("casekit_api_cases.live", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    ("casekit_api_cases.post_message", "POST"): ({"body": "hi"}, parties(201, customer=201)),
    ("casekit_api_cases.attachment", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    # The shipper shares its customer's message with the carrier; nobody else may.
    ("casekit_api_cases.share_entry", "POST"): (
        None,
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    # The shipper shares its customer's contact details with the carrier, or withdraws
    # them; nobody else may.
    ("casekit_api_cases.share_contact", "POST"): (
        None,
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    ("casekit_api_cases.withdraw_contact", "DELETE"): (
        None,
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    # Merging the case into itself: refused for its input (400) for the parties' staff (a
    # customer may not merge at all, 403); nobody else finds the case.
    ("casekit_api_cases.merge", "POST"): (
        lambda scene: {"into": scene["number"]},
        parties(400, customer=403),
    ),
    # Actions: both sides' staff read them (the customer none of them) and take the steps
    # of their side. The scene's case has the carrier's proposal waiting (a second
    # proposal is refused) and the carrier's disposition request.
    ("casekit_api_actions.list_actions", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    ("casekit_api_actions.propose_appointment", "POST"): (
        lambda scene: {"windows": [scene["window"]], "time_zone": "UTC"},
        parties(400, customer=403),
    ),
    ("casekit_api_actions.accept_appointment", "POST"): (
        {"window": 0},
        parties(200, customer=403) | {"case_carrier": 400, "carrier_key": 400},
    ),
    ("casekit_api_actions.counter_appointment", "POST"): (
        lambda scene: {"windows": [scene["window"]]},
        parties(201, customer=403) | {"case_carrier": 400, "carrier_key": 400},
    ),
    ("casekit_api_actions.withdraw_appointment", "POST"): (
        None,
        parties(200, customer=403) | {"own_org": 400, "shipper_key": 400},
    ),
    ("casekit_api_actions.request_disposition", "POST"): (
        lambda scene: {"reason": "refused", "deadline": scene["window"]["end"] + "+00:00"},
        parties(400, customer=403) | {"own_org": 403, "shipper_key": 403},
    ),
    ("casekit_api_actions.decide_disposition", "POST"): (
        {"choice": "hold", "payer": "shipper", "internal_note": "Ours"},
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    # Only the carrier, which asked, withdraws its waiting request.
    ("casekit_api_actions.withdraw_disposition", "POST"): (
        {"note": "Delivered after all"},
        parties(200, customer=403) | {"own_org": 403, "shipper_key": 403},
    ),
    # Freight claims: the scene's case has a claim the shipper filed. Both sides' staff
    # read it (the customer reads none, and no claim of its own is found); each side
    # takes its own steps (a second claim, or filing again, is refused for its input).
    ("casekit_api_claims.list_claims", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    ("casekit_api_claims.claim", "GET"): (None, parties(200, customer=404, keys=KEYS)),
    ("casekit_api_claims.draft_claim", "POST"): (
        {"lines": [{"description": "Carton", "amount": "10.00"}]},
        parties(400, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    ("casekit_api_claims.update_claim", "PATCH"): (
        {"documents": {}},
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    ("casekit_api_claims.file_claim", "POST"): (None, parties(400, customer=403)),
    ("casekit_api_claims.acknowledge_claim", "POST"): (
        {"reference": "FC-1"},
        parties(200, customer=403) | {"own_org": 400, "shipper_key": 400},
    ),
    ("casekit_api_claims.pay_claim", "POST"): (
        {"amount_paid": "4.00", "reason": "Depreciation"},
        parties(200, customer=403) | {"own_org": 400, "shipper_key": 400},
    ),
    ("casekit_api_claims.decline_claim", "POST"): (
        {"reason": "Not liable"},
        parties(200, customer=403) | {"own_org": 400, "shipper_key": 400},
    ),
    # The carrier's firm settlement offer; the filed claim holds no offer for the shipper
    # to answer (its input refused), and the carrier answers none of its own.
    ("casekit_api_claims.offer_claim", "POST"): (
        {"amount_offered": "4.00", "reason": "Depreciation"},
        parties(200, customer=403) | {"own_org": 400, "shipper_key": 400},
    ),
    ("casekit_api_claims.accept_claim_offer", "POST"): (None, parties(400, customer=403)),
    ("casekit_api_claims.reject_claim_offer", "POST"): ({}, parties(400, customer=403)),
    ("casekit_api_claims.withdraw_claim", "POST"): (
        {},
        parties(200, customer=403) | {"case_carrier": 400, "carrier_key": 400},
    ),
    ("casekit_api_claims.set_valuation", "PUT"): (
        {"expected_recovery": "5.00", "note": "Ours"},
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    # Each organization's report over the claims it reads; customers have none.
    ("casekit_api_claims.claims_report", "GET"): (None, anyone(200, **CUSTOMERS_403)),
    # A shipper's claim windows: its staff read them, its managers set them; a carrier has
    # none (403), a customer neither.
    ("casekit_api_claims.claim_settings", "GET"): (
        None,
        anyone(200, **CUSTOMERS_403, case_carrier=403, other_carrier=403, carrier_key=403),
    ),
    ("casekit_api_claims.save_claim_settings", "PUT"): (
        {"rules": [{"mode": "parcel", "filing_months": 0, "filing_days": 60}]},
        anyone(
            200,
            **CUSTOMERS_403,
            case_carrier=403,
            other_carrier=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    # The shipper side's owner: only the shipper's staff set it.
    ("casekit_api_cases.set_owner", "PUT"): (
        {"user_id": None},
        parties(200, customer=403) | {"case_carrier": 403, "carrier_key": 403},
    ),
    # A user of the shipper: the carrier's staff cannot make them watch.
    ("casekit_api_cases.watch", "PUT"): (
        None,
        parties(200, customer=403) | {"case_carrier": 400, "carrier_key": 400},
    ),
    ("casekit_api_cases.unwatch", "DELETE"): (
        None,
        parties(200, customer=403) | {"case_carrier": 400, "carrier_key": 400},
    ),
    ("casekit_api_views.counts", "GET"): (None, anyone(200)),
    ("casekit_api_views.saved", "GET"): (None, anyone(200)),
    # Saved views are a user's: customers and keys have none.
    ("casekit_api_views.save", "POST"): (
        {"name": "Late", "query": {"view": "all_cases"}},
        anyone(
            201,
            case_customer=403,
            other_customer=403,
            shipper_key=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_views.update", "PATCH"): (
        {"name": "Renamed"},
        anyone(
            404,
            own_org=200,
            case_customer=403,
            other_customer=403,
            shipper_key=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_views.delete", "DELETE"): (
        None,
        anyone(404, own_org=204, read_key=403),
    ),
    # List columns are a user's: customers and keys have none.
    ("casekit_api_views.columns", "GET"): (
        None,
        anyone(
            200,
            case_customer=403,
            other_customer=403,
            shipper_key=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_views.set_columns", "PUT"): (
        {"columns": ["status"]},
        anyone(
            200,
            case_customer=403,
            other_customer=403,
            shipper_key=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    # A saved view's: its owner's own (it is not shared); others find no such view.
    ("casekit_api_views.saved_columns", "GET"): (
        None,
        anyone(
            404,
            own_org=200,
            case_customer=403,
            other_customer=403,
            shipper_key=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_views.set_saved_columns", "PUT"): (
        {"columns": ["owners"]},
        anyone(
            404,
            own_org=200,
            case_customer=403,
            other_customer=403,
            shipper_key=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    # Known values: each caller those of its own cases.
    ("casekit_api_views.known", "GET"): (None, anyone(200)),
    ("casekit_api_reports.report", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    # The actions report: staff and keys, over the cases each sees; customers have none.
    ("casekit_api_reports.action_report", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    # The shipper agent's subscriptions: theirs, or their organization's managers' (a key
    # acts as one).
    ("casekit_api_reports.subscriptions", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200),
    ),
    ("casekit_api_reports.set_subscriptions", "PATCH"): (
        {"changes": {"message_posted": False}},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_reports.collaborator_addresses", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    # The pair of the case's shipper and carrier: either side's managers (or keys).
    ("casekit_api_reports.set_collaborator_address", "PUT"): (
        lambda scene: {
            "shipper_org_id": scene["shipper_org_id"],
            "carrier_org_id": scene["carrier_org_id"],
            "side": "carrier",
            "email": "ops@fast.test",
        },
        anyone(
            200,
            other_shipper=403,
            other_carrier=403,
            case_customer=403,
            other_customer=403,
            read_key=403,
        ),
    ),
    # Each organization's own case addresses: its staff read, its managers (or an
    # admin key) edit; the scene's address is the shipper's.
    ("casekit_api_case_addresses.list_addresses", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_case_addresses.create_address", "POST"): (
        {"email": "cases@acme.test", "case_type": "lost"},
        anyone(201, case_customer=403, other_customer=403, carrier_key=403, read_key=403),
    ),
    ("casekit_api_case_addresses.get_address", "GET"): (
        None,
        anyone(
            404, own_org=200, case_customer=403, other_customer=403, shipper_key=200, read_key=200
        ),
    ),
    ("casekit_api_case_addresses.update_address", "PATCH"): (
        {"case_type": "lost", "owner_id": None},
        anyone(
            404,
            own_org=200,
            case_customer=403,
            other_customer=403,
            shipper_key=200,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_case_addresses.delete_address", "DELETE"): (
        None,
        anyone(
            404,
            own_org=204,
            case_customer=403,
            other_customer=403,
            shipper_key=204,
            carrier_key=403,
            read_key=403,
        ),
    ),
    # Facts and events: each caller about its own organization's shipments.
    ("casekit_api_shipments.upsert_shipments", "POST"): (
        {"items": [{"reference": "SHP-9"}]},
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    ("casekit_api_shipments.upsert_orders", "POST"): (
        {"items": [{"number": "ORD-9"}]},
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    ("casekit_api_shipments.record_events", "POST"): (
        {
            "items": [
                {
                    "reference": "SHP-1",
                    "status": "in_transit",
                    "occurred_at": "2026-01-04T10:00:00Z",
                }
            ]
        },
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    # Triage: the staff of the organization the mail was routed to (the shipper).
    ("casekit_api_triage.triage", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_triage.item", "GET"): (
        None,
        anyone(
            404, own_org=200, shipper_key=200, read_key=200, case_customer=403, other_customer=403
        ),
    ),
    ("casekit_api_triage.file", "POST"): (
        lambda scene: {"number": scene["number"]},
        anyone(
            404, own_org=200, shipper_key=200, read_key=403, case_customer=403, other_customer=403
        ),
    ),
    ("casekit_api_triage.open_case", "POST"): (
        {"type": "lost"},
        anyone(
            404, own_org=201, shipper_key=201, read_key=403, case_customer=403, other_customer=403
        ),
    ),
    ("casekit_api_triage.discard", "DELETE"): (
        None,
        anyone(
            404, own_org=204, shipper_key=204, read_key=403, case_customer=403, other_customer=403
        ),
    ),
    # Each organization keeps its own tags: its staff read them, its managers (and keys)
    # change them; another organization's tag is not found; customers have none.
    ("casekit_api_tags.list_tags", "GET"): (None, anyone(200, **CUSTOMERS_403)),
    ("casekit_api_tags.create_tag", "POST"): (
        {"name": "New tag", "colour": "red"},
        anyone(201, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_tags.update_tag", "PATCH"): (
        {"colour": "blue"},
        anyone(404, own_org=200, shipper_key=200, read_key=403, **CUSTOMERS_403),
    ),
    # Each organization keeps its own custom fields like its tags; a field of another
    # organization is not found (the other party reads a shared one's values on cases).
    ("casekit_api_custom_fields.list_custom_fields", "GET"): (
        None,
        anyone(200, **CUSTOMERS_403),
    ),
    ("casekit_api_custom_fields.create_custom_field", "POST"): (
        {"key": "new_field", "label": "New field", "kind": "text"},
        anyone(201, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_custom_fields.custom_field", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200, **CUSTOMERS_403),
    ),
    ("casekit_api_custom_fields.update_custom_field", "PATCH"): (
        {"label": "Renamed"},
        anyone(404, own_org=200, shipper_key=200, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_custom_fields.delete_custom_field", "DELETE"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=403, **CUSTOMERS_403),
    ),
    # Rules are a shipper's: its staff read them, its managers (and keys) change them.
    ("casekit_api_rules.list_rules", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    # A carrier has no rules: its answer names org_id.
    ("casekit_api_rules.create_rule", "POST"): (
        {"definition": {"name": "New", "exceptions": ["damaged"], "case_type": "osd_damaged"}},
        anyone(
            201,
            case_carrier=400,
            other_carrier=400,
            carrier_key=400,
            case_customer=403,
            other_customer=403,
            read_key=403,
        ),
    ),
    ("casekit_api_rules.rule", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200),
    ),
    ("casekit_api_rules.update_rule", "PATCH"): (
        {"enabled": False},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_rules.delete_rule", "DELETE"): (
        None,
        anyone(404, own_org=204, shipper_key=204, read_key=403),
    ),
    ("casekit_api_rules.dry_run", "POST"): (
        lambda scene: {"rule_id": scene["rule_id"]},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_reports.settings", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    # Carriers have no feedback portal: their answer names the field.
    ("casekit_api_reports.set_settings", "PATCH"): (
        {"feedback_portal": True},
        anyone(
            200,
            case_carrier=400,
            other_carrier=400,
            carrier_key=400,
            case_customer=403,
            other_customer=403,
            read_key=403,
        ),
    ),
    # Keys are managed by the organization's managers and its admin keys (the
    # shipper's key is one); a write or read key manages none.
    ("casekit_api_keys.list_keys", "GET"): (
        None,
        anyone(
            200,
            case_customer=403,
            other_customer=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_keys.create_key", "POST"): (
        {"name": "New", "scope": "read"},
        anyone(
            201,
            case_customer=403,
            other_customer=403,
            carrier_key=403,
            read_key=403,
        ),
    ),
    ("casekit_api_keys.revoke_key", "DELETE"): (
        None,
        anyone(
            404,
            own_org=200,
            case_customer=404,
            other_customer=404,
            shipper_key=200,
            carrier_key=403,
            read_key=403,
        ),
    ),
    # Webhooks are the organization's managers' (a key acts as one); others find nothing.
    ("casekit_api_webhooks.list_webhooks", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_webhooks.subscribe", "POST"): (
        {"url": "https://hooks.example.test/casekit", "events": ["case_opened"]},
        anyone(201, case_customer=403, other_customer=403, read_key=403),
    ),
    ("casekit_api_webhooks.webhook", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200),
    ),
    ("casekit_api_webhooks.update_webhook", "PATCH"): (
        {"description": "Renamed"},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_webhooks.delete_webhook", "DELETE"): (
        None,
        anyone(404, own_org=204, shipper_key=204, read_key=403),
    ),
    ("casekit_api_webhooks.rotate_secret", "POST"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_webhooks.webhook_deliveries", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200),
    ),
    # A case's notification log: its parties (each sees the deliveries to its own people).
    ("casekit_api_webhooks.case_deliveries", "GET"): (None, parties(200, customer=200, keys=KEYS)),
    # Templates and targets: the organization's staff read, its managers (and keys) change.
    ("casekit_api_settings.templates", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_settings.template", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_settings.set_template", "PUT"): (
        {"subject": "About {{ case.number }}", "text": "Hello"},
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    ("casekit_api_settings.reset_template", "DELETE"): (
        None,
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    ("casekit_api_settings.preview_template", "POST"): (
        {"text": "Draft"},
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    ("casekit_api_settings.targets", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_settings.set_target", "PUT"): (
        {"first_response_seconds": 3600},
        anyone(200, case_customer=403, other_customer=403, read_key=403),
    ),
    # Calendars and targets: each organization's own, its staff (and keys) read them, its
    # managers (and write keys) change them. The scene's are the shipper's: a calendar of its
    # own, one for its carrier, a target; others have none (404), or may keep a calendar
    # for the carrier only when they are a shipper (a carrier's is a 400 naming the partner).
    ("casekit_api_service_levels.calendars", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_service_levels.own_calendar", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.set_own_calendar", "PUT"): (
        {"time_zone": "Europe/Berlin", "hours": {"tue": [["09:00", "17:00"]]}},
        anyone(200, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.remove_own_calendar", "DELETE"): (
        None,
        anyone(404, own_org=204, shipper_key=204, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.partner_calendar", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.set_partner_calendar", "PUT"): (
        {"time_zone": "UTC", "hours": {"mon": [["08:00", "17:00"]]}, "share_clocks": True},
        anyone(
            200,
            case_carrier=400,
            other_carrier=400,
            carrier_key=400,
            read_key=403,
            **CUSTOMERS_403,
        ),
    ),
    ("casekit_api_service_levels.remove_partner_calendar", "DELETE"): (
        None,
        anyone(404, own_org=204, shipper_key=204, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.targets", "GET"): (
        None,
        anyone(200, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.create_target", "POST"): (
        {"name": "Within the hour", "first_response_seconds": 3600},
        anyone(201, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.target", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.update_target", "PATCH"): (
        {"resolution_seconds": 8 * 3600},
        anyone(404, own_org=200, shipper_key=200, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_service_levels.delete_target", "DELETE"): (
        None,
        anyone(404, own_org=204, shipper_key=204, read_key=403, **CUSTOMERS_403),
    ),
    # Canned replies: each organization's (the scene's is the shipper's, kept by its
    # managers and keys) and each user's own; customers have none.
    ("casekit_api_canned_replies.list_replies", "GET"): (None, anyone(200)),
    ("casekit_api_canned_replies.usage", "GET"): (None, anyone(200)),
    ("casekit_api_canned_replies.create_reply", "POST"): (
        {"title": "Thanks", "body": "Thank you.", "audience": "internal"},
        anyone(201, read_key=403, **CUSTOMERS_403),
    ),
    ("casekit_api_canned_replies.reply", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200),
    ),
    ("casekit_api_canned_replies.update_reply", "PATCH"): (
        {"title": "Thanks", "body": "Thank you.", "audience": "internal"},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_canned_replies.delete_reply", "DELETE"): (
        None,
        anyone(404, own_org=204, shipper_key=204, read_key=403),
    ),
    ("casekit_api_canned_replies.render", "POST"): (
        lambda scene: {"case": scene["number"]},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    ("casekit_api_canned_replies.apply", "POST"): (
        lambda scene: {"cases": [scene["number"]]},
        anyone(404, own_org=200, shipper_key=200, read_key=403),
    ),
    # Organizations, found by the host's key: any staff and key, never a customer.
    ("casekit_api_directory.list_organizations", "GET"): (
        None,
        anyone(400, case_customer=403, other_customer=403),
    ),
    ("casekit_api_directory.organization", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    # The directory: each organization reads its own; changes take an admin (or an admin key).
    ("casekit_api_directory.list_users", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_directory.user", "GET"): (
        None,
        anyone(404, own_org=200, shipper_key=200, read_key=200),
    ),
    ("casekit_api_directory.update_user", "PATCH"): (
        {"name": "Sam Shipper"},
        anyone(404, own_org=403, shipper_key=200, carrier_key=403, read_key=403),
    ),
    # Found by address or external_id, one of which the query must give.
    ("casekit_api_directory.list_customers", "GET"): (
        None,
        anyone(400, case_customer=403, other_customer=403),
    ),
    ("casekit_api_directory.customer", "GET"): (
        None,
        anyone(404, own_org=200, case_customer=200, shipper_key=200, read_key=200),
    ),
    ("casekit_api_directory.update_customer", "PATCH"): (
        {"name": "Casey Customer"},
        anyone(404, own_org=200, shipper_key=200, carrier_key=403, read_key=403),
    ),
    ("casekit_api_directory.changes", "GET"): (
        None,
        anyone(200, case_customer=403, other_customer=403),
    ),
    ("casekit_api_directory.sync", "POST"): ({"users": []}, anyone(403, shipper_key=200)),
}


def api_routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("casekit_api"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((rule.endpoint, method))
    return found


@pytest.fixture
def scene(kit, world, actors):
    return build_scene(kit, world, actors)


def build_scene(kit, world, actors):
    """A case with its carrier, customer, a file and a message, and one of each thing
    the API's routes name (a view, keys, a rule, a webhook, a triaged mail...)."""
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        customer=world.customer.id,
        message="Your parcel",
        audience="everyone",
        attachments=[
            Upload(filename="label.pdf", content_type="application/pdf", stream=io.BytesIO(b"%PDF"))
        ],
    )
    entry = next(e for e in kit.cases.timeline(Actor.host(), case.number) if e.attachments)
    said = kit.messages.post(world.customer_actor, case.number, "Where is my parcel?")
    view = kit.views.save(actors["own_org"], "Mine", {})
    tokens = {
        "shipper_key": kit.api_keys.create(
            actors["own_org"], org_id=world.shipper.id, name="TMS", scope="admin"
        ).token,
        "carrier_key": kit.api_keys.create(
            actors["case_carrier"], org_id=world.carrier.id, name="TMS", scope="write"
        ).token,
        "read_key": kit.api_keys.create(
            actors["own_org"], org_id=world.shipper.id, name="BI", scope="read"
        ).token,
    }
    spare = kit.api_keys.create(actors["own_org"], org_id=world.shipper.id, name="old")
    raw = (
        f"From: x@else.test\r\nTo: support@acme.test\r\nSubject: Re: [{case.number}] x\r\n"
        "Message-ID: <triage@t>\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    ).encode()
    rule = kit.rules.create(
        actors["own_org"],
        {"name": "Damaged", "exceptions": ["damaged"], "case_type": "osd_damaged"},
    )
    hook = kit.webhooks.subscribe(
        actors["own_org"], url="https://hooks.acme.test/casekit", events=["case_opened"]
    )
    triaged = kit.inbound.receive(raw)
    assert triaged.outcome == "triaged"
    # After the mail above, which it would otherwise have opened a case from.
    kit.case_addresses.add(actors["own_org"], "support@acme.test")
    calendar = {"time_zone": "America/Chicago", "hours": {"mon": [["08:00", "17:00"]]}}
    kit.service_levels.set_calendar(actors["own_org"], calendar)
    kit.service_levels.set_calendar(actors["own_org"], calendar, partner_org_id=world.carrier.id)
    target = kit.service_levels.save_target(
        actors["own_org"], {"name": "Same day", "first_response": 4 * 3600}
    )
    reply = kit.canned_replies.save(
        actors["own_org"], title="Thanks", body="Thank you.", audience="internal"
    )
    return {
        "reply_id": reply.id,
        "email": "support@acme.test",
        "number": case.number,
        "attachment_id": entry.attachments[0].id,
        "entry_id": said.id,
        "view_id": view.id,
        "filename": "casekit/reference.css",
        "field": "brand",
        "key_id": spare.key.id,
        "item_id": triaged.inbound_id,
        "rule_id": rule.id,
        "webhook_id": hook.webhook.id,
        "name": TEMPLATE_NAMES[0],
        "case_type": "lost",
        "side": "shipper",
        "user_id": world.shipper_agent.id,
        "customer_id": world.customer.id,
        "rest": "nothing-here",
        "shipper_org_id": world.shipper.id,
        "carrier_org_id": world.carrier.id,
        "org_id": world.carrier.id,
        "partner_org_id": world.carrier.id,
        "target_id": target.id,
        "tag_id": kit.tags.create(actors["own_org"], "Fragile").id,
        "field_id": kit.custom_fields.create(actors["own_org"], "dock", "Dock", "text").id,
        "tokens": tokens,
        **_actions(kit, world, case.number),
        "claim_id": _claim(kit, world, case.number),
    }


def _claim(kit, world, number: str) -> int:
    """A freight claim the shipper filed on the scene's case."""
    drafted = kit.claims.draft(
        world.shipper_actor, number, {"lines": [{"description": "Pallet", "amount": "10.00"}]}
    )
    kit.claims.file(world.shipper_actor, number, drafted.id)
    return int(drafted.id)


def _actions(kit, world, number: str) -> dict[str, object]:
    """The carrier's proposal and disposition request on the scene's case."""
    from datetime import timedelta

    start = (kit.clock.now() + timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}
    proposed = kit.actions.propose_appointment(
        world.carrier_actor, number, [window], time_zone="UTC"
    )
    asked = kit.actions.request_disposition(
        world.carrier_actor, number, reason="damaged", deadline=kit.clock.now() + timedelta(days=2)
    )
    return {"window": window, "appointment_id": proposed.id, "disposition_id": asked.id}


def call(app, client, actors, scene, persona, endpoint, method, body):
    headers = {}
    if persona in scene["tokens"]:
        headers["Authorization"] = f"Bearer {scene['tokens'][persona]}"
        login(client, None)
    else:
        login(client, actors.get(persona))
    url = build_url(app, endpoint, scene)
    if endpoint == "casekit_api_reports.report":
        url += "?from=2026-01-01&to=2026-01-31"
    if callable(body):
        body = body(scene)
    response = client.open(url, method=method, json=body, headers=headers)
    response.get_data()
    response.close()
    return response


def test_every_operation_has_an_expectation(app):
    assert api_routes(app) == set(EXPECTED)


WRITES = allowed_writes(EXPECTED, PERSONAS)


def check(app, client, actors, scene, route, persona) -> str | None:
    """What is wrong with ``persona``'s call of ``route``, or None."""
    endpoint, method = route
    body, expected = EXPECTED[route]
    response = call(app, client, actors, scene, persona, endpoint, method, body)
    if response.status_code != expected[persona]:
        return (
            f"{persona}: {response.status_code}, not {expected[persona]}: {response.data[:300]!r}"
        )
    if response.status_code >= 400 and not (
        response.mimetype == "application/problem+json"
        and response.json["status"] == response.status_code
    ):
        return f"{persona}: a {response.status_code} that is no problem document"
    # Whoever is not a party never sees the case, not even in a list.
    if (
        persona in ("other_shipper", "other_carrier", "other_customer")
        and response.status_code < 300
        and scene["number"].encode() in response.data
    ):
        return f"{persona}: the answer names the case"
    return None


@pytest.fixture(scope="class")
def shared_scene(shared):
    return build_scene(shared.kit, shared.world, shared.actors)


class TestReadsAndRefusals:
    """The reads and the refused writes change nothing: one scene serves them all."""

    @pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[1]} {r[0]}")
    def test_api_access(self, shared, shared_scene, route):
        """Every persona that reads ``route`` or is refused by it."""
        wrong = refusals_and_reads(shared, shared_scene, route, PERSONAS, WRITES, check)
        assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("route", "persona"),
    WRITES,
    ids=lambda v: f"{v[1]} {v[0]}" if isinstance(v, tuple) else v,
)
def test_api_access_allowed_writes(app, client, actors, scene, route, persona):
    """Each write a persona is allowed, on a scene of its own."""
    found = check(app, client, actors, scene, route, persona)
    assert found is None, found
