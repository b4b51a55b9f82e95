"""Scenario ``create``: opening cases the way requests do, beside a plain-SQL floor.

Per case, four requests, each its own transaction (that is what the services
do):

1. a shipper's agent opens the case with its first message, naming the
   carrier and the customer (``kit.cases.open``);
2. the carrier's agent answers, audience ``partners`` (the case moves to
   ``open``);
3. the shipper's agent adds an internal note;
4. the shipper's agent writes to everyone (the case moves to ``waiting``).

The floor writes exactly the rows casekit wrote for such a case — the case
row, its seven timeline entries (opened, four messages, two status changes),
its two participants and the three notifications in the outbox (the shipper's
agent hears of the carrier's answer; the carrier's agent and the customer of
the message to everyone) — with SQLAlchemy Core in ONE transaction per case:
insert the case, set its number from its id, insert the entries (returning
their ids, which the notifications name), the participants and the
notifications (one statement each). After both runs the scenario checks
that the two databases hold the same rows (timestamps aside), so the floor
cannot drift away from what casekit really writes.

``create.search_indexes`` is casekit again on a database without the
full-text indexes (its floor column): what keeping the search indexes in
step costs opening a case and its three follow-ups.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update

from benchmarks.common import (
    CAL,
    CASEY,
    SAM,
    Barrier,
    Context,
    People,
    Recorder,
    Report,
    Result,
    bench_kit,
    require_new_database,
    run_workers,
    scenario,
    split,
    table_rows,
    throwaway_database,
)
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind, Source
from casekit.domain.workflow import Status
from casekit.kit import CaseKit
from casekit.settings import Settings
from casekit.store import fulltext, tables
from casekit.store.database import WRITE_OPTION, create_casekit_engine
from casekit.store.types import UTCDateTime

NAME = "create"
#: The side run on a schema without the full-text indexes (see run_side).
WITHOUT_SEARCH = "casekit_without_search"
CASE_TYPES = ("where_is_my_order", "delivery_scheduling", "osd_damaged", "lost")
# Tables a case writes to; compared between casekit's and the floor's database.
CASE_TABLES = (
    tables.cases,
    tables.entries,
    tables.participants,
    tables.watchers,
    tables.attachments,
    tables.crm_numbers,
    tables.outbox,
)
OPENING = "Where is the shipment? The customer has been waiting since Monday."
REPLY = "It left our hub this morning; delivery is planned for tomorrow 8-12."
NOTE = "Second time this month with this lane; keep an eye on it."
TO_CUSTOMER = "Good news: your order is out for delivery tomorrow morning."


# -- casekit ---------------------------------------------------------------------


def open_case(kit: CaseKit, people: People, i: int, rec: Recorder) -> str:
    """Case ``i`` as four requests; returns its number."""
    shipper, carrier = people.shipper_actor, people.carrier_actor
    with rec.part("open"):
        case = kit.cases.open(
            shipper,
            type=CASE_TYPES[i % len(CASE_TYPES)],
            carrier=people.carrier_id,
            customer=people.customer_id,
            subject=f"Shipment SHP-{i:06d}",
            message=OPENING,
        )
    number = case.number
    with rec.part("post"):
        kit.messages.post(carrier, number, REPLY, audience=Audience.PARTNERS)
    with rec.part("post"):
        kit.messages.post(shipper, number, NOTE, audience=Audience.INTERNAL)
    with rec.part("post"):
        kit.messages.post(shipper, number, TO_CUSTOMER, audience=Audience.EVERYONE)
    return number


def casekit_worker(
    url: str, people: People, warmup: range, measured: range, *, barrier: Barrier | None
) -> Report:
    """One worker's share of the cases through casekit's services."""
    with tempfile.TemporaryDirectory(prefix="casekit-bench-files-") as files:
        kit = CaseKit(
            settings=Settings(database_url=url, attachment_dir=Path(files), load_entry_points=False)
        )
        try:
            rec = Recorder(kit.engine)
            for i in warmup:
                open_case(kit, people, i, rec)
            if barrier is not None:
                barrier.wait()
            with rec.measuring():
                for i in measured:
                    with rec.unit():
                        open_case(kit, people, i, rec)
            return rec.report
        finally:
            kit.close()


# -- the floor ---------------------------------------------------------------------


def _entry(case_id: int, by: Actor, at: datetime, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case_id": case_id,
        "created_at": at,
        "actor_kind": "user",
        "org_id": by.org_id,
        "user_id": by.user_id,
        "customer_id": None,
        "system": None,
        "author_email": None,
        "body": "",
        "event": None,
        "old_value": None,
        "new_value": None,
    }
    row.update(values)
    return row


def _entries(case_id: int, people: People, i: int, at: datetime) -> list[list[dict[str, Any]]]:
    """The entry rows casekit writes for case ``i``, request by request."""
    shipper, carrier = people.shipper_actor, people.carrier_actor
    message, event = EntryKind.MESSAGE, EntryKind.EVENT
    everyone, partners = Audience.EVERYONE, Audience.PARTNERS
    changed = EventKind.STATUS_CHANGED
    e = _entry
    return [
        [
            e(case_id, shipper, at, kind=event, audience=everyone, event=EventKind.OPENED,
              new_value=CASE_TYPES[i % len(CASE_TYPES)]),
            e(case_id, shipper, at, kind=message, audience=partners, body=OPENING),
        ],
        [
            e(case_id, carrier, at, kind=message, audience=partners, body=REPLY),
            e(case_id, carrier, at, kind=event, audience=everyone, event=changed,
              old_value="new", new_value="open"),
        ],
        [e(case_id, shipper, at, kind=message, audience=Audience.INTERNAL, body=NOTE)],
        [
            e(case_id, shipper, at, kind=message, audience=everyone, body=TO_CUSTOMER),
            # The carrier sees both statuses as open: the move is the customer's.
            e(case_id, shipper, at, kind=event, audience=Audience.CUSTOMER, event=changed,
              old_value="open", new_value="waiting"),
        ],
    ]  # fmt: skip


def _participant(case_id: int, by: Actor, at: datetime) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "user_id": by.user_id,
        "customer_id": None,
        "email": None,
        "subscribed": True,
        "created_at": at,
    }


def _notification(
    case_id: int, entry_id: int, by: Actor, at: datetime, **values: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case_id": case_id,
        "entry_id": entry_id,
        "event": "message_posted",
        "template": "message_posted",
        "recipient_kind": "user",
        "user_id": None,
        "customer_id": None,
        "author_org_id": by.org_id,
        "actor": by.describe(),
        "old_value": None,
        "new_value": None,
        "status": "queued",
        "attempts": 0,
        "created_at": at,
        "next_attempt_at": at,
        "sent_at": None,
        "last_error": None,
    }
    row.update(values)
    return row


def _answer_heard(
    case_id: int, reply_id: int, people: People, at: datetime
) -> list[dict[str, Any]]:
    """The outbox row of the carrier's answer: the shipper's agent hears of it."""
    return [
        _notification(case_id, reply_id, people.carrier_actor, at,
                      user_id=people.shipper_actor.user_id, name=SAM[0], email=SAM[1],
                      org_id=people.shipper_id),
    ]  # fmt: skip


def _message_heard(
    case_id: int, message_id: int, people: People, at: datetime
) -> list[dict[str, Any]]:
    """The outbox rows of the message to everyone: the carrier's agent and the customer."""
    shipper = people.shipper_actor
    return [
        _notification(case_id, message_id, shipper, at, user_id=people.carrier_actor.user_id,
                      name=CAL[0], email=CAL[1], org_id=people.carrier_id),
        _notification(case_id, message_id, shipper, at, recipient_kind="customer",
                      customer_id=people.customer_id, name=CASEY[0], email=CASEY[1],
                      org_id=people.shipper_id),
    ]  # fmt: skip


