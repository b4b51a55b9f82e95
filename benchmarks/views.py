"""Scenario ``views``: the Case Management list at scale, beside hand-written SQL floors.

``python -m benchmarks views --cases N --database-url URL [--json FILE]``
generates the data set first when the database does not hold it (see
:mod:`benchmarks.generate`), then times, for a user of the largest shipper
and for a user of the largest carrier:

- each built-in view's first page of 50 (``kit.views.list``) and its count
  (``kit.views.count``), Due Soon's soonest due first;
- ten representative filter combinations (first page), and the due filters
  (breached; due now or later; due in the next week) and the due sort;
- identifier search (``kit.views.search``) for a tracking number, a case
  number and the actor's own CRM number;
- the next page of All Cases by its keyset cursor.

Each is run 20 times after 10 warm-up runs (past psycopg's preparing a
statement on its 5th execution and PostgreSQL's choosing between a generic
and a custom plan on the 6th, one-offs of each statement in a process),
each run timing casekit and its floor one after the other (in turns first),
so that a busy moment of a shared machine weighs on both; the figures are
the median and the 95th percentile. Beside each stands a
*floor*: one hand-written SQL statement (plain text through the same engine)
that returns the same page — the same ids in the same order, with the
columns the list shows (owners' names, the account, the shipment facts, the
actor's CRM number and the latest message the actor may read) — written
knowing the actor's side, as someone tuning by hand would. The scenario
checks that casekit and the floor return the same ids (``same_ids`` is 1)
and the same counts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text

from benchmarks.common import Context, Result, percentile_ms, scenario
from benchmarks.generate import DEFAULT_CASES, Dataset, World, generated_kit
from casekit.domain.actor import Actor, ActorKind
from casekit.kit import CaseKit
from casekit.query import search
from casekit.query.listing import months_before
from casekit.store.types import UTCDateTime

NAME = "views"
RUNS = 20
WARMUP = 10
PAGE = 50
VIEWS = (
    "all_active",
    "recent_responses",
    "my_active",
    "my_watched",
    "new_cases",
    "all_cases",
    "due_soon",
)
ORDER = "c.created_at DESC, c.id DESC"


@dataclass
class Side:
    """One actor and what its floors need to know about it."""

    label: str  # "shipper" / "carrier"
    actor: Actor
    org_id: int
    column: str  # the case column naming the actor's organization
    owner: str  # the case column holding the actor's side's owner
    other: str  # the case column naming the other party
    latest: str  # the prefix of the case columns of the latest message the actor reads

    @property
    def carrier(self) -> bool:
        return self.label == "carrier"

    @property
    def status(self) -> str:
        """The case's status as the actor reads it: the carrier sees the statuses
        of the shipper's conversation with its customer as open."""
        if not self.carrier:
            return "c.status"
        return "CASE WHEN c.status IN ('reply_received', 'waiting') THEN 'open' ELSE c.status END"

    @property
    def reads(self) -> str:
        """Which entries the actor reads (``e``): not another organization's
        internal notes; for the carrier, no unshared entry for the customer."""
        staff = "(e.audience <> 'internal' OR e.org_id = :org)"
        if not self.carrier:
            return staff
        return f"{staff} AND (e.audience <> 'customer' OR e.shared_at IS NOT NULL)"


@dataclass
class Measure:
    name: str
    casekit: Callable[[], Any]
    #: None: no hand-written floor (an order computed in Python, say).
    floor: Callable[[], Any] | None
    count: bool = False


def _text(sql: str, params: dict[str, Any]) -> Any:
    stmt = text(sql)
    typed = [
        bindparam(k, type_=UTCDateTime()) for k, v in params.items() if isinstance(v, datetime)
    ]
    return stmt.bindparams(*typed) if typed else stmt


