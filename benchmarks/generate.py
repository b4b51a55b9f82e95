"""Scenario ``generate``: a realistic, seeded data set for the list benchmarks, built fast.

``python -m benchmarks generate --cases N --database-url URL`` fills the
database at URL (it is used as it is, not a throwaway copy) with:

- 200 shipper organizations and 50 carriers; the shippers skewed so that the
  largest holds 20% of the cases, the carriers on a Zipf curve;
- staff per organization (the largest shipper has 50 users) and customers
  per shipper;
- one shipment snapshot per case mostly (some shared by two cases of a
  shipper, a few cases with none), every snapshot field filled; orders for
  some cases;
- N cases created over 24 months before :data:`ANCHOR` (so the 13-month
  window of the views matters), numbered ``CV`` + zero-padded id; statuses
  mixed (most older cases solved);
- about 4 messages per case from both sides and customers, audiences as
  casekit allows them: a customer's mostly ``customer`` (to the shipper),
  some ``everyone``; the shipper's staff internal / partners / customer /
  everyone (the last two on a case with a customer); the carrier's staff
  internal / partners; all after the ``opened`` event; ``solved``
  and ``owner_changed`` events where they happened; participants, owners
  (some cases unowned on either side), watchers and CRM numbers of both
  sides on some cases;
- a service-level target for every organization (resolution within
  :data:`TARGET_DAYS` days, warned :data:`WARN_BEFORE` before), counted
  around the clock (no calendar); on every active case a running resolution
  clock for each side (the carrier's when there is one), started when the
  case was opened, with the cases' due columns (``<side>_due_at`` /
  ``<side>_warn_at``) from them: about one case in seven runs a clock, the
  old ones long breached (their warnings sent when they were owed), the
  newest on track or due soon at :data:`ANCHOR`.

The rows are written the way casekit writes them: a case's
``latest_message_*`` columns describe its latest message that is not
internal, its ``carrier_latest_message_*`` columns its latest message for
partners or everyone (what the carrier reads), its version counts the edits
it went through, its timeline starts
with the ``opened`` event; its report columns (brand, first responses, the
other side's latest message, reopened) are filled from the rows written by
:func:`casekit.store.report_columns.fill`, as migration 0011 fills them in
a set generated before it. Rows are built in Python from one seeded
``random.Random`` and written with PostgreSQL's ``COPY`` (psycopg's
``cursor.copy``), or with ``executemany`` in large batches elsewhere.

A small table ``bench_dataset`` (not a casekit table) remembers what was
generated: a second run for the same N and seed does nothing.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text

from benchmarks.common import Context, Result, backend_of, scenario
from casekit.cli_progress import progress
from casekit.clock import FrozenClock
from casekit.kit import CaseKit
from casekit.settings import Settings
from casekit.store import report_columns, tables
from casekit.store.database import create_casekit_engine, normalize_url
from casekit.store.migrate import upgrade

NAME = "generate"
DEFAULT_CASES = 1_000_000
SEED = 20261101
#: Bumped whenever the generator writes different rows (forces a rebuild).
GENERATOR_VERSION = 3
#: What the shipper's staff write: internal 20%, partners 40%, customer 20%, everyone 20%.
SHIPPER_AUDIENCES = ("internal", "partners", "customer", "everyone")
SHIPPER_SHARES = (0.2, 0.6, 0.8)
#: "Now" of the data set: cases were created in the 24 months before it.
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
SHIPPERS = 200
CARRIERS = 50
LARGEST_SHIPPER_SHARE = 0.2
LARGEST_SHIPPER_USERS = 50
CHUNK = 20_000  # cases per batch
MARKER = "bench_dataset"

CASE_TYPES = (
    ("where_is_my_order", 30),
    ("general_status_update", 15),
    ("delivery_scheduling", 12),
    ("osd_damaged", 8),
    ("osd_shortage", 5),
    ("lost", 6),
    ("return_to_sender", 5),
    ("refused_by_receiver", 3),
    ("address_correction", 7),
    ("cancel", 4),
    ("customer_feedback", 3),
    ("other", 2),
)
SOURCES = (("user", 55), ("email", 25), ("api", 12), ("portal", 5), ("rule", 3))
MESSAGES_PER_CASE = ((1, 10), (2, 15), (3, 20), (4, 20), (5, 15), (6, 10), (7, 5), (8, 5))
#: Each organization's resolution target by side, in days, and its warning.
TARGET_DAYS = {"shipper": 3, "carrier": 2}
WARN_BEFORE = timedelta(hours=1)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SEGMENTS = ("retail", "wholesale", "ecommerce", "b2b", "vip")
REGIONS = ("northeast", "southeast", "midwest", "southwest", "west", "canada")
SHIPMENT_STATUSES = ("delivered", "in_transit", "out_for_delivery", "exception", "pending")
FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
    "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Maria Daniel "
    "Nancy Lisa Matthew Betty Anthony Sandra Mark Ashley Donald Emily Steven Kimberly "
    "Paul Donna Andrew Michelle Joshua Carol Kenneth Amanda Kevin Melissa Brian "
    "Deborah"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
    "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee "
    "Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young "
    "Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell"
)
BUSINESS = ("Hardware", "Outfitters", "Supply Co", "Market", "Boutique", "Traders", "Depot")
CITIES = _words(
    "Columbus Atlanta Dallas Reno Memphis Louisville Chicago Newark Ontario Phoenix "
    "Denver Seattle Portland Charlotte Indianapolis Harrisburg Allentown Savannah"
)
WORDS = _words(
    "shipment delivery customer package tracking update carrier driver address "
    "appointment warehouse damaged missing pallet refund replacement label scan "
    "delayed weather route depot signature claim photo invoice please thanks today "
    "tomorrow morning afternoon confirm schedule status order receiver dock freight"
)
BRAND_WORDS = _words("Home Outdoor Kids Pro Basics Studio Sport Living Garden Tech")
ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    return list(itertools.accumulate(w / total for w in weights))


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return min(bisect.bisect(cumulative, rng.random()), len(cumulative) - 1)


@dataclass
class Dataset:
    """The shape of a generated set, as the benchmark needs to know it."""

    cases: int
    seed: int
    anchor: datetime
    largest_shipper_id: int
    largest_carrier_id: int
    users: dict[int, range]  # org id -> its user ids


# -- the people ------------------------------------------------------------------


def shipper_weights() -> list[float]:
    """The share of cases of each shipper (index 0 is the largest, with 20%)."""
    rest = [1.0 / (rank + 1) ** 0.9 for rank in range(1, SHIPPERS)]
    scale = (1 - LARGEST_SHIPPER_SHARE) / sum(rest)
    return [LARGEST_SHIPPER_SHARE] + [w * scale for w in rest]


def carrier_weights() -> list[float]:
    return [1.0 / (rank + 1) for rank in range(CARRIERS)]


class World:
    """Organizations, users, customers: ids are assigned here, deterministically."""

    def __init__(self, rng: random.Random, cases: int) -> None:
        self.rng = rng
        created = ANCHOR - SPAN - timedelta(days=30)
        self.org_rows: list[tuple[Any, ...]] = []
        self.user_rows: list[tuple[Any, ...]] = []
        self.customer_rows: list[tuple[Any, ...]] = []
        self.shipper_ids = list(range(1, SHIPPERS + 1))
        self.carrier_ids = list(range(SHIPPERS + 1, SHIPPERS + CARRIERS + 1))
        self.org_names: dict[int, str] = {}
        self.target_rows: list[tuple[Any, ...]] = []
        #: Each organization's target: its id and its time in seconds.
        self.targets: dict[int, tuple[int, int]] = {}
        self.users: dict[int, range] = {}
        self.customers: dict[int, range] = {}
        self.brands: dict[int, list[str]] = {}
        sw, cw = shipper_weights(), carrier_weights()
        self.shipper_cum = _cumulative(sw)
        self.carrier_cum = _cumulative(cw)
        next_user = 1
        next_customer = 1
        for index, org_id in enumerate(self.shipper_ids):
            name = f"{LAST[index % len(LAST)]} {BUSINESS[index % len(BUSINESS)]} {org_id}"
            self.org_names[org_id] = name
            self.org_rows.append((org_id, name, "shipper", f"shipper-{org_id}", created, False))
            expected = sw[index] * cases
            n_users = LARGEST_SHIPPER_USERS if index == 0 else max(2, min(25, int(expected / 400)))
            self.users[org_id] = range(next_user, next_user + n_users)
            next_user += n_users
            n_customers = max(5, min(50_000, int(expected / 8)))
            self.customers[org_id] = range(next_customer, next_customer + n_customers)
            next_customer += n_customers
            first = BRAND_WORDS[index % len(BRAND_WORDS)]
            self.brands[org_id] = [
                f"{name.split()[0]} {BRAND_WORDS[(index + k) % len(BRAND_WORDS)]}"
                for k in range(1 + index % 5)
            ] or [first]
        for index, org_id in enumerate(self.carrier_ids):
            name = f"{CITIES[index % len(CITIES)]} {('Express', 'Freight', 'Logistics')[index % 3]}"
            name = f"{name} {org_id}"
            self.org_names[org_id] = name
            self.org_rows.append((org_id, name, "carrier", f"carrier-{org_id}", created, False))
            expected = cw[index] / sum(cw) * cases
            n_users = max(3, min(30, int(expected / 2000)))
            self.users[org_id] = range(next_user, next_user + n_users)
            next_user += n_users
        for org_id in (*self.shipper_ids, *self.carrier_ids):
            side = "shipper" if org_id <= SHIPPERS else "carrier"
            seconds = TARGET_DAYS[side] * 86_400
            target_id = len(self.target_rows) + 1
            self.targets[org_id] = (target_id, seconds)
            self.target_rows.append(
                (
                    target_id,
                    org_id,
                    f"Solve within {TARGET_DAYS[side]} days",
                    1,
                    True,
                    "{}",
                    None,
                    None,
                    seconds,
                    False,
                    int(WARN_BEFORE.total_seconds()),
                    "{}",
                    created,
                    "user:1",
                )
            )
        for org_id, ids in self.users.items():
            for k, user_id in enumerate(ids):
                first_name, last_name = FIRST[user_id % len(FIRST)], LAST[(user_id * 7) % len(LAST)]
                role = "manager" if k == 1 else ("admin" if k == 2 else "agent")
                self.user_rows.append(
                    (
                        user_id,
                        org_id,
                        f"{first_name} {last_name}",
                        f"u{user_id}@org{org_id}.test",
                        role,
                        f"user-{user_id}",
                        True,
                        created,
                    )
                )
        for org_id, ids in self.customers.items():
            for customer_id in ids:
                first_name = FIRST[customer_id % len(FIRST)]
                last_name = LAST[(customer_id * 13) % len(LAST)]
                self.customer_rows.append(
                    (
                        customer_id,
                        org_id,
                        f"c{customer_id}@example.test",
                        f"{first_name} {last_name}",
                        f"cust-{customer_id}",
                        created,
                    )
                )


# -- the cases ---------------------------------------------------------------------

ORG_COLUMNS = ("id", "name", "role", "external_id", "created_at", "feedback_portal")
USER_COLUMNS = ("id", "org_id", "name", "email", "role", "external_id", "active", "created_at")
CUSTOMER_COLUMNS = ("id", "shipper_org_id", "email", "name", "external_id", "created_at")
TARGET_COLUMNS = (
    "id",
    "org_id",
    "name",
    "position",
    "enabled",
    "conditions",
    "first_response_seconds",
    "next_response_seconds",
    "resolution_seconds",
    "pause_when_waiting",
    "warn_before_seconds",
    "escalation",
    "updated_at",
    "updated_by",
)
CLOCK_COLUMNS = (
    "case_id",
    "org_id",
    "side",
    "kind",
    "target_id",
    "target_seconds",
    "warn_before_seconds",
    "time_zone",
    "state",
    "started_at",
    "stopped_at",
    "elapsed_seconds",
    "due_at",
    "warn_at",
    "breached_at",
    "warned_at",
    "breach_warned_at",
    "next_alert_at",
    "updated_at",
)
SHIPMENT_COLUMNS = (
    "id",
    "shipper_org_id",
    "carrier_org_id",
    "reference",
    "tracking_number",
    "bol_number",
    "po_number",
    "reference_number",
    "ra_number",
    "order_number",
    "origin_name",
    "origin_postal_code",
    "destination_name",
    "destination_postal_code",
    "mode",
    "direction",
    "customer_segment",
    "region",
    "brand",
    "carrier_name",
    "carrier_key",
    "status",
    "promised_date",
    "estimated_date",
    "updated_at",
)
ORDER_COLUMNS = (
    "id",
    "shipper_org_id",
    "number",
    "customer_email",
    "customer_name",
    "brand",
    "placed_at",
    "updated_at",
)
CASE_COLUMNS = (
    "id",
    "number",
    "version",
    "type",
    "status",
    "source",
    "subject",
    "shipper_org_id",
    "carrier_org_id",
    "carrier_collaborating",
    "customer_id",
    "shipment_id",
    "order_id",
    "shipper_owner_id",
    "carrier_owner_id",
    "created_by",
    "created_at",
    "updated_at",
    "solved_at",
    "solved_by",
    "latest_message_at",
    "latest_message_user_id",
    "latest_message_org_id",
    "latest_message_by_customer",
    "carrier_latest_message_at",
    "carrier_latest_message_user_id",
    "carrier_latest_message_org_id",
    "carrier_status",
    "carrier_updated_at",
    "carrier_solved_at",
    "shipper_due_at",
    "shipper_warn_at",
    "carrier_due_at",
    "carrier_warn_at",
)
ENTRY_COLUMNS = (
    "id",
    "case_id",
    "kind",
    "audience",
    "created_at",
    "actor_kind",
    "org_id",
    "user_id",
    "customer_id",
    "system",
    "author_email",
    "body",
    "event",
    "old_value",
    "new_value",
)
PARTICIPANT_COLUMNS = (
    "id",
    "case_id",
    "user_id",
    "customer_id",
    "email",
    "subscribed",
    "created_at",
)
WATCHER_COLUMNS = ("case_id", "user_id", "created_at")
CRM_COLUMNS = ("case_id", "org_id", "number", "updated_at")


@dataclass
class Batch:
    shipments: list[tuple[Any, ...]]
    orders: list[tuple[Any, ...]]
    cases: list[tuple[Any, ...]]
    entries: list[tuple[Any, ...]]
    participants: list[tuple[Any, ...]]
    watchers: list[tuple[Any, ...]]
    crm: list[tuple[Any, ...]]
    clocks: list[tuple[Any, ...]]

    def tables(self) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
        return [
            (tables.shipments.name, SHIPMENT_COLUMNS, self.shipments),
            (tables.orders.name, ORDER_COLUMNS, self.orders),
            (tables.cases.name, CASE_COLUMNS, self.cases),
            (tables.entries.name, ENTRY_COLUMNS, self.entries),
            (tables.participants.name, PARTICIPANT_COLUMNS, self.participants),
            (tables.watchers.name, WATCHER_COLUMNS, self.watchers),
            (tables.crm_numbers.name, CRM_COLUMNS, self.crm),
            (tables.clocks.name, CLOCK_COLUMNS, self.clocks),
        ]


class CaseMaker:
    """Builds cases in id order, one batch at a time, from one seeded generator."""

    def __init__(self, world: World, rng: random.Random, cases: int) -> None:
        self.world = world
        self.rng = rng
        self.total = cases
        self.type_cum = _cumulative([w for _, w in CASE_TYPES])
        self.source_cum = _cumulative([w for _, w in SOURCES])
        self.messages_cum = _cumulative([w for _, w in MESSAGES_PER_CASE])
        self.next_case = 1
        self.next_entry = 1
        self.next_shipment = 1
        self.next_order = 1
        self.next_participant = 1
        self.last_shipment: dict[int, tuple[int, int | None]] = {}  # shipper -> (id, carrier)
        self.start = ANCHOR - SPAN

    def _code(self, n: int) -> str:
        choice = self.rng.choice
        return "".join(choice(ALNUM) for _ in range(n))

    def _body(self) -> str:
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 40))]
        return " ".join(words).capitalize() + "."

    def batch(self, size: int) -> Batch:
        b = Batch([], [], [], [], [], [], [], [])
        for _ in range(size):
            self._case(b)
        return b

    def _case(self, b: Batch) -> None:
        rng, world = self.rng, self.world
        case_id = self.next_case
        self.next_case += 1
        shipper = world.shipper_ids[_pick(rng, world.shipper_cum)]
        carrier: int | None = None
        if rng.random() > 0.04:
            carrier = world.carrier_ids[_pick(rng, world.carrier_cum)]
        created = self.start + SPAN * ((case_id - 1) / self.total)
        created += timedelta(seconds=rng.randint(0, 59), microseconds=rng.randint(0, 999_999))
        case_type = CASE_TYPES[_pick(rng, self.type_cum)][0]
        source = SOURCES[_pick(rng, self.source_cum)][0]
        customers = world.customers[shipper]
        customer: int | None = None
        if source == "portal" or rng.random() < 0.75:
            customer = customers[rng.randrange(len(customers))]
        if source == "portal":
            case_type = "customer_feedback"
        # -- shipment and order
        shipment_id: int | None = None
        roll = rng.random()
        previous = self.last_shipment.get(shipper)
        brand = rng.choice(world.brands[shipper])
        order_number = f"SO-{rng.randrange(10**8):08d}"
        if roll < 0.03:
            pass  # no shipment known
        elif roll < 0.07 and previous is not None:
            shipment_id, carrier = previous  # a second case on the same shipment
        else:
            shipment_id = self.next_shipment
            self.next_shipment += 1
            self.last_shipment[shipper] = (shipment_id, carrier)
            promised = (created + timedelta(days=rng.randint(1, 7))).date()
            estimated = promised + timedelta(days=rng.choice((0, 0, 0, 1, 2, -1)))
            destination = (
                f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                if rng.random() < 0.7
                else f"{rng.choice(LAST)} {rng.choice(BUSINESS)}"
            )
            b.shipments.append(
                (
                    shipment_id,
                    shipper,
                    carrier,
                    f"SHP-{shipment_id:08d}",
                    "1Z" + self._code(16),
                    f"BOL{rng.randrange(10**9):09d}",
                    f"PO-{rng.randrange(10**7):07d}",
                    f"REF{rng.randrange(10**8):08d}",
                    f"RA{rng.randrange(10**7):07d}",
                    order_number,
                    f"{world.org_names[shipper].split()[0]} DC {rng.choice(CITIES)}",
                    f"{rng.randrange(100000):05d}",
                    destination,
                    f"{rng.choice((0, 1, 3, 4, 6, 7, 9))}{rng.randrange(10000):04d}",
                    "parcel" if rng.random() < 0.7 else "freight",
                    rng.choice(("outbound",) * 14 + ("inbound",) * 3 + ("third_party",) * 3),
                    rng.choice(SEGMENTS),
                    rng.choice(REGIONS),
                    brand,
                    world.org_names[carrier] if carrier is not None else None,
                    world.org_names[carrier].lower() if carrier is not None else None,
                    rng.choice(SHIPMENT_STATUSES),
                    promised,
                    estimated,
                    created,
                )
            )
        order_id: int | None = None
        if rng.random() < 0.15:
            order_id = self.next_order
            self.next_order += 1
            b.orders.append(
                (
                    order_id,
                    shipper,
                    f"ORD-{order_id:08d}",
                    f"c{customer}@example.test" if customer else None,
                    None,
                    brand,
                    created - timedelta(days=rng.randint(1, 10)),
                    created,
                )
            )
        # -- who opens it
        shipper_users = world.users[shipper]
        carrier_users = world.users[carrier] if carrier is not None else None
        opener: tuple[str, int | None, int | None, int | None]  # kind, user, org, customer
        if source == "portal":
            opener = ("customer", None, None, customer)
        elif carrier_users is not None and rng.random() < 0.2:
            opener = ("user", rng.choice(carrier_users), carrier, None)
        else:
            opener = ("user", rng.choice(shipper_users), shipper, None)
        shipper_owner: int | None = None
        carrier_owner: int | None = None
        version = 1
        entries = b.entries

        def entry(
            at: datetime, who: tuple[str, int | None, int | None, int | None], **v: Any
        ) -> None:
            entries.append(
                (
                    self.next_entry,
                    case_id,
                    v.get("kind", "message"),
                    v["audience"],
                    at,
                    who[0],
                    who[2],
                    who[1],
                    who[3],
                    None,
                    None,
                    v.get("body", ""),
                    v.get("event"),
                    v.get("old"),
                    v.get("new"),
                )
            )
            self.next_entry += 1

        # Opening: the opener takes its side's ownership (most of the time).
        if opener[0] == "user" and rng.random() < 0.85:
            if opener[2] == shipper:
                shipper_owner = opener[1]
            else:
                carrier_owner = opener[1]
        entry(created, opener, kind="event", audience="everyone", event="opened", new=case_type)
        posters: dict[tuple[int | None, int | None], datetime] = {}
        latest: tuple[datetime, tuple[str, int | None, int | None, int | None]] | None = None
        carrier_latest: tuple[datetime, tuple[str, int | None, int | None, int | None]] | None
        carrier_latest = None
        last_at = created
        last_visible_side = ""
        messages = MESSAGES_PER_CASE[_pick(rng, self.messages_cum)][0]
        for k in range(messages):
            if k == 0:
                who = opener
                at = created
            else:
                at = last_at + timedelta(seconds=int(rng.expovariate(1 / 28_800)) + 60)
                roll = rng.random()
                if customer is not None and roll < 0.2:
                    who = ("customer", None, None, customer)
                elif carrier_users is not None and roll < 0.55:
                    pick = carrier_owner if carrier_owner and rng.random() < 0.6 else None
                    who = ("user", pick or rng.choice(carrier_users), carrier, None)
                else:
                    pick = shipper_owner if shipper_owner and rng.random() < 0.6 else None
                    who = ("user", pick or rng.choice(shipper_users), shipper, None)
                version += 1
            roll = rng.random()
            if who[0] == "customer":
                audience = "customer" if roll < 0.85 else "everyone"
            elif who[2] != shipper:  # the carrier's staff never write to the customer
                audience = "internal" if roll < 0.2 else "partners"
            else:
                audience = SHIPPER_AUDIENCES[bisect.bisect(SHIPPER_SHARES, roll)]
                if customer is None and audience in ("customer", "everyone"):
                    audience = "partners"
            if k == 0 and audience == "internal":
                audience = "partners"  # the opening message is for the parties
            entry(at, who, audience=audience, body=self._body())
            posters.setdefault((who[1], who[3]), at)
            if audience in ("partners", "everyone"):
                carrier_latest = (at, who)
            if audience != "internal":
                latest = (at, who)
                last_visible_side = (
                    "customer"
                    if who[0] == "customer"
                    else ("shipper" if who[2] == shipper else "carrier")
                )
            last_at = at
        updated = last_at

        # The other side's owner, assigned later by someone of that side.
        def take_later(users: list[int], org: int) -> int:
            """Someone of ``org`` takes its owner slot a little later (an audited event)."""
            nonlocal updated, version
            owner = rng.choice(users)
            updated = updated + timedelta(minutes=rng.randint(1, 600))
            entry(
                updated,
                ("user", owner, org, None),
                kind="event",
                audience="partners",
                event="owner_changed",
                new=str(owner),
            )
            version += 1
            return owner

        if carrier_users is not None and carrier_owner is None and rng.random() < 0.45:
            carrier_owner = take_later(carrier_users, carrier)
        if shipper_owner is None and rng.random() < 0.5:
            shipper_owner = take_later(shipper_users, shipper)
        age = ANCHOR - created
        solved_at: datetime | None = None
        solved_by: str | None = None
        if messages == 1 and last_visible_side in ("shipper", "carrier"):
            status = "new" if age < timedelta(days=30) else "open"
        elif last_visible_side == "shipper":
            status = "waiting"
        elif last_visible_side in ("customer", "carrier"):
            status = "reply_received"
        else:
            status = "open"
        if rng.random() < (0.9 if age > timedelta(days=45) else 0.35):
            solver_org = shipper
            if carrier is not None and rng.random() >= 0.7:
                solver_org = carrier
            solver = (
                shipper_owner
                if solver_org == shipper and shipper_owner
                else rng.choice(world.users[solver_org])
            )
            solved_at = updated + timedelta(minutes=rng.randint(5, 4000))
            solved_by = f"user:{solver}"
            updated = solved_at
            entry(
                solved_at,
                ("user", solver, solver_org, None),
                kind="event",
                audience="everyone",
                event="solved",
                old=status,
                new="solved",
            )
            status = "solved"
            version += 1
        for (user_id, customer_id), at in posters.items():
            b.participants.append(
                (self.next_participant, case_id, user_id, customer_id, None, True, at)
            )
            self.next_participant += 1
        if rng.random() < 0.12:
            pool = list(shipper_users) + (list(carrier_users) if carrier_users else [])
            for user_id in sorted(set(rng.sample(pool, min(len(pool), rng.randint(1, 2))))):
                b.watchers.append((case_id, user_id, created + timedelta(minutes=5)))
        if rng.random() < 0.35:
            b.crm.append((case_id, shipper, f"SF-{shipper:03d}-{case_id:08d}", created))
        if carrier is not None and rng.random() < 0.25:
            b.crm.append((case_id, carrier, f"TK{carrier:03d}{case_id:09d}", created))
        created_by = f"customer:{opener[3]}" if opener[0] == "customer" else f"user:{opener[1]}"
        due: dict[str, datetime | None] = {}
        for side, org in (("shipper", shipper), ("carrier", carrier)):
            due[side] = due[f"{side}_warn"] = None
            if org is not None and status != "solved":
                times = self._clock(b, case_id, side, org, created, updated)
                due[side], due[f"{side}_warn"] = times
        b.cases.append(
            (
                case_id,
                f"CV{case_id:06d}",
                version,
                case_type,
                status,
                source,
                f"{case_type.replace('_', ' ').capitalize()} for SHP-{shipment_id or 0:08d}",
                shipper,
                carrier,
                True,
                customer,
                shipment_id,
                order_id,
                shipper_owner,
                carrier_owner,
                created_by,
                created,
                updated,
                solved_at,
                solved_by,
                latest[0] if latest else None,
                latest[1][1] if latest else None,
                latest[1][2] if latest else None,
                bool(latest and latest[1][0] == "customer"),
                carrier_latest[0] if carrier_latest else None,
                carrier_latest[1][1] if carrier_latest else None,
                carrier_latest[1][2] if carrier_latest else None,
                # The carrier's own, as migration 0018 fills them.
                "open" if status in ("reply_received", "waiting") else status,
                updated,
                solved_at,
                due["shipper"],
                due["shipper_warn"],
                due["carrier"],
                due["carrier_warn"],
            )
        )

    def _clock(
        self, b: Batch, case_id: int, side: str, org: int, created: datetime, updated: datetime
    ) -> tuple[datetime, datetime]:
        """The side's running resolution clock on an active case, as the last change
        (``updated``) left it, its warnings sent when they were owed before
        :data:`ANCHOR`; its due and warning times."""
        target_id, seconds = self.world.targets[org]
        due_at = created + timedelta(seconds=seconds)
        warn_at = due_at - WARN_BEFORE
        if warn_at <= updated:
            # Recomputed after its warning time: due from then (casekit.domain.sla).
            warn_at = min(updated, due_at)
        warned_at = warn_at if warn_at <= ANCHOR else None
        breach_warned_at = due_at if due_at < ANCHOR else None
        next_alert = None
        if warned_at is None:
            next_alert = warn_at
        elif breach_warned_at is None:
            next_alert = due_at
        b.clocks.append(
            (
                case_id,
                org,
                side,
                "resolution",
                target_id,
                seconds,
                int(WARN_BEFORE.total_seconds()),
                "UTC",
                "running",
                created,
                None,
                int((updated - created).total_seconds()),
                due_at,
                warn_at,
                due_at if due_at < updated else None,
                warned_at,
                breach_warned_at,
                next_alert,
                updated,
            )
        )
        return due_at, warn_at


# -- writing ---------------------------------------------------------------------


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return str(value)
    return str(value)


class Writer:
    """Writes rows into one table: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.backend = conn.dialect.name

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.backend == "postgresql":
            raw = self.conn.connection.dbapi_connection
            assert raw is not None
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
                lines = ["\t".join([_copy_text(v) for v in row]) for row in rows]
                copy.write("\n".join(lines) + "\n")
            return
        target = tables.metadata.tables[table]
        for start in range(0, len(rows), 5000):
            self.conn.execute(
                target.insert(),
                [dict(zip(columns, row, strict=True)) for row in rows[start : start + 5000]],
            )


