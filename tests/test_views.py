"""The Case Management engine: built-in views, every filter operator, search, paging, CSV."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from casekit import Actor, InvalidInput, NotFound, PermissionDenied, ShipmentFacts
from casekit.query import listing
from casekit.query.filters import Filter, Sort
from casekit.query.listing import BuiltinView, ListQuery, months_before

#: The check that the acting user may act (casekit.store.acting), not a search statement.
ACTING_USER = re.compile(
    r"\ASELECT casekit_users\.active\s+FROM casekit_users\s+WHERE casekit_users\.id = \S+\Z"
)


def numbers(page):
    return [row.number for row in page.rows]


def listed(kit, actor, view="all_cases", *filters, **extra):
    query = {"view": view, "filters": list(filters), **extra}
    page = kit.views.list(actor, query, limit=500)
    assert kit.views.count(actor, query) == len(page.rows)
    return set(numbers(page))


def facts(ref, **values):
    return ShipmentFacts(reference=ref, **values)


@pytest.fixture
def cases(kit, world, clock):
    """Five cases with varied shipment facts; returns their numbers by name."""
    s = world.shipper_actor
    other = kit.directory.add_organization(
        Actor.host(), name="Slow Parcel", role="carrier", external_id="slow"
    )
    made = {}
    made["damaged"] = kit.cases.open(
        s,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Damaged couch",
        shipment=facts(
            "S1",
            carrier="fast",
            destination_name="John Smith",
            destination_postal_code="30301",
            origin_name="Atlanta DC",
            origin_postal_code="30336",
            po_number="PO-100",
            reference_number="R-9",
            mode="freight",
            direction="outbound",
            brand="Acme Home",
            customer_segment="VIP",
            region="South",
            tracking_number="1Z111",
            bol_number="BOL-1",
            ra_number="RA-1",
            order_number="1001",
        ),
    ).number
    clock.advance(hours=1)
    made["wismo"] = kit.cases.open(
        s,
        type="where_is_my_order",
        carrier=other.id,
        message="Where?",
        shipment=facts(
            "S2",
            carrier="slow",
            destination_name="Jane Doe",
            destination_postal_code="90210",
            po_number="PX-7",
            mode="parcel",
            direction="inbound",
            brand="Acme Kids",
            customer_segment="Regular",
            region="West",
            tracking_number="1Z222",
        ),
    ).number
    clock.advance(hours=1)
    made["bare"] = kit.cases.open(s, type="other", take_ownership=False).number
    clock.advance(hours=1)
    made["carrier_opened"] = kit.cases.open(
        world.carrier_actor,
        type="delivery_scheduling",
        shipper=world.shipper.id,
        message="Consignee unreachable",
    ).number
    clock.advance(hours=1)
    made["solved"] = kit.cases.open(s, type="lost", carrier=world.carrier.id).number
    kit.cases.solve(s, made["solved"])
    clock.advance(hours=1)
    made["other"] = other
    return made


def test_built_in_views_for_the_shipper(kit, world, cases):
    s = world.shipper_actor
    everything = {cases[k] for k in ("damaged", "wismo", "bare", "carrier_opened", "solved")}
    assert listed(kit, s, "all_cases") == everything
    assert listed(kit, s, "all_active") == everything - {cases["solved"]}
    assert listed(kit, s, "my_active") == {cases["damaged"], cases["wismo"]}
    assert listed(kit, s, "new_cases") == {cases["bare"], cases["carrier_opened"]}
    # The latest message is from the carrier only on the case the carrier opened.
    assert listed(kit, s, "recent_responses") == {cases["carrier_opened"]}
    assert listed(kit, s, "my_watched") == set()
    kit.cases.watch(s, cases["solved"])
    assert listed(kit, s, "my_watched") == {cases["solved"]}


def test_built_in_views_for_the_carrier(kit, world, cases):
    c = world.carrier_actor
    mine = {cases["damaged"], cases["carrier_opened"], cases["solved"]}
    assert listed(kit, c, "all_cases") == mine
    # New Cases: active, no owner from *my* organization, even if the shipper owns it.
    assert listed(kit, c, "new_cases") == {cases["damaged"]}
    assert listed(kit, c, "my_active") == {cases["carrier_opened"]}
    # The solved case has no message at all; the carrier's own case has its own.
    assert listed(kit, c, "recent_responses") == {cases["damaged"]}
    kit.cases.take(c, cases["damaged"])
    assert listed(kit, c, "new_cases") == set()


def test_recent_responses_ignore_internal_notes_and_include_solved(kit, world, cases):
    s, c = world.shipper_actor, world.carrier_actor
    kit.messages.post(c, cases["solved"], "Found it after all")
    kit.messages.post(s, cases["solved"], "note", audience="internal")
    assert cases["solved"] in listed(kit, s, "recent_responses")
    kit.messages.post(c, cases["damaged"], "Inspecting")
    kit.messages.post(s, cases["damaged"], "Thanks", audience="partners")
    assert cases["damaged"] not in listed(kit, s, "recent_responses")
    assert cases["damaged"] in listed(kit, c, "recent_responses")


def test_customer_sees_own_cases_only(kit, world, cases):
    customer = world.customer_actor
    assert listed(kit, customer, "all_cases") == {cases["damaged"]}
    row = kit.views.list(customer, {"view": "all_cases"}).rows[0]
    assert row.owners == ()
    assert row.crm_number is None


@pytest.mark.parametrize(
    ("now", "outside", "first_in", "inside"),
    [
        # Mid-month: the window starts on the same day 13 months earlier.
        pytest.param(
            datetime(2027, 6, 15, 9, 0, tzinfo=UTC),
            datetime(2026, 5, 14, 9, 0, tzinfo=UTC),  # 13 months and a day before
            datetime(2026, 5, 15, 9, 0, tzinfo=UTC),
            datetime(2026, 5, 17, 9, 0, tzinfo=UTC),  # 12 months and 29 days before
            id="mid-month",
        ),
        # 31 March: there is no 31 February, the window starts at the end of February.
        pytest.param(
            datetime(2027, 3, 31, 9, 0, tzinfo=UTC),
            datetime(2026, 2, 27, 9, 0, tzinfo=UTC),  # 13 months and a day before
            datetime(2026, 2, 28, 9, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 9, 0, tzinfo=UTC),  # 12 months and 29 days before
            id="month-end",
        ),
    ],
)
def test_window_of_thirteen_calendar_months(kit, world, clock, now, outside, first_in, inside):
    """The views but All Cases list the cases opened in the last 13 calendar months:
    from the same instant 13 months ago (the month's last day when that month is
    shorter), not a number of days."""
    s = world.shipper_actor
    opened = {}
    for name, at in (
        ("outside", outside),
        ("second before", first_in - timedelta(seconds=1)),
        ("first in", first_in),
        ("inside", inside),
    ):
        clock.advance(at - clock.now())
        opened[name] = kit.cases.open(s, type="other").number
    clock.advance(now - clock.now())
    assert listed(kit, s, "all_active") == {opened["first in"], opened["inside"]}
    assert kit.views.counts(s)["all_active"] == 2
    assert listed(kit, s, "all_cases") == set(opened.values())
    assert kit.views.counts(s)["all_cases"] == 4


def test_a_kept_statement_runs_with_the_time_and_actor_of_each_call(kit, world, clock, cases):
    """A list's statement is built once per kit, actor and query: the window's start,
    the cursor and the actor are not kept with it."""
    s, c = world.shipper_actor, world.carrier_actor
    active = listed(kit, s, "all_active")
    assert cases["damaged"] in active
    assert listed(kit, c, "all_active") < active  # the carrier's own, not the shipper's
    clock.advance(timedelta(days=400))
    assert listed(kit, s, "all_active") == set()
    assert listed(kit, c, "all_active") == set()
    fresh = kit.cases.open(s, type="other").number
    assert listed(kit, s, "all_active") == {fresh}
    # Page by page through a kept statement, each page after its own cursor.
    query = {"view": "all_cases"}
    first = kit.views.list(s, query, limit=2)
    second = kit.views.list(s, query, limit=2, cursor=first.next_cursor)
    third = kit.views.list(s, query, limit=2, cursor=second.next_cursor)
    assert numbers(first) + numbers(second) + numbers(third) == numbers(
        kit.views.list(s, query, limit=6)
    )
    assert numbers(kit.views.list(s, query, limit=2, cursor=first.next_cursor)) == numbers(second)


def test_kept_statements_are_bounded(kit, world, cases, monkeypatch):
    monkeypatch.setattr(listing, "MAX_STATEMENTS", 3)
    for size in range(1, 8):
        kit.views.list(world.shipper_actor, {"view": "all_cases"}, limit=size)
        assert len(kit.views.__dict__["_statements"]) <= 3
    assert numbers(kit.views.list(world.shipper_actor, {"view": "all_cases"}, limit=1))
    # A query built by hand with a list for a value cannot be a key: built each time.
    by_hand = ListQuery(view=BuiltinView.ALL_CASES, filters=(Filter("type", "in", ["lost"]),))
    assert numbers(kit.views.list(world.shipper_actor, by_hand)) == [cases["solved"]]


def f(field, op, value):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (f("destination_name", "is", "john smith"), {"damaged"}),
        (
            f("destination_name", "is_not", "John Smith"),
            {"wismo", "bare", "carrier_opened", "solved"},
        ),
        (f("destination_name", "contains", "smi"), {"damaged"}),
        (
            f("destination_name", "not_contains", "smi"),
            {"wismo", "bare", "carrier_opened", "solved"},
        ),
        (f("destination_name", "contains", "%"), set()),
        (f("origin_name", "contains", "atlanta"), {"damaged"}),
        (
            f("origin_name", "not_contains", "atlanta"),
            {"wismo", "bare", "carrier_opened", "solved"},
        ),
        (f("destination_postal_code", "starts_with", "303"), {"damaged"}),
        (
            f("destination_postal_code", "not_starts_with", "303"),
            {"wismo", "bare", "carrier_opened", "solved"},
        ),
        (f("origin_postal_code", "starts_with", "303"), {"damaged"}),
        (f("po_number", "starts_with", "po-"), {"damaged"}),
        (f("po_number", "not_starts_with", "PO"), {"wismo", "bare", "carrier_opened", "solved"}),
        (f("reference_number", "starts_with", "R-"), {"damaged"}),
        (f("brand", "in", ["Acme Home", "Acme Kids"]), {"damaged", "wismo"}),
        (f("brand", "not_in", ["Acme Home"]), {"wismo", "bare", "carrier_opened", "solved"}),
        (f("mode", "in", ["parcel"]), {"wismo"}),
        (f("direction", "in", ["outbound"]), {"damaged"}),
        (f("customer_segment", "in", ["VIP"]), {"damaged"}),
        (f("region", "in", ["West", "South"]), {"damaged", "wismo"}),
        (f("type", "in", ["lost", "other"]), {"bare", "solved"}),
        (f("type", "not_in", ["lost", "other"]), {"damaged", "wismo", "carrier_opened"}),
        (f("status", "in", ["solved"]), {"solved"}),
        (f("category", "in", ["active"]), {"damaged", "wismo", "bare", "carrier_opened"}),
        (f("category", "not_in", ["active"]), {"solved"}),
        (f("source", "in", ["user"]), {"damaged", "wismo", "bare", "carrier_opened", "solved"}),
        (f("source", "not_in", ["user"]), set()),
    ],
)
def test_filter_operators(kit, world, cases, flt, expected):
    assert listed(kit, world.shipper_actor, "all_cases", flt) == {cases[k] for k in expected}


def test_shipment_filters_together_and_on_cases_without_a_shipment(kit, world, cases):
    """Several shipment filters ask about the same shipment; a case without one
    matches what a missing value matches."""
    s = world.shipper_actor
    west_or_south = f("region", "in", ["West", "South"])
    assert listed(kit, s, "all_cases", west_or_south, f("destination_name", "contains", "smi")) == {
        cases["damaged"]
    }
    assert listed(
        kit, s, "all_cases", west_or_south, f("destination_name", "not_contains", "smi")
    ) == {cases["wismo"]}
    assert listed(kit, s, "all_active", f("mode", "empty", True)) == {
        cases["bare"],
        cases["carrier_opened"],
    }
    assert listed(
        kit, s, "all_cases", f("region", "not_in", ["West"]), f("mode", "not_in", ["parcel"])
    ) == {cases[k] for k in ("damaged", "bare", "carrier_opened", "solved")}


def test_people_and_party_filters(kit, world, cases):
    s = world.shipper_actor
    agent = world.shipper_agent.id
    assert listed(kit, s, "all_cases", f("owner", "in", [agent])) == {
        cases["damaged"],
        cases["wismo"],
        cases["solved"],
    }
    assert listed(kit, s, "all_cases", f("owner", "not_in", [agent])) == {
        cases["bare"],
        cases["carrier_opened"],
    }
    assert listed(kit, s, "all_cases", f("carrier", "in", [cases["other"].id])) == {cases["wismo"]}
    assert listed(kit, s, "all_cases", f("carrier", "not_in", [cases["other"].id])) == {
        cases["damaged"],
        cases["bare"],
        cases["carrier_opened"],
        cases["solved"],
    }
    kit.cases.watch(s, cases["bare"], world.shipper_manager.id)
    kit.cases.watch(world.carrier_actor, cases["damaged"])
    assert listed(kit, s, "all_cases", f("watcher", "in", [world.shipper_manager.id])) == {
        cases["bare"]
    }
    # Another organization's watchers are not the shipper's to filter on.
    assert listed(kit, s, "all_cases", f("watcher", "in", [world.carrier_agent.id])) == set()
    assert listed(
        kit, world.carrier_actor, "all_cases", f("shipper", "in", [world.shipper.id])
    ) == {cases["damaged"], cases["carrier_opened"], cases["solved"]}


def test_owner_filter_reads_each_users_organization_once(kit, world, cases):
    """Colleagues are matched on the actor's side, others on the other side; a
    user's organization never changes, so the kit reads it once."""
    s = world.shipper_actor
    kit.cases.take(world.carrier_actor, cases["damaged"])
    assert listed(kit, s, "all_cases")  # the organization's role, read once too
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    both = f("owner", "in", [world.carrier_agent.id, world.shipper_agent.id])
    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        first = listed(kit, s, "all_cases", both)
        reads = len(statements)
        statements.clear()
        again = listed(kit, s, "all_cases", both)
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)
    assert first == again == {cases[k] for k in ("damaged", "wismo", "solved", "carrier_opened")}
    assert len(statements) == reads - 1
    carrier_only = f("owner", "in", [world.carrier_agent.id])
    assert listed(kit, s, "all_cases", carrier_only) == {cases["damaged"], cases["carrier_opened"]}