class Floors:
    """The hand-written statements."""

    def __init__(self, engine: Engine, side: Side, since: datetime, now: datetime) -> None:
        self.engine = engine
        self.side = side
        self.since = since
        self.now = now
        self.backend = engine.dialect.name

    def due_order(self, view: str) -> str:
        """The order of a page sorted by due time, soonest first: in the Due Soon
        view every case is due; elsewhere the cases without a running clock last."""
        due = f"c.{self.side.label}_due_at"
        if view == "due_soon":
            return f"{due} ASC, c.id ASC"
        return f"CASE WHEN {due} IS NULL THEN 1 ELSE 0 END, {due} ASC, c.id ASC"

    def where(self, view: str) -> tuple[str, dict[str, Any]]:
        s = self.side
        base = f"c.{s.column} = :org"
        params: dict[str, Any] = {"org": s.org_id, "since": self.since}
        if view == "due_soon":
            # The side's cases whose warning time has come; not windowed.
            return base + f" AND c.{s.label}_warn_at <= :now", {"org": s.org_id, "now": self.now}
        window = " AND c.created_at >= :since"
        active = " AND c.status <> 'solved'"
        if view == "all_active":
            return base + active + window, params
        if view == "recent_responses":
            return base + " AND " + self.latest_not_mine() + window, params
        if view == "my_active":
            params["uid"] = s.actor.user_id
            return base + active + f" AND c.{s.owner} = :uid" + window, params
        if view == "my_watched":
            params["uid"] = s.actor.user_id
            return (
                base + " AND c.id IN (SELECT w.case_id FROM casekit_watchers w "
                "WHERE w.user_id = :uid)" + window,
                params,
            )
        if view == "new_cases":
            return base + active + f" AND c.{s.owner} IS NULL" + window, params
        del params["since"]
        return base, params  # all_cases: no window

    def latest_not_mine(self) -> str:
        """The latest message the actor reads was not its organization's."""
        latest = f"c.{self.side.latest}"
        return f"{latest}_at IS NOT NULL AND ({latest}_org_id IS NULL OR {latest}_org_id <> :org)"

    def page(self, where: str, params: dict[str, Any], order: str = ORDER) -> list[int]:
        s = self.side
        due = f"c.{s.label}_due_at"
        sql = f"""
SELECT c.id, c.number, {s.status} AS status, c.type, c.source, c.subject, c.created_at,
       c.updated_at, c.solved_at, c.{s.latest}_at, c.shipper_org_id, c.carrier_org_id,
       c.shipper_owner_id, c.carrier_owner_id,
       s.brand, s.tracking_number, s.bol_number, s.po_number, s.reference_number,
       s.ra_number, COALESCE(o.number, s.order_number) AS order_number,
       (SELECT e.body FROM casekit_entries e
         WHERE e.case_id = c.id AND e.kind = 'message' AND {s.reads}
         ORDER BY e.id DESC LIMIT 1) AS excerpt,
       (SELECT u.name FROM casekit_users u WHERE u.id = c.shipper_owner_id) AS shipper_owner,
       (SELECT u.name FROM casekit_users u WHERE u.id = c.carrier_owner_id) AS carrier_owner,
       (SELECT a.name FROM casekit_organizations a WHERE a.id = c.{s.other}) AS account,
       (SELECT n.number FROM casekit_crm_numbers n
         WHERE n.case_id = c.id AND n.org_id = :org) AS crm_number,
       {due}, c.{s.label}_warn_at,
       CASE WHEN {due} IS NULL THEN NULL ELSE
         (SELECT k.time_zone FROM casekit_clocks k WHERE k.case_id = c.id
           AND k.org_id = :org AND k.state = 'running' AND k.due_at = {due} LIMIT 1)
       END AS due_time_zone
FROM (SELECT c.id FROM casekit_cases c WHERE {where} ORDER BY {order} LIMIT {PAGE + 1}) p
JOIN casekit_cases c ON c.id = p.id
LEFT JOIN casekit_shipments s ON s.id = c.shipment_id
LEFT JOIN casekit_orders o ON o.id = c.order_id
ORDER BY {order}"""
        params = {**params, "org": s.org_id}
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                # As casekit runs its pages: without parallel workers (see Lister.page).
                conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            rows = conn.execute(_text(sql, params), params).all()
        return [r.id for r in rows[:PAGE]]

    def count(self, where: str, params: dict[str, Any]) -> int:
        sql = f"SELECT COUNT(*) FROM casekit_cases c WHERE {where}"
        with self.engine.connect() as conn:
            return int(conn.execute(_text(sql, params), params).scalar_one())

    def contains(self, column: str, value: str, *, prefix: bool = False) -> str:
        pattern = f"{value}%" if prefix else f"%{value}%"
        pattern = pattern.replace("'", "''")
        if self.backend == "postgresql":
            return f"{column} ILIKE '{pattern}'"
        return f"lower({column}) LIKE '{pattern.lower()}'"

    def search(self, ranges: int = 0) -> str:
        """Every identifier branch from its own index (a prefix is a range of a
        lower-cased key; a case number's digits ranges of ids), then the actor's
        cases by id."""
        number = "c2.number = :upper"
        if ranges:
            by_id = " OR ".join(f"(c2.id >= :from_{i} AND c2.id < :to_{i})" for i in range(ranges))
            number += f" OR (({by_id}) AND upper(c2.number) LIKE :letters)"
        branches = [
            f"SELECT c2.id FROM casekit_cases c2 WHERE {number}",
            "SELECT n2.case_id FROM casekit_crm_numbers n2 WHERE n2.org_id = :org "
            "AND n2.number_key >= :lower AND n2.number_key < :high",
        ]
        for name in (
            "tracking_number",
            "bol_number",
            "po_number",
            "reference_number",
            "ra_number",
            "order_number",
            "reference",
        ):
            branches.append(
                "SELECT c2.id FROM casekit_cases c2 WHERE c2.shipment_id IN "
                f"(SELECT s2.id FROM casekit_shipments s2 WHERE s2.{name}_key >= :lower "
                f"AND s2.{name}_key < :high)"
            )
        branches += [
            "SELECT c2.id FROM casekit_cases c2 WHERE c2.order_id IN "
            "(SELECT o2.id FROM casekit_orders o2 WHERE o2.number_key >= :lower "
            "AND o2.number_key < :high)",
            "SELECT c2.id FROM casekit_cases c2 WHERE c2.shipment_id IN "
            "(SELECT s2.id FROM casekit_shipments s2 WHERE s2.carrier_key = :lower)",
            "SELECT c2.id FROM casekit_cases c2 WHERE c2.carrier_org_id IN "
            "(SELECT g2.id FROM casekit_organizations g2 WHERE lower(g2.name) = :lower)",
        ]
        union = " UNION ".join(branches)
        own = f"c.{self.side.column} = :org"
        if self.backend == "postgresql":
            # The matches once (an init plan), then the actor's cases by primary key.
            return f"{own} AND c.id = ANY(ARRAY({union}))"
        return f"{own} AND c.id IN (SELECT x.id FROM ({union}) x)"