def _case(people: People, i: int, at: datetime, **values: Any) -> dict[str, Any]:
    """The case row as opening leaves it; ``values`` move it on."""
    shipper = people.shipper_actor
    row: dict[str, Any] = {
        "number": None,
        "version": 1,  # inserted with the first message's dates already set
        "type": CASE_TYPES[i % len(CASE_TYPES)],
        "status": Status.NEW,
        "source": Source.USER,
        "subject": f"Shipment SHP-{i:06d}",
        "shipper_org_id": people.shipper_id,
        "carrier_org_id": people.carrier_id,
        "carrier_collaborating": True,
        "customer_id": people.customer_id,
        "shipment_id": None,
        "order_id": None,
        "shipper_owner_id": shipper.user_id,
        "carrier_owner_id": None,
        "created_by": shipper.describe(),
        "created_at": at,
        "updated_at": at,
        "solved_at": None,
        "solved_by": None,
        "latest_message_by_customer": False,
        "carrier_status": Status.NEW,
        "carrier_updated_at": at,
        **_latest(shipper, at),
    }
    row.update(values)
    return row


def _latest(by: Actor, at: datetime) -> dict[str, Any]:
    """The latest message columns a message by ``by`` at ``at`` for partners or
    everyone moves: what the shipper reads and what the carrier reads."""
    columns = {
        "latest_message_at": at,
        "latest_message_user_id": by.user_id,
        "latest_message_org_id": by.org_id,
    }
    return columns | {f"carrier_{name}": value for name, value in columns.items()}