def test_latest_message_filters(kit, world, cases):
    s, mgr = world.shipper_actor, world.shipper_manager_actor
    kit.messages.post(mgr, cases["wismo"], "Chasing the carrier")
    posted_by_me = listed(kit, s, "all_cases", f("latest_message", "posted_by", "me"))
    assert posted_by_me == {cases["damaged"]}
    by_org = listed(kit, s, "all_cases", f("latest_message", "posted_by", "my_organization"))
    assert by_org == {cases["damaged"], cases["wismo"]}
    not_me = listed(kit, s, "all_cases", f("latest_message", "not_posted_by", "me"))
    assert not_me == {cases["wismo"], cases["carrier_opened"]}
    not_org = listed(kit, s, "all_cases", f("latest_message", "not_posted_by", "my_organization"))
    assert not_org == {cases["carrier_opened"]}


def test_date_filters(kit, world, clock, cases):
    s = world.shipper_actor
    start = clock.now() - timedelta(hours=5)
    window = {
        "from": (start + timedelta(minutes=30)).isoformat(),
        "to": (start + timedelta(hours=2, minutes=30)).isoformat(),
    }
    assert listed(kit, s, "all_cases", f("created_at", "between", window)) == {
        cases["wismo"],
        cases["bare"],
    }
    assert listed(kit, s, "all_cases", f("closed_at", "between", {"from": start.isoformat()})) == {
        cases["solved"]
    }
    assert listed(
        kit,
        s,
        "all_cases",
        f("latest_message_at", "between", {"to": (start + timedelta(minutes=1)).isoformat()}),
    ) == {cases["damaged"]}
    day = clock.now().date().isoformat()
    assert cases["damaged"] in listed(
        kit, s, "all_cases", f("created_at", "between", {"from": day})
    )