BIG_TABLES = (tables.shipments, tables.orders, tables.cases, tables.entries, tables.participants)


def _drop_indexes(conn: Connection) -> list[Any]:
    """Drop the plain indexes of the big tables (rebuilt after the load); MySQL keeps them."""
    if conn.dialect.name not in ("postgresql", "sqlite"):
        return []
    dropped = []
    for table in BIG_TABLES:
        existing = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
        for index in table.indexes:
            if index.name in existing and not index.unique:
                index.drop(conn)
                dropped.append(index)
    return dropped


def _marker_matches(conn: Connection, cases: int, seed: int) -> bool:
    if not inspect(conn).has_table(MARKER):
        return False
    row = conn.execute(text(f"SELECT cases, seed, generator FROM {MARKER} WHERE done = 1")).first()
    return row is not None and tuple(row) == (cases, seed, GENERATOR_VERSION)


def dataset_of(cases: int, seed: int = SEED) -> Dataset:
    """What :func:`generate` builds for ``cases`` and ``seed`` (ids only, nothing written)."""
    world = World(random.Random(seed), cases)
    return Dataset(
        cases=cases,
        seed=seed,
        anchor=ANCHOR,
        largest_shipper_id=world.shipper_ids[0],
        largest_carrier_id=world.carrier_ids[0],
        users=world.users,
    )