def _measures(
    kit: CaseKit, engine: Engine, side: Side, world: World, now: datetime
) -> list[Measure]:
    views = kit.views
    actor = side.actor
    since = months_before(now, kit.settings.view_window_months)
    floors = Floors(engine, side, since, now)
    out: list[Measure] = []
    prefix = side.label

    def ids(query: Any) -> Callable[[], list[int]]:
        return lambda: [r.id for r in views.list(actor, query, limit=PAGE).rows]

    for view in VIEWS:
        where, params = floors.where(view)
        order = floors.due_order(view) if view == "due_soon" else ORDER
        out.append(
            Measure(
                f"{prefix}.page.{view}",
                ids({"view": view}),
                partial(floors.page, where, params, order),
            )
        )
        out.append(
            Measure(
                f"{prefix}.count.{view}",
                partial(views.count, actor, {"view": view}),
                partial(floors.count, where, params),
                count=True,
            )
        )
    # -- ten filter combinations
    active_where, active_params = floors.where("all_active")
    all_where, all_params = floors.where("all_cases")
    with engine.connect() as conn:
        mates = _colleague(conn, side)
        others = _others(conn, side)
    brands = world.brands[world.shipper_ids[0]][:2]
    statuses = ["open"] if side.carrier else ["reply_received", "waiting"]
    status_values = ["open", "reply_received", "waiting"] if side.carrier else statuses
    from_, to = now - timedelta(days=90), now - timedelta(days=30)
    if side.column == "shipper_org_id":
        party = ("carrier", "c.carrier_org_id")
    else:
        party = ("shipper", "c.shipper_org_id")
    filters: list[tuple[str, str, list[dict[str, Any]], str, bool]] = [
        (
            "destination_name_contains",
            "all_active",
            [{"field": "destination_name", "op": "contains", "value": "smith"}],
            floors.contains("s.destination_name", "smith"),
            True,
        ),
        (
            "destination_postal_code_starts_with",
            "all_active",
            [{"field": "destination_postal_code", "op": "starts_with", "value": "30"}],
            floors.contains("s.destination_postal_code", "30", prefix=True),
            True,
        ),
        (
            "brand_in",
            "all_active",
            [{"field": "brand", "op": "in", "value": brands}],
            "s.brand IN (" + ", ".join(f"'{b}'" for b in brands) + ")",
            True,
        ),
        (
            "status_in",
            "all_cases",
            # The carrier reads the shipper's conversation with its customer as open.
            [{"field": "status", "op": "in", "value": statuses}],
            "c.status IN (" + ", ".join(f"'{v}'" for v in status_values) + ")",
            False,
        ),
        (
            "solved_created_between",
            "all_cases",
            [
                {"field": "category", "op": "in", "value": ["solved"]},
                {
                    "field": "created_at",
                    "op": "between",
                    "value": {"from": from_.isoformat(), "to": to.isoformat()},
                },
            ],
            "c.status = 'solved' AND c.created_at >= :from_ AND c.created_at < :to",
            False,
        ),
        (
            "owner_in",
            "all_active",
            [{"field": "owner", "op": "in", "value": mates}],
            f"c.{side.owner} IN (" + ", ".join(map(str, mates)) + ")",
            False,
        ),
        (
            "latest_not_by_my_org",
            "all_active",
            [{"field": "latest_message", "op": "not_posted_by", "value": "my_organization"}],
            floors.latest_not_mine(),
            False,
        ),
        (
            "mode_direction",
            "all_active",
            [
                {"field": "mode", "op": "in", "value": ["freight"]},
                {"field": "direction", "op": "in", "value": ["inbound"]},
            ],
            "s.mode = 'freight' AND s.direction = 'inbound'",
            True,
        ),
        (
            "type_in",
            "all_active",
            [{"field": "type", "op": "in", "value": ["osd_damaged", "lost"]}],
            "c.type IN ('osd_damaged', 'lost')",
            False,
        ),
        (
            f"{party[0]}_in",
            "all_active",
            [{"field": party[0], "op": "in", "value": others}],
            f"{party[1]} IN (" + ", ".join(map(str, others)) + ")",
            False,
        ),
    ]
    # -- the side's due times (casekit.query.due)
    due = f"c.{side.label}_due_at"
    filters += [
        (
            "due_state_breached",
            "all_active",
            [{"field": "due_state", "op": "in", "value": ["breached"]}],
            f"{due} < :now",
            False,
        ),
        (
            "due_state_on_track_or_due_soon",
            "all_active",
            [{"field": "due_state", "op": "in", "value": ["on_track", "due_soon"]}],
            f"{due} >= :now",
            False,
        ),
        (
            "due_at_next_week",
            "all_cases",
            [
                {
                    "field": "due_at",
                    "op": "between",
                    "value": {
                        "from": now.isoformat(),
                        "to": (now + timedelta(days=7)).isoformat(),
                    },
                }
            ],
            f"{due} >= :now AND {due} < :week",
            False,
        ),
    ]
    for label, view, spec, extra, shipment in filters:
        base, params = (
            (active_where, active_params) if view == "all_active" else (all_where, all_params)
        )
        params = {**params, "from_": from_, "to": to} if ":from_" in extra else params
        if ":now" in extra:
            params = {**params, "now": now}
        if ":week" in extra:
            params = {**params, "week": now + timedelta(days=7)}
        if shipment:
            # Asked of each case's shipment as the list walks its index: joined,
            # the planner may misjudge how many shipments match and read them all.
            extra = f"(SELECT {extra} FROM casekit_shipments s WHERE s.id = c.shipment_id)"
        out.append(
            Measure(
                f"{prefix}.filter.{label}",
                ids({"view": view, "filters": spec}),
                partial(floors.page, f"{base} AND {extra}", params),
            )
        )
    # -- the due sort: All Active, soonest due first, no running clock last
    out.append(
        Measure(
            f"{prefix}.sort.due_at",
            ids({"view": "all_active", "sort": {"field": "due_at", "direction": "asc"}}),
            partial(floors.page, active_where, active_params, floors.due_order("all_active")),
        )
    )
    # -- identifier search
    with engine.connect() as conn:
        samples = _search_samples(conn, side)
    for label, value in samples.items():
        params, ranges = search_params(side.org_id, value)
        out.append(
            Measure(
                f"{prefix}.search.{label}",
                partial(_search_ids, kit, actor, value),
                partial(floors.page, floors.search(ranges), params),
            )
        )
    # -- the next page by keyset (All Cases: it always has a second page)
    first = views.list(actor, {"view": "all_cases"}, limit=PAGE)
    cursor = first.next_cursor
    if cursor is not None:
        last = first.rows[-1]
        keyset = {**all_params, "after_at": last.created_at, "after_id": last.id}
        out.append(
            Measure(
                f"{prefix}.next_page.all_cases",
                partial(_next_ids, kit, actor, cursor),
                partial(
                    floors.page,
                    all_where + " AND (c.created_at < :after_at OR "
                    "(c.created_at = :after_at AND c.id < :after_id))",
                    keyset,
                ),
            )
        )
    return out