def test_identifier_search(kit, world, cases):
    s, c = world.shipper_actor, world.carrier_actor
    kit.cases.set_crm_number(s, cases["bare"], "ZD-555")
    kit.cases.set_crm_number(c, cases["solved"], "SF-777")
    hits = {
        "1Z111": {"damaged"},
        "BOL-1": {"damaged"},
        "PO-100": {"damaged"},
        "R-9": {"damaged"},
        "RA-1": {"damaged"},
        "1001": {"damaged"},
        "ZD-555": {"bare"},
        cases["wismo"].lower(): {"wismo"},
        "slow parcel": {"wismo"},
    }
    for text, expected in hits.items():
        assert set(numbers(kit.views.search(s, text))) == {cases[k] for k in expected}, text
    # Never through another organization's CRM number.
    assert numbers(kit.views.search(s, "SF-777")) == []
    assert numbers(kit.views.search(c, "SF-777")) == [cases["solved"]]
    assert numbers(kit.views.search(c, "ZD-555")) == []
    # A carrier finds nothing of the shipper's other carrier.
    assert numbers(kit.views.search(c, "1Z222")) == []
    with pytest.raises(InvalidInput):
        kit.views.search(s, "  ")


def test_identifier_search_takes_prefixes_in_any_case(kit, world, cases):
    s, c = world.shipper_actor, world.carrier_actor
    kit.cases.set_crm_number(s, cases["bare"], "ZD-555")
    kit.cases.set_crm_number(c, cases["solved"], "SF-777")
    hits = {
        "1z11": {"damaged"},
        "1Z": {"damaged", "wismo"},
        "bol-": {"damaged"},
        "po-1": {"damaged"},
        "px": {"wismo"},
        "r-": {"damaged"},
        "ra-1": {"damaged"},
        # The shipment's own reference.
        "s1": {"damaged"},
        "S": {"damaged", "wismo"},
        "zd": {"bare"},
        " Zd-55 ": {"bare"},
        "1z3": set(),
    }
    for text, expected in hits.items():
        assert set(numbers(kit.views.search(s, text))) == {cases[k] for k in expected}, text
    # Another organization's CRM number, even by prefix, finds nothing.
    assert numbers(kit.views.search(s, "sf")) == []
    assert numbers(kit.views.search(c, "sf-7")) == [cases["solved"]]
    assert numbers(kit.views.search(c, "zd")) == []
    assert numbers(kit.views.search(c, "1z2")) == []
    # A case number by its digits without the zeros, with or without the prefix,
    # in any case; with the zeros, as a prefix of the number itself.
    mine = [cases[k] for k in ("damaged", "wismo", "bare", "carrier_opened", "solved")]
    identifiers = {
        cases["damaged"]: ("1z111", "bol-1", "po-100", "r-9", "ra-1", "1001", "s1"),
        cases["wismo"]: ("1z222", "px-7", "s2"),
    }
    for number in mine:
        prefix, padded = number[:2], number[2:]
        digits = padded.lstrip("0")
        started = {n for n in mine if n[2:].lstrip("0").startswith(digits)}
        assert number in started
        for typed in (digits, f"{prefix}{digits}", f"{prefix.lower()}-{digits}"):
            # Digits alone may also start a tracking or order number.
            also = {n for n, keys in identifiers.items() if any(k.startswith(typed) for k in keys)}
            assert set(numbers(kit.views.search(s, typed))) == started | also, typed
        assert numbers(kit.views.search(s, number.lower())) == [number]
        assert numbers(kit.views.search(s, padded)) == [number]
        assert numbers(kit.views.search(s, f"XY{digits}")) == []
    assert set(numbers(kit.views.search(c, cases["damaged"][2:].lstrip("0")))) <= {
        cases[k] for k in ("damaged", "carrier_opened", "solved")
    }