# The floor's statements, built once like any careful hand-written code would.
INSERT_CASE = tables.cases.insert()
INSERT_ENTRIES = tables.entries.insert().returning(
    tables.entries.c.id, sort_by_parameter_order=True
)
INSERT_PARTICIPANTS = tables.participants.insert()
INSERT_NOTIFICATIONS = tables.outbox.insert()
# The SET clause is whatever the parameters name besides ``case_id``.
UPDATE_CASE = update(tables.cases).where(tables.cases.c.id == bindparam("case_id"))


def _insert_case(conn: Connection, row: dict[str, Any], prefix: str) -> int:
    """Insert the case and give it its number (from its id, as casekit does)."""
    key = conn.execute(INSERT_CASE, row).inserted_primary_key
    assert key is not None
    case_id: int = key[0]
    conn.execute(UPDATE_CASE, {"case_id": case_id, "number": f"{prefix}{case_id:06d}"})
    return case_id


def floor_case(engine: Engine, people: People, i: int, prefix: str) -> None:
    """The rows :func:`open_case` writes, in ONE transaction, with plain Core SQL.

    The case row is inserted as it ends (status ``waiting``, ``open`` for the
    carrier, version 4), the
    seven entries, two participants and three notifications with one statement
    each.
    """
    now = datetime.now(UTC)
    shipper, carrier = people.shipper_actor, people.carrier_actor
    with engine.begin() as conn:
        final = _case(people, i, now, version=4, status=Status.WAITING, carrier_status=Status.OPEN)
        case_id = _insert_case(conn, final, prefix)
        entries = [row for request in _entries(case_id, people, i, now) for row in request]
        entry_ids = list(conn.execute(INSERT_ENTRIES, entries).scalars())
        conn.execute(
            INSERT_PARTICIPANTS,
            [_participant(case_id, shipper, now), _participant(case_id, carrier, now)],
        )
        # The entries in order: opened, the first message, the answer, open, the
        # note, the message to everyone, waiting.
        conn.execute(
            INSERT_NOTIFICATIONS,
            _answer_heard(case_id, entry_ids[2], people, now)
            + _message_heard(case_id, entry_ids[5], people, now),
        )


def floor_case_by_request(engine: Engine, people: People, i: int, prefix: str) -> None:
    """The same rows as four requests, one transaction each, writes only (no reads).

    What casekit's four service calls write, in plain Core SQL: the lower
    bound for a design with a transaction per request.
    """
    now = datetime.now(UTC)
    shipper, carrier = people.shipper_actor, people.carrier_actor
    with engine.begin() as conn:
        case_id = _insert_case(conn, _case(people, i, now), prefix)
        requests = _entries(case_id, people, i, now)
        conn.execute(INSERT_ENTRIES, requests[0])
        conn.execute(INSERT_PARTICIPANTS, _participant(case_id, shipper, now))
    with engine.begin() as conn:
        reply_id, _ = conn.execute(INSERT_ENTRIES, requests[1]).scalars()
        conn.execute(INSERT_NOTIFICATIONS, _answer_heard(case_id, reply_id, people, now))
        conn.execute(
            UPDATE_CASE,
            {
                "case_id": case_id,
                "status": Status.OPEN,
                "carrier_status": Status.OPEN,
                "version": 2,
                "updated_at": now,
                "carrier_updated_at": now,
                **_latest(carrier, now),
            },
        )
        conn.execute(INSERT_PARTICIPANTS, _participant(case_id, carrier, now))
    with engine.begin() as conn:
        conn.execute(INSERT_ENTRIES, requests[2])
        conn.execute(UPDATE_CASE, {"case_id": case_id, "version": 3, "updated_at": now})
    with engine.begin() as conn:
        message_id, _ = conn.execute(INSERT_ENTRIES, requests[3]).scalars()
        conn.execute(INSERT_NOTIFICATIONS, _message_heard(case_id, message_id, people, now))
        conn.execute(
            UPDATE_CASE,
            {
                "case_id": case_id,
                "status": Status.WAITING,
                "version": 4,
                "updated_at": now,
                "carrier_updated_at": now,
                **_latest(shipper, now),
            },
        )