def search_params(org_id: int, value: str) -> tuple[dict[str, Any], int]:
    """The identifier floor's values for ``value`` (the prefix's range, the case
    number's id ranges) and how many id ranges it has."""
    low, high = search.prefix_range(value)
    letters, ranges = search.number_ranges(value)
    params: dict[str, Any] = {
        "org": org_id,
        "upper": value.strip().upper(),
        "lower": low,
        "high": high,
        "letters": f"{letters}%",
    }
    for i, (start, end) in enumerate(ranges):
        params[f"from_{i}"], params[f"to_{i}"] = start, end
    return params, len(ranges)


def _next_ids(kit: CaseKit, actor: Actor, cursor: str) -> list[int]:
    return [r.id for r in kit.views.list(actor, {"view": "all_cases"}, cursor=cursor).rows]


def _search_ids(kit: CaseKit, actor: Actor, value: str) -> list[int]:
    return [r.id for r in kit.views.search(actor, value, limit=PAGE).rows]


def _colleague(conn: Connection, side: Side) -> list[int]:
    """The actor and the colleague owning most of its side's cases."""
    row = conn.execute(
        text(
            f"SELECT c.{side.owner} FROM casekit_cases c WHERE c.{side.column} = :org "
            f"AND c.{side.owner} IS NOT NULL AND c.{side.owner} <> :uid "
            f"GROUP BY c.{side.owner} ORDER BY COUNT(*) DESC, c.{side.owner} LIMIT 1"
        ),
        {"org": side.org_id, "uid": side.actor.user_id},
    ).scalar_one()
    return [int(side.actor.user_id or 0), int(row)]