def test_search_with_more_matches_than_it_lists_first(kit, world, cases, monkeypatch):
    # Past SEARCH_HITS matches (a carrier's name), the page reads the matches
    # as a subquery instead of a list of ids: the same cases, the same scope.
    s, c = world.shipper_actor, world.carrier_actor
    # Their organizations' roles, read once.
    assert listed(kit, s)
    assert listed(kit, c)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        # Neither PostgreSQL's page setting nor the check that the acting user
        # is not deactivated (one read per call, tested with the directory).
        if not statement.startswith("SET LOCAL") and not ACTING_USER.search(statement):
            statements.append(statement)

    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        assert numbers(kit.views.search(s, "1Z111")) == [cases["damaged"]]
        # Listed in relevance order: the identifiers' matches, a look for the words
        # (none; first whether they are common: PostgreSQL's planner's guess, a
        # bounded count on SQLite),
        # which of them pass the view and filters, then the page reads them by id.
        guess = int(kit.engine.dialect.name in ("postgresql", "sqlite"))
        assert len(statements) == 4 + guess
        assert "UNION" not in statements[-1]
        monkeypatch.setattr(listing, "SEARCH_HITS", 0)
        assert numbers(kit.views.search(s, "slow parcel")) == [cases["wismo"]]
        assert "UNION" in statements[-1]
        assert numbers(kit.views.search(s, "1Z111")) == [cases["damaged"]]
        assert numbers(kit.views.search(c, "1Z222")) == []
        assert kit.views.count(c, {"view": "all_cases", "search": "1Z222"}) == 0
        assert "UNION" in statements[-1]
        # Nothing matches: the page and the count need no statement after the matches'
        # two (identifiers, words) and the guess.
        statements.clear()
        assert numbers(kit.views.search(s, "NO-SUCH-ID")) == []
        assert kit.views.count(s, {"view": "all_cases", "search": "NO-SUCH-ID"}) == 0
        assert len(statements) == 4 + 2 * guess
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)