FLOORS: dict[str, Callable[[Engine, People, int, str], None]] = {
    "one_transaction": floor_case,
    "by_request": floor_case_by_request,
}


def floor_worker(
    url: str,
    people: People,
    warmup: range,
    measured: range,
    prefix: str,
    kind: str,
    *,
    barrier: Barrier | None,
) -> Report:
    """One worker's share of the cases in plain SQL, on an engine set up like casekit's."""
    floor_case = FLOORS[kind]
    engine = create_casekit_engine(url)
    writer = engine.execution_options(**{WRITE_OPTION: True})  # BEGIN IMMEDIATE on SQLite
    try:
        rec = Recorder(engine)
        for i in warmup:
            floor_case(writer, people, i, prefix)
        if barrier is not None:
            barrier.wait()
        with rec.measuring():
            for i in measured:
                with rec.unit():
                    floor_case(writer, people, i, prefix)
        return rec.report
    finally:
        engine.dispose()


# -- running both sides ---------------------------------------------------------------


def run_side(url: str, ctx: Context, side: str) -> tuple[Report, float]:
    """Set up ``url`` (schema, people), run ``side``'s workers: the report, rows per case.

    ``side`` is ``casekit``, ``casekit_without_search`` (casekit on a schema
    without the full-text indexes, :func:`casekit.store.fulltext.drop`: what
    they add to opening a case) or a key of :data:`FLOORS`.
    """
    with tempfile.TemporaryDirectory(prefix="casekit-bench-files-") as files:
        kit = bench_kit(url, Path(files))  # the floors get the same schema and people
        try:
            if side == WITHOUT_SEARCH:
                with kit.engine.begin() as conn:
                    fulltext.drop(conn)
            people = People.build(kit)
            prefix = kit.settings.case_number_prefix
            names = [t.name for t in CASE_TABLES]
            before = sum(table_rows(kit.engine, names).values())
        finally:
            kit.close()
    shares = zip(
        split(range(ctx.warmup), ctx.workers),
        split(range(ctx.warmup, ctx.warmup + ctx.cases), ctx.workers),
        strict=True,
    )
    if side in ("casekit", WITHOUT_SEARCH):
        reports = run_workers(casekit_worker, [(url, people, w, m) for w, m in shares])
    else:
        jobs = [(url, people, w, m, prefix, side) for w, m in shares]
        reports = run_workers(floor_worker, jobs)
    engine = create_casekit_engine(url)
    try:
        after = sum(table_rows(engine, names).values())
    finally:
        engine.dispose()
    return Report.merge(reports), (after - before) / (ctx.warmup + ctx.cases)


# -- checking and reporting -----------------------------------------------------------