def _others(conn: Connection, side: Side) -> list[int]:
    """The two organizations of the other side the actor shares most cases with."""
    other = "carrier_org_id" if side.column == "shipper_org_id" else "shipper_org_id"
    rows = conn.execute(
        text(
            f"SELECT c.{other} FROM casekit_cases c WHERE c.{side.column} = :org "
            f"AND c.{other} IS NOT NULL GROUP BY c.{other} ORDER BY COUNT(*) DESC, c.{other} "
            "LIMIT 2"
        ),
        {"org": side.org_id},
    ).scalars()
    return [int(r) for r in rows]


def _search_samples(conn: Connection, side: Side) -> dict[str, str]:
    """A tracking number, a case number and a CRM number of the actor's cases."""
    middle = conn.execute(
        text(f"SELECT MAX(c.id) FROM casekit_cases c WHERE c.{side.column} = :org"),
        {"org": side.org_id},
    ).scalar_one()
    row = conn.execute(
        text(
            "SELECT c.number, s.tracking_number FROM casekit_cases c "
            "JOIN casekit_shipments s ON s.id = c.shipment_id "
            f"WHERE c.{side.column} = :org AND c.id <= :mid ORDER BY c.id DESC LIMIT 1"
        ),
        {"org": side.org_id, "mid": int(middle * 0.7)},
    ).one()
    crm = conn.execute(
        text(
            "SELECT n.number FROM casekit_crm_numbers n WHERE n.org_id = :org "
            "AND n.case_id <= :mid ORDER BY n.case_id DESC LIMIT 1"
        ),
        {"org": side.org_id, "mid": int(middle * 0.5)},
    ).scalar_one()
    return {"tracking": row.tracking_number, "case_number": row.number, "crm_number": crm}