def test_sorting_and_keyset_paging(kit, world, clock, cases):
    s = world.shipper_actor
    everything = [cases[k] for k in ("damaged", "wismo", "bare", "carrier_opened", "solved")]
    for field, descending in (("created_at", True), ("number", False), ("updated_at", True)):
        query = ListQuery(view=BuiltinView.ALL_CASES, sort=Sort(field, descending))
        seen, cursor = [], None
        while True:
            page = kit.views.list(s, query, limit=2, cursor=cursor)
            seen += numbers(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        full = numbers(kit.views.list(s, query, limit=50))
        assert seen == full
        assert sorted(seen) == sorted(everything)
    by_number = numbers(
        kit.views.list(s, {"view": "all_cases", "sort": {"field": "number", "direction": "asc"}})
    )
    assert by_number == everything


def test_paging_over_nullable_sorts(kit, world, cases):
    s = world.shipper_actor
    for field in ("latest_message_at", "closed_at"):
        for direction in ("asc", "desc"):
            query = {"view": "all_cases", "sort": {"field": field, "direction": direction}}
            full = numbers(kit.views.list(s, query, limit=50))
            seen, cursor = [], None
            while True:
                page = kit.views.list(s, query, limit=1, cursor=cursor)
                seen += numbers(page)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen == full, (field, direction)
            assert len(full) == 5
    solved_first = numbers(kit.views.list(s, {"view": "all_cases", "sort": {"field": "closed_at"}}))
    assert solved_first[0] == cases["solved"]


def test_list_columns(kit, world, cases):
    s = world.shipper_actor
    kit.cases.set_crm_number(s, cases["damaged"], "ZD-1")
    kit.cases.set_crm_number(world.carrier_actor, cases["damaged"], "SF-1")
    kit.messages.post(s, cases["damaged"], "secret " * 50, audience="internal")
    row = next(
        r for r in kit.views.list(s, {"view": "all_cases"}).rows if r.number == cases["damaged"]
    )
    assert row.crm_number == "ZD-1"
    assert row.account == world.carrier.name
    assert row.owners == (world.shipper_agent.name,)
    assert (row.brand, row.tracking_number, row.bol_number, row.po_number) == (
        "Acme Home",
        "1Z111",
        "BOL-1",
        "PO-100",
    )
    assert (row.reference_number, row.ra_number, row.order_number) == ("R-9", "RA-1", "1001")
    assert row.latest_message_excerpt.startswith("secret")
    assert len(row.latest_message_excerpt) <= 160
    carrier_row = next(
        r
        for r in kit.views.list(world.carrier_actor, {"view": "all_cases"}).rows
        if r.number == cases["damaged"]
    )
    assert carrier_row.crm_number == "SF-1"
    assert carrier_row.account == world.shipper.name
    assert carrier_row.latest_message_excerpt == "Damaged couch"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"view": "everything"}, "view"),
        ({"version": 2}, "version"),
        ({"colour": "red"}, "colour"),
        ({"filters": [f("flavour", "in", ["x"])]}, "filters.0.field"),
        ({"filters": [f("brand", "contains", "x")]}, "filters.0.op"),
        ({"filters": [f("mode", "in", ["boat"])]}, "filters.0.value"),
        ({"filters": [f("owner", "in", ["bob"])]}, "filters.0.value"),
        # Ids outside the databases' integer columns (a 500 on SQLite and PostgreSQL before).
        ({"filters": [f("carrier", "in", [2**70])]}, "filters.0.value"),
        ({"filters": [f("owner", "in", [2**31])]}, "filters.0.value"),
        ({"filters": [f("watcher", "in", [0])]}, "filters.0.value"),
        # Times whose UTC moment is outside years 1 to 9999 (an OverflowError before).
        (
            {"filters": [f("created_at", "between", {"to": "9999-12-31T23:59:59-14:00"})]},
            "filters.0.value",
        ),
        (
            {"filters": [f("created_at", "between", {"from": "0001-01-01T00:00:00+14:00"})]},
            "filters.0.value",
        ),
        ({"filters": [f("created_at", "between", {"from": "yesterday"})]}, "filters.0.value"),
        ({"filters": [f("created_at", "between", {"from": [["2026-01-01"]]})]}, "filters.0.value"),
        ({"filters": [f("created_at", "between", {"to": {"at": 1}})]}, "filters.0.value"),
        (
            {"filters": [f("created_at", "between", {"from": "2026-01-01T00:00:00"})]},
            "filters.0.value",
        ),
        ({"filters": [f("latest_message", "posted_by", "you")]}, "filters.0.value"),
        ({"filters": [{"field": "brand", "op": "in"}]}, "filters.0.value"),
        ({"sort": {"field": "colour"}}, "sort.field"),
        ({"columns": ["number", "secret"]}, "columns.1"),
    ],
)
def test_bad_queries_name_the_field(kit, world, query, field):
    with pytest.raises(InvalidInput) as error:
        kit.views.list(world.shipper_actor, query)
    assert field in error.value.errors


