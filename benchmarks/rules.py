"""Scenario ``rules``: tracking events through normalisation and 50 rules; the sweep.

Events: ``--cases N`` carrier events (default 20,000) over N/4 shipments,
each a raw JSON line in a carrier's own words (``{"pro": ..., "code":
"X6", ...}``), normalised into a :class:`~casekit.ShipmentEvent` by a code
table (what an adapter does) and recorded through
``kit.shipments.record_events`` in batches of 500, with the shipper's 50
enabled event rules evaluated on every shipment that moves. About 1 % of the
events are exceptions; the rules open a case for some of them (each case is
a real opening: case row, entries, rule slot). Then as many events again
with no exceptions (``events.no_exceptions``): every move is checked against
the 50 rules and none opens a case. Measured: events per second,
end to end, and the cases opened; ``cpu_per_s`` counts the process's CPU
time only (SQLite runs in the process), what the events cost whatever else
the machine runs.

Sweep: 5 x N open shipments (default 100,000) with their tracking state
loaded through ``upsert_shipments``, and the eighteen starter rules enabled
(seven are time rules, for freight and any mode but parcel: the shipments
here name no mode, so all seven look at them). Measured: the first sweep
(opening the cases of the late shipments, about 0.5 %) and the second
(nothing left to open: the cost of looking).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import Context, Result, bench_kit, scenario, throwaway_database
from casekit import ExceptionKind, ShipmentEvent, ShipmentFacts, ShipmentStatus
from casekit.clock import FrozenClock
from casekit.domain.actor import Actor
from casekit.domain.directory import OrgRole, UserRole

NAME = "rules"
ANCHOR = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REGIONS = ("West", "East", "North", "South", "Central")
BRANDS = ("Acme Outdoors", "Acme Home", "Acme Kids")
SEGMENTS = ("VIP", "Retail", "B2B")
CODES = {  # a carrier's own status codes, normalised as an adapter would
    "XB": (ShipmentStatus.SCHEDULED, None),
    "AF": (ShipmentStatus.IN_TRANSIT, None),
    "X6": (ShipmentStatus.OUT_FOR_DELIVERY, None),
    "D1": (ShipmentStatus.DELIVERED, None),
    "A9": (ShipmentStatus.EXCEPTION, ExceptionKind.DAMAGED),
    "A2": (ShipmentStatus.EXCEPTION, ExceptionKind.ADDRESS_ISSUE),
    "AH": (ShipmentStatus.EXCEPTION, ExceptionKind.DELIVERY_SCHEDULING_NEEDED),
    "PR": (ShipmentStatus.EXCEPTION, ExceptionKind.HELD_AT_TERMINAL),
}
EXCEPTION_CODES = ("A9", "A2", "AH", "PR")


def fifty_rules(team: list[int]) -> list[dict[str, object]]:
    """50 event rules: each exception kind, narrowed by region, brand, segment or mode."""
    rules: list[dict[str, object]] = []
    kinds = [e.value for e in ExceptionKind]
    for i in range(50):
        rule: dict[str, object] = {
            "name": f"Rule {i:02d}",
            "exceptions": [kinds[i % len(kinds)]],
            "case_type": "general_status_update",
            "owner": ("round_robin", "least_loaded", "none")[i % 3],
            "owner_ids": team if i % 3 != 2 else [],
            "auto_solve": i % 2 == 0,
        }
        narrowing = i // len(kinds)
        if narrowing == 1:
            rule["regions"] = [REGIONS[i % len(REGIONS)]]
        elif narrowing == 2:
            rule["brands"] = [BRANDS[i % len(BRANDS)]]
        elif narrowing == 3:
            rule["customer_segments"] = [SEGMENTS[i % len(SEGMENTS)]]
        elif narrowing >= 4:
            rule["modes"] = ["freight"]
        rules.append(rule)
    return rules


def normalise(line: str) -> ShipmentEvent:
    raw = json.loads(line)
    status, exception = CODES[raw["code"]]
    return ShipmentEvent(
        tracking_number=raw["pro"],
        status=status,
        exception=exception,
        occurred_at=datetime.fromisoformat(raw["at"]),
        location=raw.get("city", ""),
        source="bench",
        key=raw["id"],
    )


@scenario(NAME, help="tracking events/s through 50 rules; sweep time", default_cases=20_000)
def run(ctx: Context) -> list[Result]:
    rng = random.Random(7)
    events = ctx.cases
    shipments = max(events // 4, 1)
    with throwaway_database(ctx.database_url, keep_sqlite=False) as url:
        clock = FrozenClock(ANCHOR)
        with tempfile.TemporaryDirectory() as folder:
            kit = bench_kit(url, Path(folder), clock=clock)
            try:
                results = _events(ctx, kit, rng, events, shipments)
                results += _sweep(ctx, kit, rng, shipments=5 * events)
            finally:
                kit.close()
    return results


def _world(kit, tag: str) -> tuple[int, int, list[int], Actor]:
    host = Actor.host()
    d = kit.directory
    shipper = d.add_organization(
        host, name=f"Acme {tag}", role=OrgRole.SHIPPER, external_id=f"acme-{tag}"
    )
    d.add_organization(host, name=f"Fast {tag}", role=OrgRole.CARRIER, external_id=f"fast-{tag}")
    team = [
        d.add_user(host, org_id=shipper.id, name=f"Agent {i}", email=f"a{i}-{tag}@acme.test").id
        for i in range(4)
    ]
    manager = d.add_user(
        host, org_id=shipper.id, name="Lead", email=f"lead-{tag}@acme.test", role=UserRole.MANAGER
    )
    return shipper.id, 0, team, Actor.of_user(manager)


def _events(ctx: Context, kit, rng: random.Random, events: int, shipments: int) -> list[Result]:
    shipper_id, _, team, manager = _world(kit, "events")
    for definition in fifty_rules(team):
        kit.rules.create(manager, definition)
    feed = Actor.system_actor("api", org_id=shipper_id)
    ctx.log(f"rules: {shipments} shipments, 50 rules")
    kit.shipments.upsert_shipments(
        feed,
        (
            ShipmentFacts(
                reference=f"S-{i:07d}",
                carrier="fast-events",
                tracking_number=f"PRO{i:07d}",
                mode=("parcel", "freight")[i % 2],
                region=REGIONS[i % len(REGIONS)],
                brand=BRANDS[i % len(BRANDS)],
                customer_segment=SEGMENTS[i % len(SEGMENTS)],
            )
            for i in range(shipments)
        ),
    )
    results = _stream(ctx, kit, rng, "events", events, shipments, exceptions=0.01, offset=0)
    # The same again with no exceptions: the rules look at every move and
    # open nothing, the cost of evaluating them alone.
    results += _stream(
        ctx, kit, rng, "events.no_exceptions", events, shipments, exceptions=0.0, offset=events
    )
    return results


def _stream(
    ctx: Context,
    kit,
    rng: random.Random,
    name: str,
    events: int,
    shipments: int,
    *,
    exceptions: float,
    offset: int,
) -> list[Result]:
    lines = []
    for n in range(events):
        code = (
            rng.choice(EXCEPTION_CODES) if rng.random() < exceptions else rng.choice(("AF", "X6"))
        )
        lines.append(
            json.dumps(
                {
                    "id": f"e{offset + n}",
                    "pro": f"PRO{rng.randrange(shipments):07d}",
                    "code": code,
                    "at": (ANCHOR - timedelta(seconds=2 * events - offset - n)).isoformat(),
                    "city": "Reno, NV",
                }
            )
        )
    carrier = kit.directory.organization_by_external_id(Actor.host(), "fast-events")
    actor = Actor.system_actor("api", org_id=carrier.id)
    ctx.log(f"rules: {events} events ({name})")
    opened = recorded = 0
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, events, 500):
        batch = [normalise(line) for line in lines[start : start + 500]]
        report = kit.shipments.record_events(actor, batch)
        opened += len(report.opened)
        recorded += report.recorded
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    if recorded != events:
        raise RuntimeError(f"recorded {recorded} of {events} events")
    return [
        Result(name, "per_s", events / elapsed),
        Result(name, "seconds", elapsed),
        Result(name, "cpu_per_s", events / cpu_seconds),
        Result(name, "cases_opened", opened),
    ]


def _sweep(ctx: Context, kit, rng: random.Random, *, shipments: int) -> list[Result]:
    shipper_id, _, _team, manager = _world(kit, "sweep")
    kit.rules.install_starters(manager)
    for rule in kit.rules.list(manager):
        kit.rules.enable(manager, rule.id)
    feed = Actor.system_actor("api", org_id=shipper_id)
    today = ANCHOR.date()
    ctx.log(f"rules: {shipments} open shipments for the sweep")

    def facts(i: int) -> ShipmentFacts:
        late = rng.random() < 0.005
        return ShipmentFacts(
            reference=f"W-{i:07d}",
            carrier="fast-sweep",
            tracking_number=f"W{i:07d}",
            shipment_status=ShipmentStatus.IN_TRANSIT if i % 5 else ShipmentStatus.SCHEDULED,
            status_at=ANCHOR - timedelta(hours=100 if late else rng.randrange(1, 40)),
            estimated_date=today + timedelta(days=rng.randrange(1, 6)),
            promised_date=today + timedelta(days=7),
        )

    loaded = time.perf_counter()
    kit.shipments.upsert_shipments(feed, (facts(i) for i in range(shipments)))
    load_seconds = time.perf_counter() - loaded
    timed = [r for r in kit.rules.list(manager) if r.spec.is_timed]
    started, cpu = time.perf_counter(), time.process_time()
    first = kit.rules.sweep()
    first_seconds = time.perf_counter() - started
    first_cpu = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    second = kit.rules.sweep()
    second_seconds = time.perf_counter() - started
    second_cpu = time.process_time() - cpu
    if second.opened:
        raise RuntimeError("the second sweep opened cases: the sweep is not idempotent")
    return [
        Result("sweep.load", "per_s", shipments / load_seconds),
        Result("sweep.first", "seconds", first_seconds),
        Result("sweep.first", "cpu_seconds", first_cpu),
        Result("sweep.first", "cases_opened", len(first.opened)),
        Result("sweep.again", "seconds", second_seconds),
        Result("sweep.again", "cpu_seconds", second_cpu),
        Result("sweep", "open_shipments", shipments),
        Result("sweep", "time_rules", len(timed)),
    ]