@contextlib.contextmanager
def _engine(database_url: str) -> Iterator[Engine]:
    _ensure_database(database_url)
    engine = create_casekit_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _ensure_database(database_url: str) -> None:
    """Create the named PostgreSQL/MySQL database when the server lacks it."""
    backend = backend_of(database_url)
    if backend not in ("postgresql", "mysql"):
        return
    url = normalize_url(database_url)
    name = url.database
    if not name:
        raise ValueError(f"{database_url!r}: name the database to fill")
    admin = create_casekit_engine(
        url.set(database="postgres" if backend == "postgresql" else None),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            if backend == "postgresql":
                found = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).first()
                if found is None:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}`"))
    finally:
        admin.dispose()


def generate(
    database_url: str, cases: int = DEFAULT_CASES, *, seed: int = SEED, log: Any = None
) -> tuple[Dataset, float | None]:
    """Fill ``database_url`` with the data set; returns it and the seconds spent (None: kept)."""
    say = log or (lambda _message: None)
    with _engine(database_url) as engine:
        upgrade(engine)  # casekit's schema, the newest revision (cheap when current)
        with engine.connect() as conn:
            if _marker_matches(conn, cases, seed):
                say(f"{MARKER}: {cases} cases (seed {seed}) already there, kept")
                return dataset_of(cases, seed), None
        started = time.perf_counter()
        say(f"generating {cases} cases (seed {seed}) ...")
        _clear(engine)
        rng = random.Random(seed)
        world = World(rng, cases)
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET session_replication_role = replica"))  # no FK triggers
                conn.execute(text("SET maintenance_work_mem = '1GB'"))
            if conn.dialect.name == "mysql":
                conn.execute(text("SET foreign_key_checks = 0"))
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            dropped = _drop_indexes(conn)
            writer = Writer(conn)
            writer.write(tables.organizations.name, ORG_COLUMNS, world.org_rows)
            writer.write(tables.users.name, USER_COLUMNS, world.user_rows)
            writer.write(tables.customers.name, CUSTOMER_COLUMNS, world.customer_rows)
            writer.write(tables.sla_targets.name, TARGET_COLUMNS, world.target_rows)
            conn.commit()
            maker = CaseMaker(world, rng, cases)
            done = 0
            # A bar on a terminal; elsewhere a line every 200,000 cases.
            with progress("  cases", length=cases) as bar:
                while done < cases:
                    size = min(CHUNK, cases - done)
                    batch = maker.batch(size)
                    for name, columns, rows in batch.tables():
                        writer.write(name, columns, rows)
                    conn.commit()
                    done += size
                    bar.advance(size)
                    if not bar.shown and (done % 200_000 == 0 or done == cases):
                        say(f"  {done} cases, {time.perf_counter() - started:.0f} s")
            for index in dropped:
                index.create(conn)
            conn.commit()
            say(f"  indexes rebuilt, {time.perf_counter() - started:.0f} s")
            # The report columns, from the rows just written, as casekit keeps them.
            report_columns.fill(conn)
            conn.commit()
            say(f"  report columns filled, {time.perf_counter() - started:.0f} s")
            _finish(conn, cases, seed)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        _analyze(engine)
        seconds = time.perf_counter() - started
        say(f"generated {cases} cases in {seconds:.1f} s")
        return dataset_of(cases, seed), seconds


def _clear(engine: Engine) -> None:
    """Empty casekit's tables and the marker (a different set was there)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            if conn.dialect.name == "mysql":
                conn.execute(text("SET foreign_key_checks = 0"))
            for table in reversed(tables.metadata.sorted_tables):
                conn.execute(table.delete())
            if conn.dialect.name == "mysql":
                conn.execute(text("SET foreign_key_checks = 1"))
        conn.execute(text(f"DROP TABLE IF EXISTS {MARKER}"))
        conn.commit()


def _finish(conn: Connection, cases: int, seed: int) -> None:
    if conn.dialect.name == "postgresql":
        for table in tables.metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
        conn.execute(text("SET session_replication_role = DEFAULT"))
    if conn.dialect.name == "mysql":
        conn.execute(text("SET foreign_key_checks = 1"))
    conn.execute(
        text(
            f"CREATE TABLE {MARKER} (cases INTEGER NOT NULL, seed INTEGER NOT NULL, "
            "generator INTEGER NOT NULL, done INTEGER NOT NULL)"
        )
    )
    conn.execute(
        text(f"INSERT INTO {MARKER} VALUES (:cases, :seed, :generator, 1)"),
        {"cases": cases, "seed": seed, "generator": GENERATOR_VERSION},
    )
    conn.commit()


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans)."""
    backend = engine.dialect.name
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "postgresql":
            conn.execute(text("VACUUM ANALYZE"))
        elif backend == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            for table in tables.metadata.sorted_tables:
                conn.execute(text(f"ANALYZE TABLE {table.name}"))


@contextlib.contextmanager
def generated_kit(
    ctx: Context, default: Callable[[int], str] | None = None
) -> Iterator[tuple[CaseKit, Dataset, list[Result]]]:
    """The scenario's data set (generated if it is not there yet), a kit on it whose
    clock stands at the set's anchor, and the results so far: the generation's time
    when it ran. Without ``--database-url``, the set is at ``default(cases)``
    (:func:`default_url`'s SQLite file by default)."""
    url = ctx.database_url or (default or default_url)(ctx.cases)
    dataset, seconds = generate(url, ctx.cases, log=ctx.log)
    results: list[Result] = []
    if seconds is not None:
        results.append(Result("generate", "seconds", round(seconds, 2)))
    with tempfile.TemporaryDirectory(prefix="casekit-bench-") as folder:
        kit = CaseKit(
            settings=Settings(
                database_url=url, attachment_dir=Path(folder), load_entry_points=False
            ),
            clock=FrozenClock(dataset.anchor),
        )
        try:
            yield kit, dataset, results
        finally:
            kit.engine.dispose()


def default_url(cases: int) -> str:
    return f"sqlite:////tmp/casekit-bench-{cases}.sqlite3"


@scenario(
    NAME,
    help="build the seeded list benchmark data set (kept for the next run)",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    url = ctx.database_url or default_url(ctx.cases)
    dataset, seconds = generate(url, ctx.cases, log=ctx.log)
    results = [Result("generate.cases", "count", float(dataset.cases))]
    if seconds is not None:
        results.append(Result("generate", "seconds", round(seconds, 2)))
        results.append(Result("generate", "cases_per_s", round(dataset.cases / seconds, 1)))
    return results