def test_bad_cursor(kit, world, cases):
    with pytest.raises(InvalidInput) as error:
        kit.views.list(world.shipper_actor, {"view": "all_cases"}, cursor="garbage")
    assert "cursor" in error.value.errors
    page = kit.views.list(world.shipper_actor, {"view": "all_cases"}, limit=1)
    with pytest.raises(InvalidInput):
        kit.views.list(
            world.shipper_actor,
            {"view": "all_cases", "sort": {"field": "updated_at"}},
            cursor=page.next_cursor,
        )


def test_a_deeply_nested_cursor_is_a_bad_cursor(kit, world):
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    with pytest.raises(InvalidInput) as error:
        kit.views.list(world.shipper_actor, {"view": "all_cases"}, cursor=deep)
    assert "cursor" in error.value.errors


def test_csv_export_is_scoped(kit, world, cases):
    text = "".join(kit.views.export_csv(world.carrier_actor, {"view": "all_cases"}))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["number", "status", "type"]
    assert {r[0] for r in rows[1:]} == {cases["damaged"], cases["carrier_opened"], cases["solved"]}
    custom = "".join(
        kit.views.export_csv(
            world.shipper_actor, {"view": "all_cases", "columns": ["number", "brand"]}
        )
    )
    assert custom.splitlines()[0] == "number,brand"


FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tcmd", "\rcmd")


def test_csv_export_neutralises_formulas(kit, world):
    reply, crm, brand, tracking, po, reference = FORMULAS
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        customer=world.customer.id,
        shipment=facts(
            "SHP-F",
            shipper="acme",
            brand=brand,
            tracking_number=tracking,
            po_number=po,
            reference_number=reference,
        ),
    )
    kit.messages.post(world.customer_actor, case.number, reply)
    kit.cases.set_crm_number(world.shipper_actor, case.number, crm)
    columns = [
        "number",
        "latest_message_excerpt",
        "crm_number",
        "brand",
        "tracking_number",
        "po_number",
        "reference_number",
    ]
    text = "".join(
        kit.views.export_csv(world.shipper_actor, {"view": "all_cases", "columns": columns})
    )
    header, row = list(csv.reader(io.StringIO(text, newline="")))
    assert header == columns
    assert row[1:] == ["'" + value for value in FORMULAS]


def test_badge_counts_equal_each_views_own_count(kit, world, cases, clock):
    actors = (
        world.shipper_actor,
        world.shipper_manager_actor,
        world.carrier_actor,
        world.customer_actor,
        Actor.host(),
    )

    def check() -> None:
        for actor in actors:
            counts = kit.views.counts(actor)
            for view in BuiltinView:
                assert counts[view.value] == kit.views.count(actor, {"view": view.value}), (
                    actor,
                    view,
                )

    check()
    kit.cases.watch(world.shipper_actor, cases["damaged"])
    clock.advance(days=400)  # the cases so far fall out of the window but for All Cases
    fresh = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    kit.cases.watch(world.shipper_actor, fresh.number)
    kit.messages.post(world.carrier_actor, fresh.number, "on it")
    check()
    assert kit.views.counts(world.shipper_actor)["all_cases"] == 6
    assert kit.views.counts(world.shipper_actor)["my_watched"] == 1


def test_counts_for_badges(kit, world, cases):
    counts = kit.views.counts(world.shipper_actor)
    assert counts["all_cases"] == 5
    assert counts["all_active"] == 4
    assert counts["new_cases"] == 2
    view = kit.views.save(
        world.shipper_actor,
        "Freight",
        {"view": "all_cases", "filters": [f("mode", "in", ["freight"])]},
    )
    assert kit.views.counts(world.shipper_actor)[f"saved:{view.id}"] == 1


def test_saved_views(kit, world, cases):
    s, mgr = world.shipper_actor, world.shipper_manager_actor
    mine = kit.views.save(
        s, "  My   VIPs ", {"view": "all_active", "filters": [f("customer_segment", "in", ["VIP"])]}
    )
    assert mine.name == "My VIPs"
    assert [v.name for v in kit.views.saved(s)] == ["My VIPs"]
    assert kit.views.saved(mgr) == []
    assert kit.views.saved(world.carrier_actor) == []
    with pytest.raises(InvalidInput):
        kit.views.save(s, "My VIPs", {})
    kit.views.update(s, mine.id, shared=True, name="Team VIPs")
    assert [v.name for v in kit.views.saved(mgr)] == ["Team VIPs"]
    query = kit.views.query_of(mgr, mine.id)
    assert set(numbers(kit.views.list(mgr, query))) == {cases["damaged"]}
    with pytest.raises(PermissionDenied):
        kit.views.update(mgr, mine.id, name="Mine now")
    with pytest.raises(NotFound):
        kit.views.query_of(world.carrier_actor, mine.id)
    with pytest.raises(NotFound):
        kit.views.delete(world.carrier_actor, mine.id)
    kit.views.update(s, mine.id, query={"view": "all_cases"})
    assert kit.views.query_of(s, mine.id).view is BuiltinView.ALL_CASES
    kit.views.delete(s, mine.id)
    assert kit.views.saved(s) == []
    with pytest.raises(PermissionDenied):
        kit.views.save(world.customer_actor, "x", {})
    with pytest.raises(InvalidInput):
        kit.views.save(s, " ", {})