def table_contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the case tables, comparable between two databases.

    Ids differ between runs (and interleave differently with several
    workers), so rows are keyed by their case's subject (unique per case)
    and kept in id order within a case; ids, the number (checked against
    the id here) and timestamps are left out.
    """
    engine = create_casekit_engine(url)
    try:
        contents: dict[str, list[tuple[Any, ...]]] = {}
        with engine.connect() as conn:
            c = tables.cases.c
            subjects = {}
            for case_id, number, subject in conn.execute(select(c.id, c.number, c.subject)):
                if number != f"{Settings().case_number_prefix}{case_id:06d}":
                    raise AssertionError(f"case {case_id} is numbered {number!r}")
                subjects[case_id] = subject
            for table in CASE_TABLES:
                keep = [
                    col
                    for col in table.c
                    if col.name not in ("id", "number", "case_id", "entry_id")
                    and not isinstance(col.type, UTCDateTime)
                ]
                key = tables.cases.c.id if table is tables.cases else table.c.case_id
                order = list(table.primary_key.columns)
                stmt = select(key, *keep).order_by(*order)
                keyed = [
                    (subjects[row[0]], n, tuple(row[1:]))
                    for n, row in enumerate(conn.execute(stmt))
                ]
                contents[table.name] = [(subject, *row) for subject, _, row in sorted(keyed)]
        return contents
    finally:
        engine.dispose()


def check_same_rows(casekit_url: str, floor_url: str) -> None:
    """Fail when the floor's rows differ from casekit's (timestamps and ids aside)."""
    ours, floor = table_contents(casekit_url), table_contents(floor_url)
    for name in ours:
        if ours[name] != floor[name]:
            mismatch = next(
                ((a, b) for a, b in zip(ours[name], floor[name], strict=False) if a != b),
                (len(ours[name]), len(floor[name])),
            )
            raise AssertionError(
                f"the floor no longer writes what casekit writes in {name}: {mismatch}"
            )


def results(
    ours: Report,
    floors: dict[str, Report],
    rows: dict[str, float],
    cases: int,
    without_search: Report,
) -> list[Result]:
    """``create`` beside the one-transaction floor; ``create.by_request`` beside the
    floor written as four requests; ``create.search_indexes``, casekit beside itself
    without the full-text indexes; per-step latencies; statements by kind."""
    floor = floors["one_transaction"]

    def both(name: str, metric: str, floor: Report, measure: Callable[[Report], float]) -> Result:
        return Result(name, metric, round(measure(ours), 3), round(measure(floor), 3))

    measures: list[tuple[str, Callable[[Report], float]]] = [
        ("per_s", lambda r: r.per_s),
        ("p50_ms", lambda r: r.percentile_ms(0.50)),
        ("p95_ms", lambda r: r.percentile_ms(0.95)),
        ("cpu_ms_per_case", lambda r: r.cpu * 1000 / cases),
        ("statements_per_case", lambda r: r.statements / cases),
        ("commits_per_case", lambda r: r.commits / cases),
        ("checkouts_per_case", lambda r: r.checkouts / cases),
    ]
    out = [both(NAME, metric, floor, measure) for metric, measure in measures]
    out.append(
        Result(NAME, "rows_per_case", round(rows["casekit"], 3), round(rows["one_transaction"], 3))
    )
    by_request = f"{NAME}.by_request"
    out += [both(by_request, metric, floors["by_request"], m) for metric, m in measures[:6]]
    # What the search indexes add: casekit, then casekit without them in the floor column.
    search = f"{NAME}.search_indexes"
    out += [both(search, metric, without_search, m) for metric, m in measures[:4]]
    for part in ours.parts:
        out.append(Result(f"{NAME}.{part}", "p50_ms", round(ours.percentile_ms(0.50, part), 3)))
        out.append(Result(f"{NAME}.{part}", "p95_ms", round(ours.percentile_ms(0.95, part), 3)))
    for kind in sorted(set(ours.kinds) | set(floor.kinds)):
        out.append(
            Result(
                f"{NAME}.sql.{kind.lower()}",
                "statements_per_case",
                round(ours.kinds[kind] / cases, 3),
                round(floor.kinds[kind] / cases, 3),
            )
        )
    return out


@scenario(NAME, help="open cases with a first message and three follow-ups, beside a floor")
def run(ctx: Context) -> list[Result]:
    """Open cases with a first message and three follow-ups, beside a plain-SQL floor."""
    if ctx.cases < 1 or ctx.workers < 1 or ctx.warmup < 0:
        raise ValueError("cases and workers must be at least 1, warmup at least 0")
    how = f"{ctx.cases} cases (+{ctx.warmup} warm-up), {ctx.workers} worker(s)"
    floors: dict[str, Report] = {}
    rows: dict[str, float] = {}
    with throwaway_database(ctx.database_url) as casekit_url:
        require_new_database(casekit_url)
        ctx.log(f"{NAME}: casekit, {how}")
        ours, rows["casekit"] = run_side(casekit_url, ctx, "casekit")
        with throwaway_database(ctx.database_url, keep_sqlite=False) as bare_url:
            ctx.log(f"{NAME}: casekit without the search indexes, {how}")
            without_search, _rows = run_side(bare_url, ctx, WITHOUT_SEARCH)
        for kind in FLOORS:
            with throwaway_database(ctx.database_url, keep_sqlite=False) as floor_url:
                ctx.log(f"{NAME}: floor {kind}, {how}")
                floors[kind], rows[kind] = run_side(floor_url, ctx, kind)
                check_same_rows(casekit_url, floor_url)
    return results(ours, floors, rows, ctx.cases, without_search)