def _time(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


def _time_side_by_side(
    ours: Callable[[], Any], floor: Callable[[], Any], runs: int
) -> tuple[list[float], Any, list[float], Any]:
    """Each run times casekit and the floor one after the other, in turns first,
    so that a busy moment of a shared machine falls on both alike."""
    our_samples: list[float] = []
    floor_samples: list[float] = []
    value = expected = None
    for run in range(runs):
        pair = ((ours, our_samples), (floor, floor_samples))
        for fn, samples in pair if run % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            result = fn()
            samples.append(time.perf_counter() - start)
            if fn is ours:
                value = result
            else:
                expected = result
    return our_samples, value, floor_samples, expected


def measure(measures: list[Measure], ctx: Context, runs: int = RUNS) -> list[Result]:
    results: list[Result] = []
    for m in measures:
        _time(m.casekit, WARMUP)
        if m.floor is None:
            samples, value = _time(m.casekit, runs)
            p50_ms = statistics.median(samples) * 1000
            results.append(Result(m.name, "p50_ms", round(p50_ms, 3)))
            results.append(Result(m.name, "p95_ms", round(percentile_ms(samples, 0.95), 3)))
            results.append(
                Result(m.name, "count" if m.count else "rows", value if m.count else len(value))
            )
            ctx.log(f"{m.name}: p50 {p50_ms:.1f} ms (no floor)")
            continue
        _time(m.floor, WARMUP)
        ours, value, floor, expected = _time_side_by_side(m.casekit, m.floor, runs)
        same = value == expected
        if not same:
            ctx.log(f"{m.name}: casekit and the floor differ: {value!r:.200} != {expected!r:.200}")
        p50 = (statistics.median(ours) * 1000, statistics.median(floor) * 1000)
        p95 = (percentile_ms(ours, 0.95), percentile_ms(floor, 0.95))
        results.append(Result(m.name, "p50_ms", round(p50[0], 3), round(p50[1], 3)))
        results.append(Result(m.name, "p95_ms", round(p95[0], 3), round(p95[1], 3)))
        rows = value if m.count else len(value)
        floor_rows = expected if m.count else len(expected)
        results.append(Result(m.name, "count" if m.count else "rows", rows, floor_rows))
        results.append(Result(m.name, "same_ids", 1.0 if same else 0.0))
        ctx.log(f"{m.name}: p50 {p50[0]:.1f} ms (floor {p50[1]:.1f}), p95 {p95[0]:.1f} ms")
    return results


def sides(dataset: Dataset) -> list[Side]:
    shipper, carrier = dataset.largest_shipper_id, dataset.largest_carrier_id
    return [
        Side(
            "shipper",
            Actor(ActorKind.USER, user_id=dataset.users[shipper][0], org_id=shipper),
            shipper,
            "shipper_org_id",
            "shipper_owner_id",
            "carrier_org_id",
            "latest_message",
        ),
        Side(
            "carrier",
            Actor(ActorKind.USER, user_id=dataset.users[carrier][0], org_id=carrier),
            carrier,
            "carrier_org_id",
            "carrier_owner_id",
            "shipper_org_id",
            "carrier_latest_message",
        ),
    ]


@scenario(
    NAME,
    help="Case Management views, filters, search and keyset pages at scale, beside SQL floors",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    import random

    with generated_kit(ctx) as (kit, dataset, results):
        world = World(random.Random(dataset.seed), dataset.cases)
        now = dataset.anchor
        for side in sides(dataset):
            ctx.log(f"{NAME}: {side.label} user {side.actor.user_id} of org {side.org_id}")
            results += measure(_measures(kit, kit.engine, side, world, now), ctx)
    return results