def test_months_before():
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 13) == datetime(2025, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 1) == datetime(2025, 12, 15, tzinfo=UTC)


def test_customer_rows_date_the_latest_message_meant_for_them(kit, world, clock, cases):
    (row,) = kit.views.list(world.customer_actor, {"view": "all_cases"}).rows
    assert row.latest_message_at is None  # the opening message was for partners
    kit.messages.post(world.shipper_actor, cases["damaged"], "Sorry!", audience="everyone")
    told_at = clock.now()
    clock.advance(hours=2)
    kit.messages.post(world.carrier_actor, cases["damaged"], "Partners only")
    (row,) = kit.views.list(world.customer_actor, {"view": "all_cases"}).rows
    assert row.latest_message_at == told_at
    assert row.latest_message_excerpt == "Sorry!"
    staff_row = next(
        r
        for r in kit.views.list(world.shipper_actor, {"view": "all_cases"}).rows
        if r.number == cases["damaged"]
    )
    assert staff_row.latest_message_at == clock.now()


def test_a_partners_message_does_not_reach_the_customers_lists(kit, world, clock, cases):
    customer = world.customer_actor
    # The customer's case has only partners messages so far: nothing for them.
    assert listed(kit, customer, "recent_responses") == set()
    assert listed(kit, customer, "all_cases", f("latest_message", "not_posted_by", "me")) == set()
    kit.messages.post(customer, cases["damaged"], "Any news?")
    assert listed(kit, customer, "all_cases", f("latest_message", "posted_by", "me")) == {
        cases["damaged"]
    }
    clock.advance(hours=1)
    kit.messages.post(world.carrier_actor, cases["damaged"], "Inspecting the couch")
    # Still the customer's own message that is latest, as far as they can tell.
    assert listed(kit, customer, "recent_responses") == set()
    window = {"from": (clock.now() - timedelta(minutes=5)).isoformat()}
    assert listed(kit, customer, "all_cases", f("latest_message_at", "between", window)) == set()
    kit.messages.post(
        world.shipper_actor, cases["damaged"], "A new cover ships", audience="everyone"
    )
    assert listed(kit, customer, "recent_responses") == {cases["damaged"]}
    assert listed(kit, customer, "all_cases", f("latest_message_at", "between", window)) == {
        cases["damaged"]
    }


@pytest.mark.backends("postgresql")
def test_pages_run_without_parallel_workers_on_postgresql(kit, world, clock):
    """A page stops at its first rows: PostgreSQL plans it without workers, for
    that transaction only."""
    from sqlalchemy import text

    from casekit.query.listing import Lister

    kit.cases.open(world.shipper_actor, type="lost", message="Where is it?")
    show = text("SHOW max_parallel_workers_per_gather")
    with kit.sessions(write=False) as session:
        default = session.scalar(show)
        lister = Lister(session, world.shipper_actor, now=clock.now(), window_months=13)
        assert len(lister.page(ListQuery()).rows) == 1
        assert session.scalar(show) == "0"
        session.commit()
        assert session.scalar(show) == default
    assert default != "0"


# -- the filters the reports drill down with -----------------------------------------------


def test_empty_takes_true_and_matches_cases_without_a_value(kit, world):
    s = world.shipper_actor
    branded = kit.cases.open(
        s, type="lost", message="m", shipment=facts("E1", brand="Acme Home")
    ).number
    bare = kit.cases.open(s, type="lost", carrier=world.carrier.id, message="m").number
    assert listed(kit, s, "all_cases", {"field": "brand", "op": "empty", "value": True}) == {bare}
    assert listed(kit, s, "all_cases", {"field": "carrier", "op": "empty", "value": True}) == {
        branded
    }
    kit.cases.solve(s, bare)
    assert listed(kit, s, "all_cases", {"field": "closed_at", "op": "empty", "value": True}) == {
        branded
    }
    for bad, field in (
        ({"field": "brand", "op": "empty", "value": ["x"]}, "filters.0.value"),
        ({"field": "origin_name", "op": "empty", "value": True}, "filters.0.op"),
    ):
        with pytest.raises(InvalidInput) as caught:
            kit.views.list(s, {"filters": [bad]})
        assert field in caught.value.errors


def test_has_owner_is_the_actors_own_side(kit, world):
    s, c = world.shipper_actor, world.carrier_actor
    number = kit.cases.open(s, type="lost", carrier=world.carrier.id, message="m").number
    yes = {"field": "has_owner", "op": "in", "value": ["yes"]}
    no = {"field": "has_owner", "op": "in", "value": ["no"]}
    assert listed(kit, s, "all_cases", yes) == {number}
    assert listed(kit, c, "all_cases", no) == {number}
    assert listed(kit, c, "all_cases", {**yes, "op": "not_in"}) == {number}
    assert listed(kit, world.customer_actor, "all_cases", yes) == set()
    kit.cases.take(c, number)
    assert listed(kit, c, "all_cases", yes) == {number}


def test_solved_by_and_has_event(kit, world):
    s, m = world.shipper_actor, world.shipper_manager_actor
    number = kit.cases.open(
        s, type="lost", customer=world.customer.id, message="m", audience="everyone"
    ).number
    other = kit.cases.open(s, type="lost", message="m").number
    kit.cases.solve(m, number)
    by_manager = {"field": "solved_by", "op": "in", "value": [world.shipper_manager.id]}
    assert listed(kit, s, "all_cases", by_manager) == {number}
    assert listed(kit, s, "all_cases", {**by_manager, "op": "not_in"}) == {other}
    assert listed(kit, world.customer_actor, "all_cases", by_manager) == set()
    solved = {"field": "has_event", "op": "in", "value": ["solved"]}
    reopened = {"field": "has_event", "op": "in", "value": ["reopened"]}
    assert listed(kit, s, "all_cases", solved) == {number}
    assert listed(kit, s, "all_cases", reopened) == set()
    kit.messages.post(world.customer_actor, number, "not done")
    assert listed(kit, s, "all_cases", reopened) == {number}
    assert listed(kit, s, "all_cases", {**reopened, "op": "not_in"}) == {other}
    assert listed(kit, s, "all_cases", {"field": "has_event", "op": "empty", "value": True}) == {
        other
    }


def test_the_other_sides_latest_message_skips_every_internal_note(kit, world, clock):
    s, c = world.shipper_actor, world.carrier_actor
    start = clock.now()
    number = kit.cases.open(s, type="lost", carrier=world.carrier.id, message="m").number
    clock.advance(hours=1)
    kit.messages.post(c, number, "from the carrier")
    clock.advance(hours=1)
    kit.messages.post(c, number, "carrier's own note", audience="internal")
    kit.messages.post(s, number, "shipper's own note", audience="internal")

    def at(hours):
        return (start + timedelta(hours=hours)).isoformat()

    def window(frm, to):
        return {"field": "other_side_message_at", "op": "between", "value": {"from": frm, "to": to}}

    # For the shipper: the carrier's message at +1 h, not its note at +2 h.
    assert listed(kit, s, "all_cases", window(at(0.5), at(1.5))) == {number}
    assert listed(kit, s, "all_cases", window(at(1.5), None)) == set()
    # For the carrier: the shipper's opening message at +0 h, not its note.
    assert listed(kit, c, "all_cases", window(None, at(0.5))) == {number}
    assert listed(kit, c, "all_cases", window(at(0.5), None)) == set()
    never = {"field": "other_side_message_at", "op": "empty", "value": True}
    alone = kit.cases.open(s, type="lost", message="m").number
    assert listed(kit, s, "all_cases", never) == {alone}


def test_column_choices_per_user_and_per_saved_view(kit, world, cases):
    s, mgr = world.shipper_actor, world.shipper_manager_actor
    assert kit.views.columns(s) == listing.PAGE_COLUMNS
    chosen = kit.views.set_columns(s, ["status", "brand", "created_at", "brand"])
    assert chosen == ("number", "status", "brand", "created_at")
    assert kit.views.columns(s) == chosen
    assert kit.views.columns(mgr) == listing.PAGE_COLUMNS  # each user's own
    assert kit.views.set_columns(s, ["number", "owners"]) == ("number", "owners")
    assert kit.views.columns(s) == ("number", "owners")

    view = kit.views.save(s, "VIPs", {"view": "all_active"}, shared=True)
    # A saved view without a choice of its own shows the user's columns.
    assert kit.views.columns(s, saved=view.id) == ("number", "owners")
    assert kit.views.columns(mgr, saved=view.id) == listing.PAGE_COLUMNS
    kit.views.set_columns(mgr, ["number", "tracking_number"], saved=view.id)
    assert kit.views.columns(mgr, saved=view.id) == ("number", "tracking_number")
    assert kit.views.columns(s, saved=view.id) == ("number", "owners")
    assert kit.views.columns(mgr) == listing.PAGE_COLUMNS
    # Columns saved with the view come before the user's general choice.
    with_columns = kit.views.save(s, "Cols", {"columns": ["number", "crm_number"]})
    assert kit.views.columns(s, saved=with_columns.id) == ("number", "crm_number")

    with pytest.raises(InvalidInput) as raised:
        kit.views.set_columns(s, ["number", "secret"])
    assert "columns" in raised.value.errors
    with pytest.raises(InvalidInput):
        kit.views.set_columns(s, "number")
    with pytest.raises(NotFound):
        kit.views.set_columns(world.carrier_actor, ["number"], saved=view.id)
    with pytest.raises(NotFound):
        kit.views.columns(world.carrier_actor, saved=view.id)
    with pytest.raises(PermissionDenied):
        kit.views.set_columns(world.customer_actor, ["number"])

    kit.views.set_columns(s, None)
    assert kit.views.columns(s) == listing.PAGE_COLUMNS
    kit.views.delete(s, view.id)  # everyone's choices for it go with it
    kit.views.save(s, "Again", {})
    assert kit.views.columns(mgr) == listing.PAGE_COLUMNS
