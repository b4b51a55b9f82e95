"""Random operations by random actors; after every step nobody reads what they must not.

A hypothesis state machine drives opening cases (with or without carrier,
customer, shipment, first message and attachment), posting with each of
the four audiences (internal, partners, customer, everyone), shares of a
customer message with the carrier, CRM numbers, owners, watchers, status
changes, reopening, shipment links and replies by mail, tags, the
priority, rules' conditions naming any organization's tag, a freight
claim's internal valuation and the carrier's settlement offers, by the staff of
two shippers and two carriers (agents, managers, an admin), four
customers, org-bound system actors and the unrestricted host. Three
times in four the actor is one who may see the case; otherwise anyone, or
a case number that does not exist.

Beside casekit the machine keeps its own model: each case's parties,
status, owners, watchers, linked shipment, each organization's CRM number,
and every timeline entry with its audience, author's organization and
whether the shipper shared it with the carrier. Each
operation's outcome (done, ``PermissionDenied``, ``InvalidInput`` or
``NotFound``) must be the one the model predicts, and the entries it
appends must be the ones predicted. After every step, for every actor:

* ``cases.list`` (after every fourth step, and the host's after every step)
  returns exactly the cases the model lets it see, and each
  ``CaseView`` carries only the actor's own organization's CRM number and
  watchers (nothing of the kind, nor owners, for a customer);
* ``cases.get`` of each case the step named (read or wrote, allowed or not)
  gives the same view, and for a case the actor may not see raises
  ``NotFound`` with the very text a case
  number that does not exist gets (the list scopes every case by the same
  clause, and the host's list shows every case's parties after every step);
* the timeline of the case the step touched is exactly the entries the pure
  audience rule (``entry_visible``) lets the actor read (or ``NotFound``):
  the scoped SQL and the rule agree for all four audiences (the carrier
  reads a customer entry only once shared), and the carrier reads status
  events' values as it sees statuses (``reply_received`` and ``waiting``
  as ``open``); each side keeps its own status (the shipper's conversation
  with its customer leaves the carrier's where it was, and the carrier's own
  moves are events for its staff only), which its ``CaseView`` shows with
  its side's latest message;
* the case's freight claims hold the shipper's valuation for its staff and the
  host alone (``None`` for anyone else; a customer reads no claim);
* no secret the actor may not read (a unique token in every message body,
  every CRM number, every claim's valuation note) appears anywhere in what it
  read.

At the end of each example every timeline of every case, and ``NotFound`` for
every case it may not see, is checked again for every actor, with the Case
Management list, counts, search and CSV export
(same cases, no owners for customers, CRM numbers found only by their org,
the status and latest message the actor's side reads, in rows, the status
filter and the report),
and every attachment opens for exactly those who may read its entry.

Every example starts from empty tables but the directory's (built by the
first example, taken over by the next ones once its rows read back as
built) and opens a first case. The run is derandomized (the same examples on every run) and
runs at least 2,000 steps on each of SQLite, PostgreSQL and
MySQL/MariaDB, which the test checks and reports at the end of pytest's
output. ``CASEKIT_ACCESS_EXAMPLES=200`` runs that
many random examples instead, new ones each time (docs/testing.rst).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import itertools
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from casekit import (
    Actor,
    Audience,
    CaseKit,
    EventKind,
    InvalidInput,
    NotFound,
    OrgRole,
    PermissionDenied,
    ShipmentFacts,
    Side,
    Status,
    Upload,
    UserRole,
)
from casekit.domain.audience import entry_visible
from casekit.mail.compose import OutgoingNotification
from casekit.query.listing import BuiltinView, ListQuery
from casekit.services.inbound import Outcome
from casekit.store import tables
from casekit.testing import CapturedMail, FrozenClock, empty_tables, make_kit

MISSING = "CV999999"
#: A report's range: the month the test clock runs in (from 5 January 09:00, a second
#: a step). A year's range built a report of 365 days for every actor at the end of
#: every example, most of the test's time.
REPORT_RANGE = {"from": "2026-01-01", "to": "2026-01-31", "timezone": "Europe/Paris"}
MAX_CASES = 5  # per example: a few cases, many operations on each

#: The reply address of notifications, and the secret signing their reply tokens.
REPLY_ADDRESS = "reply@inbound.casekit.test"
REPLY_SECRET = "access-property-secret-0123456789"

#: The CI budget per database: at least CI_STEPS[backend] steps (rules run), in
#: examples of at most STEPS_PER_EXAMPLE steps, the same on every run
#: (docs/testing.rst). Each database starts from its own seed (FIRST_SEED), so no
#: two run the same examples: 4,000 different steps a run. A server's step costs
#: about twice SQLite's; the servers run half SQLite's budget.
CI_STEPS = {"sqlite": 2_000, "postgresql": 1_000, "mysql": 1_000}
FIRST_SEED = {"sqlite": 0, "postgresql": 1_000, "mysql": 2_000}
STEPS_PER_EXAMPLE = 100
#: Every actor's list is read after every LIST_EVERY-th step and at the end of each
#: example. After the other steps every actor gets each case the step named, its
#: view or NotFound, by the clause that scopes the list: a step changes only the
#: cases it names, and reading every list after every step made up half the test's
#: time.
LIST_EVERY = 4
#: Examples end early now and then (hypothesis stops one whose choices near its
#: buffer's limit), and which do depends on the ids the database hands out, so on
#: the tests that ran before in the same process: from 72 steps an example in a
#: whole-suite run to 100 alone. So the budget runs in rounds, each with its own
#: seed and as many examples as the steps still owed need, until it has run them.


#: The rules run (steps), per backend, by this process's runs of the machine.
STEPS: Counter[str] = Counter()
#: The runs of each rule, by name, by this process's runs of the machine.
RULES: Counter[str] = Counter()


def counted(rule_function: Callable[..., None]) -> Callable[..., None]:
    """Count each run of a rule in :data:`STEPS` under the machine's backend."""

    @functools.wraps(rule_function)
    def step(self: AccessMachine, **arguments: Any) -> None:
        STEPS[self.backend] += 1
        RULES[rule_function.__name__] += 1
        rule_function(self, **arguments)

    return step


# -- the model ------------------------------------------------------------------------


@attrs.define
class Who:
    """One actor of the world and what the model knows about it."""

    label: str
    actor: Actor
    org: int | None = None  # the organization the actor acts for, if any
    user: int | None = None
    customer: int | None = None
    manager: bool = False

    @property
    def host(self) -> bool:
        return self.actor.is_unrestricted

    @property
    def staff(self) -> bool:
        return self.org is not None


@attrs.define
class MEntry:
    id: int
    kind: str  # "message" or an EventKind value
    audience: Audience
    org: int | None
    at: datetime
    token: str | None = None  # a unique secret in a message's body
    attachments: list[int] = attrs.field(factory=list)
    by_customer: bool = False
    shared: bool = False  # a customer entry the shipper shared with the carrier
    old: str | None = None  # an event's old and new values, as the host reads them
    new: str | None = None


@attrs.define
class MTriage:
    """A triaged inbound mail: the case it answered, whom it was addressed to."""

    id: int
    case: MCase
    sender: str
    addressee_org: int | None  # the organization of the notification's recipient
    org: int | None  # the organization casekit triaged it for
    handled: bool = False


@attrs.define
class MCase:
    number: str
    id: int
    shipper: int
    carrier: int | None
    customer: int | None
    shipment: str | None = None  # the reference of the linked shipment
    status: Status = Status.NEW  # the shipper's (and the customer's)
    carrier_status: Status = Status.NEW  # the carrier's own
    owners: dict[Side, int | None] = attrs.field(
        factory=lambda: {Side.SHIPPER: None, Side.CARRIER: None}
    )
    watchers: set[int] = attrs.field(factory=set)
    participants: set[str] = attrs.field(factory=set)  # the addresses filed mail came from
    #: each participant address and the organization it was first added for
    participant_org: dict[str, int] = attrs.field(factory=dict)
    crm: dict[int, str] = attrs.field(factory=dict)
    #: each organization's tags on the case, by name; the priority both sides share
    tags: dict[int, set[str]] = attrs.field(factory=dict)
    priority: str = "normal"
    #: each organization's custom field values on the case: its private "note" and
    #: its shared "dock" (shared with the case's other party)
    fields: dict[int, dict[str, str]] = attrs.field(factory=dict)
    entries: list[MEntry] = attrs.field(factory=list)
    opening: MEntry | None = None  # the message the case was opened with

    def side_of(self, org: int | None) -> Side | None:
        if org is None:
            return None
        if org == self.shipper:
            return Side.SHIPPER
        if org == self.carrier:
            return Side.CARRIER
        return None

    def org_of(self, side: Side) -> int | None:
        return self.shipper if side is Side.SHIPPER else self.carrier


def may_see_case(who: Who, case: MCase) -> bool:
    if who.host:
        return True
    if who.customer is not None:
        return case.customer == who.customer
    return who.org is not None and who.org in (case.shipper, case.carrier)


def for_carrier(who: Who, case: MCase) -> bool:
    """Whether ``who`` acts for ``case``'s carrier (its staff or system actor)."""
    return who.org is not None and who.org == case.carrier


def may_read_entry(who: Who, case: MCase, entry: MEntry) -> bool:
    """The pure audience rule (``entry_visible``), which the scoped SQL must follow:
    the customer reads customer and everyone; the carrier a customer entry only
    once the shipper shared it; an internal entry its organization only."""
    return entry_visible(
        entry.audience,
        entry.org,
        viewer_org_id=who.org,
        viewer_is_customer=who.customer is not None,
        viewer_is_carrier=for_carrier(who, case),
        shared=entry.shared,
        viewer_unrestricted=who.host,
    )


def latest_message(who: Who, case: MCase) -> MEntry | None:
    """The latest message ``who`` may read on ``case`` that dates it: never an
    internal note; for the customer one for customer or everyone; for the
    carrier one for partners or everyone, or a customer entry shared with it."""
    return max(
        (
            e
            for e in case.entries
            if e.kind == "message"
            and e.audience is not Audience.INTERNAL
            and may_read_entry(who, case, e)
        ),
        key=lambda e: e.id,
        default=None,
    )


#: The statuses of the shipper's conversation with its customer: ``open`` to the carrier.
CUSTOMER_STATUSES = (Status.REPLY_RECEIVED, Status.WAITING)
STATUS_EVENTS = {EventKind.STATUS_CHANGED.value, EventKind.SOLVED.value, EventKind.REOPENED.value}
REACHES_CUSTOMER = (Audience.CUSTOMER, Audience.EVERYONE)


def carrier_reads(status: Status) -> Status:
    return Status.OPEN if status in CUSTOMER_STATUSES else status


def status_seen(who: Who, case: MCase) -> Status:
    """The status ``who`` reads on ``case``: the carrier's staff read its own."""
    return case.carrier_status if for_carrier(who, case) else case.status


def value_seen(who: Who, case: MCase, value: str | None) -> str | None:
    """A status event's stored value as ``who`` reads it on ``case``."""
    if value is None or not for_carrier(who, case):
        return value
    return carrier_reads(Status(value)).value


def move_status(
    case: MCase, org: int | None, new: Status, *, carrier_reads_it: bool
) -> list[tuple[str, Audience, int | None]]:
    """Move ``case`` to ``new`` (the shipper's status); the carrier's follows
    when the carrier reads what moved it (or the case has no carrier), else it
    stays. The events: one for everyone when the carrier's moved alike; else
    the shipper's for it and its customer, and the carrier's for its staff."""
    old, carrier_old = case.status, case.carrier_status
    carrier_new = carrier_reads(new) if carrier_reads_it or case.carrier is None else carrier_old
    alike = (
        carrier_old is not carrier_new
        and carrier_old is carrier_reads(old)
        and carrier_new is carrier_reads(new)
    )
    events: list[tuple[str, Audience, int | None]] = []
    if new is not old:
        events.append(
            (status_event(old, new), Audience.EVERYONE if alike else Audience.CUSTOMER, org)
        )
    if carrier_new is not carrier_old and not alike and case.carrier is not None:
        events.append((status_event(carrier_old, carrier_new), Audience.INTERNAL, case.carrier))
    case.status, case.carrier_status = new, carrier_new
    return events


def is_recent_response(who: Who, case: MCase) -> bool:
    """Recent Responses: the latest message is someone else's (another org's, the
    customer's for staff; staff's for the customer)."""
    latest = latest_message(who, case)
    if latest is None:
        return False
    if who.customer is not None:
        return not latest.by_customer
    return who.org is None or latest.org is None or latest.org != who.org


def status_after_message(current: Status, audience: Audience, *, by_customer: bool) -> Status:
    if by_customer:
        return Status.REPLY_RECEIVED
    if audience is Audience.INTERNAL or current is Status.SOLVED:
        return current
    if audience in REACHES_CUSTOMER:
        return Status.WAITING
    return Status.OPEN if current is Status.NEW else current


def status_event(old: Status, new: Status) -> str:
    if new is Status.SOLVED:
        return EventKind.SOLVED.value
    if old is Status.SOLVED:
        return EventKind.REOPENED.value
    return EventKind.STATUS_CHANGED.value


def post_refusal(who: Who, case: MCase, audience: Audience) -> str | None:
    """Why ``who`` may not post for ``audience`` on ``case`` (an exception name), if so."""
    if who.host:
        return None
    if who.customer is not None:
        return None if audience in REACHES_CUSTOMER else "PermissionDenied"
    side = case.side_of(who.org)
    if side is None:
        return "PermissionDenied"
    # The carrier never writes to the shipper's customer; the shipper only to one it has.
    if audience in REACHES_CUSTOMER and (side is not Side.SHIPPER or case.customer is None):
        return "PermissionDenied"
    return None


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``call``; the name of the casekit error it raised (or "ok") and its value."""
    try:
        return "ok", call()
    except (NotFound, PermissionDenied, InvalidInput) as error:
        return type(error).__name__, error


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(payload)


def plain_text(message: Message) -> str:
    """A mail's plain text part."""
    return next((_text(p) for p in message.walk() if p.get_content_type() == "text/plain"), "")


def mail_text(message: Message) -> str:
    """A mail's subject and each of its text parts (plain and HTML)."""
    subject = str(make_header(decode_header(str(message["Subject"]))))
    parts = [_text(part) for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join([subject, *parts])


# -- the state machine --------------------------------------------------------------------

#: The attributes of the machine that describe the directory (:meth:`AccessMachine.build_world`).
WORLD = (
    "orgs",
    "org_role",
    "external",
    "shippers",
    "carriers",
    "actors",
    "user_org",
    "user_email",
    "users",
    "customer_shipper",
    "customer_email",
    "customers",
    "collaborators",
)


def table_rows(kit: CaseKit, names: Iterable[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of each of casekit's tables ``names``, in primary key order."""
    with kit.engine.connect() as conn:
        return {
            name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for name in names
            for table in [tables.metadata.tables[name]]
        }


AUDIENCES = st.sampled_from([None, *Audience])
PICK = st.integers(min_value=0, max_value=10_000)


class AccessMachine(RuleBasedStateMachine):
    """Random operations on one kit; the model in ``self.cases``."""

    kit: CaseKit
    backend: str
    mail: CapturedMail

    #: The directory every example starts from, built by the run's first example: the
    #: model's attributes of it (:data:`WORLD`), and the rows it wrote, by table.
    world: dict[str, Any] | None = None
    world_rows: dict[str, list[tuple[Any, ...]]] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        self.invariant_runs = 0  # the lists are read every LIST_EVERY-th run
        self.start_from_world()
        self.cases: list[MCase] = []
        self.crm_values: dict[str, int] = {}  # every CRM number ever set -> its org
        self.tag_values: dict[str, int] = {}  # every tag made -> its org
        #: every custom field value set -> its org, whether shared, its case
        self.field_values: dict[str, tuple[int, bool, MCase]] = {}
        self.field_orgs: set[int] = set()  # the organizations that made their two fields
        # every internal note a shipper kept on a disposition -> the shipper
        self.note_values: dict[str, int] = {}
        self.waiting_disposition: dict[str, int] = {}  # a case's request waiting for a decision
        #: a case's freight claim: its id, the carrier it was filed with, whether it is
        #: under the carrier's settlement offer
        self.claims: dict[str, tuple[int, int, bool]] = {}
        self.shipments: dict[tuple[int, str], int | None] = {}  # (shipper, ref) -> carrier
        self.touched: MCase | None = None
        #: The numbers of the cases this step named (read or written, allowed or not).
        self.addressed: set[str] = set()
        self.mail.outbox.clear()
        self.delivered: list[tuple[OutgoingNotification, MCase]] = []
        self.triaged: dict[int, MTriage] = {}
        #: Addresses that wrote on a case not theirs (a mail filed there, or taken as a
        #: participant's): they gave their address to whoever reads that case.
        self.self_told: set[str] = set()

    def start_from_world(self) -> None:
        """Empty tables but the directory's, the same in every example.

        The first example builds the directory (organizations, users, customers,
        collaborator addresses); each next one deletes the rows of every other table
        and takes the directory over once its rows read back exactly as built (else it
        builds it again): on a server, 25 writing transactions fewer an example.
        """
        kit = self.kit
        machine = type(self)
        if machine.world is not None and machine.world_rows is not None:
            empty_tables(kit, keep=machine.world_rows)
            if table_rows(kit, machine.world_rows) == machine.world_rows:
                self.__dict__.update(copy.deepcopy(machine.world))
                return
        empty_tables(kit)
        self.build_world()
        machine.world = copy.deepcopy({name: getattr(self, name) for name in WORLD})
        written = table_rows(kit, tables.metadata.tables)
        machine.world_rows = {name: rows for name, rows in written.items() if rows}

    def build_world(self) -> None:
        """The directory: two shippers and two carriers with their staff, customers,
        system actors, and the collaborator addresses of three pairs."""
        kit = self.kit
        host = Actor.host()
        directory = kit.directory
        self.orgs: dict[str, int] = {}
        self.org_role: dict[int, OrgRole] = {}
        self.external: dict[int, str] = {}
        # Carrier c1 is created first so that its id sorts before the shippers'.
        for name, org_role in [
            ("c1", OrgRole.CARRIER),
            ("s1", OrgRole.SHIPPER),
            ("s2", OrgRole.SHIPPER),
            ("c2", OrgRole.CARRIER),
        ]:
            org = directory.add_organization(
                host, name=f"Org {name}", role=org_role, external_id=name
            )
            assert org.id is not None
            self.orgs[name] = org.id
            self.org_role[org.id] = org_role
            self.external[org.id] = name
        self.shippers = [self.orgs["s1"], self.orgs["s2"]]
        self.carriers = [self.orgs["c1"], self.orgs["c2"]]
        self.actors: list[Who] = [Who("host", host)]
        self.user_org: dict[int, int] = {}
        self.user_email: dict[int, str] = {}
        people = {
            "s1": ["agent", "agent", "manager"],
            "s2": ["agent", "agent", "manager"],
            "c1": ["agent", "manager"],
            "c2": ["agent", "admin"],
        }
        for name, roles in people.items():
            org_id = self.orgs[name]
            for i, role in enumerate(roles):
                user = directory.add_user(
                    host,
                    org_id=org_id,
                    name=f"{name} {role} {i}",
                    email=f"{name}.{i}@example.test",
                    role=UserRole(role),
                )
                assert user.id is not None
                self.user_org[user.id] = org_id
                self.user_email[user.id] = user.email
                self.actors.append(
                    Who(
                        f"{name}-{role}{i}",
                        Actor.of_user(user),
                        org=org_id,
                        user=user.id,
                        manager=role != "agent",
                    )
                )
        self.customer_shipper: dict[int, int] = {}
        self.customer_email: dict[int, str] = {}
        for name in ("s1", "s2"):
            for i in range(2):
                customer = directory.add_customer(
                    host, shipper_org_id=self.orgs[name], email=f"buyer{i}@{name}.test"
                )
                assert customer.id is not None
                self.customer_shipper[customer.id] = self.orgs[name]
                self.customer_email[customer.id] = f"buyer{i}@{name}.test"
                self.actors.append(
                    Who(f"{name}-customer{i}", Actor.of_customer(customer), customer=customer.id)
                )
        for name in ("s1", "c2"):
            org_id = self.orgs[name]
            self.actors.append(
                Who(
                    f"{name}-api",
                    Actor.system_actor("api", org_id=org_id),
                    org=org_id,
                    manager=True,
                )
            )
        self.users = sorted(self.user_org)
        self.customers = sorted(self.customer_shipper)
        # Mail: every address, the collaborator addresses of two pairs (both sides).
        self.collaborators: dict[str, tuple[int, int, int]] = {}  # email -> shipper, carrier, side
        for shipper, carrier in (("s1", "c1"), ("s2", "c1"), ("s1", "c2")):
            for side in Side:
                email = f"desk.{side.value}.{shipper}.{carrier}@mail.test"
                kit.notifications.set_collaborator_address(
                    host,
                    shipper_org_id=self.orgs[shipper],
                    carrier_org_id=self.orgs[carrier],
                    side=side,
                    email=email,
                )
                owner = self.orgs[shipper] if side is Side.SHIPPER else self.orgs[carrier]
                self.collaborators[email] = (self.orgs[shipper], self.orgs[carrier], owner)

    # -- helpers ------------------------------------------------------------------------
    def who(self, pick: int) -> Who:
        return self.actors[pick % len(self.actors)]

    def case(self, pick: int) -> MCase | None:
        """A case of the model, or None (a case number that does not exist) now and then."""
        if not self.cases or pick % 10 == 9:
            return None
        return self.cases[pick % len(self.cases)]

    def pick(self, a: int, c: int) -> tuple[Who, MCase | None]:
        """A case and an actor: three times in four one that may see the case."""
        case = self.address(self.case(c))
        insiders = [w for w in self.actors if case is not None and may_see_case(w, case)]
        if a % 4 and insiders:
            return insiders[(a // 4) % len(insiders)], case
        return self.who(a // 4), case

    def address(self, case: MCase | None) -> MCase | None:
        """Note that this step names ``case``: every actor gets it after the step."""
        if case is not None:
            self.addressed.add(case.number)
        return case

    def message_tokens(self) -> list[tuple[MCase, str]]:
        """Each message's token with its case (a token is one word of its body)."""
        found = []
        for case in self.cases:
            for entry in case.entries:
                if entry.kind == "message" and entry.token:
                    match = re.search(r"[a-z]+\d{5}x", entry.token)
                    if match:
                        found.append((case, match.group()))
        return found

    def token(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:05d}x"

    def number(self, case: MCase | None) -> str:
        return MISSING if case is None else case.number

    def expect(
        self,
        got: tuple[str, Any],
        expected: str,
        what: str,
        number: str = "",
        subject: str = "case",
    ) -> Any:
        """Check an operation's outcome; a NotFound must read like a missing case's."""
        kind, value = got
        assert kind == expected, f"{what}: expected {expected}, got {kind}: {value!r}"
        if kind == "NotFound" and subject == "case":
            assert (value.kind, value.key) == ("case", number), value
            assert str(value) == f"case {number!r} not found", value
        return value

    def sees(self, who: Who, case: MCase | None) -> bool:
        """Whether ``case`` exists and ``who`` may see it."""
        return case is not None and may_see_case(who, case)

    def record(self, case: MCase, expected: list[tuple[str, Audience, int | None]]) -> None:
        """Match the entries casekit appended to ``case`` (as the host reads them)."""
        known = {e.id for e in case.entries}
        timeline = self.kit.cases.timeline(Actor.host(), case.number)
        new = [e for e in timeline if e.id not in known]
        got = [
            (e.event.value if e.event is not None else e.kind.value, e.audience, e.org_id)
            for e in new
        ]
        assert got == expected, f"{case.number}: entries {got}, expected {expected}"
        for entry, (kind, audience, org) in zip(new, got, strict=True):
            token = entry.body if kind == "message" else None
            attachments = [a.id for a in entry.attachments]
            by_customer = entry.customer_id is not None
            case.entries.append(
                MEntry(
                    entry.id,
                    kind,
                    audience,
                    org,
                    entry.created_at,
                    token,
                    attachments,
                    by_customer,
                    old=entry.old_value,
                    new=entry.new_value,
                )
            )

    def check_move(self, case: MCase, old: Status) -> None:
        """A status move's event holds the statuses it moved between, as stored."""
        if case.status is not old:  # the shipper's move (the carrier's own is internal)
            event = next(
                e
                for e in reversed(case.entries)
                if e.kind in STATUS_EVENTS and e.audience is not Audience.INTERNAL
            )
            assert (event.old, event.new) == (old.value, case.status.value), (case.number, event)

    # -- rules ---------------------------------------------------------------------------
    @initialize(
        a=PICK,
        carrier=st.sampled_from([None, 0, 1]),
        customer=st.sampled_from([None, 0, 1]),
        audience=st.sampled_from(["none", None, *Audience]),
        attach=st.booleans(),
    )
    @counted
    def open_first_case(
        self, a: int, carrier: int | None, customer: int | None, audience: Any, attach: bool
    ) -> None:
        """Every example starts with a case a shipper's staff opens.

        Hypothesis leaves some rules out of an example: without this, an example
        that left out ``open_case`` had no case, no rule it could run, and ended
        invalid after no step at all.
        """
        staff = [w for w in self.actors if w.org in self.shippers]
        if audience in REACHES_CUSTOMER and customer is None:
            customer = 0  # a message to the customer needs one on the case
        self.do_open(staff[a % len(staff)], 0, carrier, customer, None, audience, attach)
        assert self.cases, "the first case was not opened"

    @precondition(lambda self: len(self.cases) < MAX_CASES)
    @rule(
        a=PICK,
        shipper=st.integers(0, 1),
        carrier=st.sampled_from([None, 0, 1]),
        customer=st.sampled_from([None, 0, 1, "foreign"]),
        shipment=st.sampled_from([None, None, "SHP-A", "SHP-B"]),
        audience=st.sampled_from(["none", None, *Audience]),
        attach=st.booleans(),
    )
    @counted
    def open_case(
        self,
        a: int,
        shipper: int,
        carrier: int | None,
        customer: int | str | None,
        shipment: str | None,
        audience: str | Audience | None,
        attach: bool,
    ) -> None:
        self.do_open(self.who(a), shipper, carrier, customer, shipment, audience, attach)

    def do_open(
        self,
        who: Who,
        shipper: int,
        carrier: int | None,
        customer: int | str | None,
        shipment: str | None,
        audience: str | Audience | None,
        attach: bool,
    ) -> None:
        kwargs: dict[str, Any] = {"type": "where_is_my_order"}
        if who.customer is not None:
            kwargs = {}
            shipper_id = self.customer_shipper[who.customer]
            carrier_id = None
            customer_id: int | None = who.customer
            shipment = None
        else:
            carrier_id = None if carrier is None else self.carriers[carrier]
            if who.org is not None and self.org_role[who.org] is OrgRole.SHIPPER:
                shipper_id = who.org
                kwargs.update(carrier=carrier_id)
            elif who.org is not None:
                carrier_id = who.org
                shipper_id = self.shippers[shipper]
                kwargs.update(shipper=shipper_id)
            else:
                shipper_id = self.shippers[shipper]
                kwargs.update(shipper=shipper_id, carrier=carrier_id)
            # The shipper's own customers, or now and then another shipper's.
            own = [k for k, s in self.customer_shipper.items() if s == shipper_id]
            foreign = [k for k, s in self.customer_shipper.items() if s != shipper_id]
            if customer == "foreign":
                customer_id = foreign[0]
            else:
                customer_id = None if customer is None else own[int(customer)]
            kwargs.update(customer=customer_id, shipment=shipment)
        draft = MCase("", 0, shipper_id, carrier_id, customer_id, shipment=shipment)
        token = None
        expected = "ok"
        chosen = audience or (Audience.CUSTOMER if who.customer is not None else Audience.PARTNERS)
        if audience != "none":
            assert isinstance(chosen, Audience)
            token = self.token("tok")
            kwargs.update(message=f"opening {token}", audience=audience)
            if attach:
                kwargs.update(attachments=[Upload("note.txt", io.BytesIO(token.encode()))])
        carrier_side = who.org is not None and self.org_role[who.org] is OrgRole.CARRIER
        if customer_id is not None and (
            carrier_side or self.customer_shipper[customer_id] != shipper_id
        ):
            # Only the shipper's side names a customer, and only its own.
            expected = "InvalidInput"
        elif shipment is not None:
            # No lookup plugin: the shipment is the stored one, or NotFound.
            key = (shipper_id, shipment)
            stored = self.shipments.get(key)
            if key not in self.shipments:
                expected = "NotFound"
            elif refusal := self.shipment_refusal(who, shipper_id, shipment, stored):
                expected = refusal
            elif draft.carrier is None:
                draft.carrier = stored
            elif stored not in (None, draft.carrier):
                expected = "InvalidInput"
        if expected == "ok" and token is not None:
            assert isinstance(chosen, Audience)
            expected = post_refusal(who, draft, chosen) or "ok"
        view = self.expect(
            outcome(lambda: self.kit.cases.open(who.actor, **kwargs)),
            expected,
            f"open {shipment} by {who.label}",
            subject="shipment",
        )
        if expected != "ok":
            return
        case = attrs.evolve(draft, number=view.number, id=view.id)
        side = case.side_of(who.org)
        if who.user is not None and side is not None:
            case.owners[side] = who.user
        entries = [(EventKind.OPENED.value, Audience.EVERYONE, who.org)]
        if token is not None:
            assert isinstance(chosen, Audience)
            entries.append(("message", chosen, who.org))
        self.cases.append(case)
        self.record(case, entries)
        if token is not None:
            case.opening = case.entries[-1]
            assert case.entries[-1].token == f"opening {token}"
            assert len(case.entries[-1].attachments) == (1 if attach else 0)
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, audience=AUDIENCES, attach=st.booleans())
    @counted
    def post(self, a: int, c: int, audience: Audience | None, attach: bool) -> None:
        self.do_post(*self.pick(a, c), audience, attach)

    def do_post(
        self, who: Who, case: MCase | None, audience: Audience | None, attach: bool
    ) -> None:
        token = self.token("tok")
        chosen = audience or (Audience.CUSTOMER if who.customer is not None else Audience.PARTNERS)
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            expected = post_refusal(who, case, chosen) or "ok"
        files = (
            [Upload("scan.pdf", io.BytesIO(token.encode()), "application/pdf")] if attach else []
        )
        result = outcome(
            lambda: self.kit.messages.post(
                who.actor, self.number(case), token, audience=audience, attachments=files
            )
        )
        self.expect(result, expected, f"post {chosen} by {who.label}", self.number(case))
        if expected != "ok":
            return
        assert case is not None
        entries = [("message", chosen, who.org)]
        old = case.status
        new = status_after_message(old, chosen, by_customer=who.customer is not None)
        entries += move_status(case, who.org, new, carrier_reads_it=chosen.reaches_carrier)
        self.record(case, entries)
        self.check_move(case, old)
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, clear=st.booleans())
    @counted
    def set_crm_number(self, a: int, c: int, clear: bool) -> None:
        who, case = self.pick(a, c)
        value = None if clear else self.token("crm")
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            expected = "ok" if who.staff and case.side_of(who.org) else "PermissionDenied"
        self.expect(
            outcome(lambda: self.kit.cases.set_crm_number(who.actor, self.number(case), value)),
            expected,
            f"CRM number by {who.label}",
            self.number(case),
        )
        if expected != "ok":
            return
        assert case is not None
        assert who.org is not None
        if value is not None:
            self.crm_values[value] = who.org
        if case.crm.get(who.org) != value:
            if value is None:
                del case.crm[who.org]
            else:
                case.crm[who.org] = value
            self.record(case, [(EventKind.CRM_NUMBER_SET.value, Audience.INTERNAL, who.org)])
        else:
            self.record(case, [])
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, remove=st.booleans())
    @counted
    def tag_case(self, a: int, c: int, remove: bool) -> None:
        """Put a new tag of the actor's organization (a customer's and the host's: of the
        shipper) on the case, or take the actor's organization's tags off."""
        who, case = self.pick(a, c)
        org = who.org if who.staff else (case.shipper if case is not None else None)
        names = sorted(case.tags.get(org, set())) if case is not None and org else []
        tag_ids: list[int] = []
        if org is not None and not remove:
            name = self.token("tag")
            tag = self.kit.tags.create(Actor.system_actor("api", org_id=org), name)
            self.tag_values[name] = org
            tag_ids, names = [tag.id or 0], [name]
        elif org is not None:
            by_name = {
                t.name: t.id for t in self.kit.tags.list(Actor.system_actor("api", org_id=org))
            }
            tag_ids = [by_name[n] or 0 for n in names]
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            expected = "ok" if who.staff and case.side_of(who.org) else "PermissionDenied"
        key = "remove_tags" if remove else "add_tags"
        self.expect(
            outcome(lambda: self.kit.cases.change(who.actor, self.number(case), {key: tag_ids})),
            expected,
            f"tags by {who.label}",
            self.number(case),
        )
        if expected != "ok":
            return
        assert case is not None
        assert who.org is not None
        kind = EventKind.TAG_REMOVED if remove else EventKind.TAG_ADDED
        self.record(case, [(kind.value, Audience.INTERNAL, who.org) for _ in names])
        own = case.tags.setdefault(who.org, set())
        if remove:
            own.difference_update(names)
        else:
            own.update(names)
        self.touched = case

    @precondition(lambda self: self.tag_values)
    @rule(
        a=PICK, t=PICK, field=st.sampled_from(["case_tags_any", "case_tags_all", "case_tags_none"])
    )
    @counted
    def name_a_tag_in_a_rule(self, a: int, t: int, field: str) -> None:
        """A rule's condition on the shipment's cases names a tag of some organization:
        only a rule of that organization may, and for any other the tag reads as one that
        does not exist (its name in no error); what the dry run finds meets the condition
        in the model (the shipper's active cases of the shipment carrying its tag)."""
        who = self.who(a)
        names = sorted(self.tag_values)
        name = names[t % len(names)]
        org = self.tag_values[name]
        by_name = {
            x.name: x.id
            for x in self.kit.tags.list(Actor.system_actor("api", org_id=org), archived=True)
        }
        tag_id = by_name[name] or 0
        definition = {"name": "p", "exceptions": ["damaged"], "case_type": "other", field: [tag_id]}
        if who.customer is not None:
            expected = "PermissionDenied"
        elif who.host or who.org == org:
            expected = "ok"
        else:
            expected = "InvalidInput"
        got = outcome(
            lambda: self.kit.rules.dry_run(who.actor, definition, org_id=org if who.host else None)
        )
        self.expect(got, expected, f"a rule naming {name} by {who.label}", subject="rule")
        if expected == "InvalidInput":
            error = got[1]
            assert error.errors == {field: [f"not tags of the shipper: [{tag_id}]"]}, error.errors
            assert name not in str(error.errors)
        elif expected == "ok":
            for reference in got[1]:
                active = [
                    case
                    for case in self.cases
                    if case.shipper == org
                    and case.shipment == reference
                    and case.status is not Status.SOLVED
                ]
                carrying = [case for case in active if name in case.tags.get(org, set())]
                assert (not carrying) if field == "case_tags_none" else bool(carrying), reference

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, shared=st.booleans())
    @counted
    def set_field(self, a: int, c: int, shared: bool) -> None:
        """Set the actor's organization's private ("note") or shared ("dock") custom field
        on the case to a new value (a customer and the host may not)."""
        who, case = self.pick(a, c)
        if who.staff and who.org is not None and who.org not in self.field_orgs:
            manager = Actor.system_actor("api", org_id=who.org)
            self.kit.custom_fields.create(manager, "note", "Note", "text")
            self.kit.custom_fields.create(manager, "dock", "Dock", "text", visibility="shared")
            self.field_orgs.add(who.org)
        key = "dock" if shared else "note"
        value = self.token("field")
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            expected = "ok" if who.staff and case.side_of(who.org) else "PermissionDenied"
        self.expect(
            outcome(
                lambda: self.kit.cases.change(
                    who.actor, self.number(case), {"custom_fields": {key: value}}
                )
            ),
            expected,
            f"custom field by {who.label}",
            self.number(case),
        )
        if expected != "ok":
            return
        assert case is not None
        assert who.org is not None
        audience = Audience.PARTNERS if shared else Audience.INTERNAL
        self.record(case, [(EventKind.CUSTOM_FIELD_CHANGED.value, audience, who.org)])
        case.fields.setdefault(who.org, {})[key] = value
        self.field_values[value] = (who.org, shared, case)
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK)
    @counted
    def decide_disposition(self, a: int, c: int) -> None:
        """The carrier asks for a disposition (unless one is waiting); the actor decides
        it with an internal note, which only the shipper's staff ever read."""
        who, case = self.pick(a, c)
        if case is None or case.carrier is None:
            return
        number = case.number
        expected_events: list[tuple[str, Audience, int | None]] = []
        if number not in self.waiting_disposition:
            asked = self.kit.actions.request_disposition(
                Actor.system_actor("api", org_id=case.carrier),
                number,
                reason="refused",
                deadline=self.kit.clock.now() + timedelta(days=3),
            )
            self.waiting_disposition[number] = asked.id
            expected_events.append(
                (EventKind.DISPOSITION_REQUESTED.value, Audience.PARTNERS, case.carrier)
            )
        note = self.token("note")
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            expected = "ok" if who.staff and who.org == case.shipper else "PermissionDenied"
        action_id = self.waiting_disposition[number]
        self.expect(
            outcome(
                lambda: self.kit.actions.decide_disposition(
                    who.actor, number, action_id, choice="hold", payer="shipper",
                    internal_note=note,
                )
            ),
            expected,
            f"disposition by {who.label}",
            number,
        )  # fmt: skip
        if expected == "ok":
            del self.waiting_disposition[number]
            self.note_values[note] = case.shipper
            expected_events.append(
                (EventKind.DISPOSITION_DECIDED.value, Audience.PARTNERS, who.org)
            )
        self.record(case, expected_events)
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, offer=st.booleans())
    @counted
    def value_a_claim(self, a: int, c: int, offer: bool) -> None:
        """The shipper files a freight claim on the case (made a loss first), unless it
        has one; the actor sets the claim's internal valuation, whose note only the
        shipper's staff (and the host) ever read: never the carrier's, in the claim, a
        step's answer or the timeline. With ``offer``, the carrier (still the case's)
        makes a settlement offer first (the shipper rejecting a waiting one), and what
        the carrier is answered holds no valuation."""
        who, case = self.pick(a, c)
        if case is None or case.carrier is None:
            return
        number = case.number
        shipper = Actor.system_actor("api", org_id=case.shipper)
        expected_events: list[tuple[str, Audience, int | None]] = []
        if number not in self.claims:
            self.kit.cases.change_type(shipper, number, "lost")
            lines = {"lines": [{"description": "Pallet", "amount": "100.00"}]}
            drafted = self.kit.claims.draft(shipper, number, lines)
            self.kit.claims.file(shipper, number, drafted.id)
            self.claims[number] = (drafted.id, case.carrier, False)
            expected_events += [
                (EventKind.TYPE_CHANGED.value, Audience.PARTNERS, case.shipper),
                (EventKind.CLAIM_DRAFTED.value, Audience.INTERNAL, case.shipper),
                (EventKind.CLAIM_FILED.value, Audience.PARTNERS, case.shipper),
            ]
        claim_id, filed_with, offered = self.claims[number]
        if offer and filed_with == case.carrier:
            if offered:
                self.kit.claims.reject_offer(shipper, number, claim_id, reason="Too low")
                expected_events.append(
                    (EventKind.CLAIM_OFFER_REJECTED.value, Audience.PARTNERS, case.shipper)
                )
            carrier = Who("carrier-api", Actor.system_actor("api", org_id=case.carrier),
                          org=case.carrier)  # fmt: skip
            answer = self.kit.claims.offer(carrier.actor, number, claim_id, amount_offered="10.00")
            assert (answer.expected_recovery, answer.valuation_note) == (None, None)
            self.assert_unread(carrier, [answer], "the answer to its offer")
            self.claims[number] = (claim_id, filed_with, True)
            expected_events.append((EventKind.CLAIM_OFFERED.value, Audience.PARTNERS, case.carrier))
        note = self.token("valuation")
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            expected = "ok" if who.staff and who.org == case.shipper else "PermissionDenied"
        valued = self.expect(
            outcome(
                lambda: self.kit.claims.set_valuation(
                    who.actor, number, claim_id, expected_recovery="60.00", note=note
                )
            ),
            expected,
            f"claim valuation by {who.label}",
            number,
        )
        if expected == "ok":
            assert valued.valuation_note == note
            self.note_values[note] = case.shipper
            expected_events.append((EventKind.CLAIM_VALUED.value, Audience.INTERNAL, case.shipper))
        self.record(case, expected_events)
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, priority=st.sampled_from(["low", "normal", "high", "urgent"]))
    @counted
    def set_priority(self, a: int, c: int, priority: str) -> None:
        who, case = self.pick(a, c)
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            works = who.host or (who.staff and case.side_of(who.org) is not None)
            expected = "ok" if works else "PermissionDenied"
        self.expect(
            outcome(
                lambda: self.kit.cases.change(who.actor, self.number(case), {"priority": priority})
            ),
            expected,
            f"priority by {who.label}",
            self.number(case),
        )
        if expected != "ok":
            return
        assert case is not None
        moved = case.priority != priority
        case.priority = priority
        self.record(
            case, [(EventKind.PRIORITY_CHANGED.value, Audience.PARTNERS, who.org)] if moved else []
        )
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(
        a=PICK,
        c=PICK,
        side=st.sampled_from([None, Side.SHIPPER, Side.CARRIER]),
        to=st.one_of(st.none(), PICK, st.sampled_from([-1, -2])),
    )
    @counted
    def set_owner(self, a: int, c: int, side: Side | None, to: int | None) -> None:
        who, case = self.pick(a, c)
        if to == -1:
            user_id = who.user  # take it
        elif to == -2:  # a colleague
            colleagues = [u for u in self.users if self.user_org[u] == who.org]
            user_id = colleagues[a % len(colleagues)] if colleagues else None
        elif to is not None:
            user_id = self.users[to % len(self.users)]
        else:
            user_id = None
        self.do_set_owner(who, case, side, user_id)

    def do_set_owner(
        self, who: Who, case: MCase | None, side: Side | None, user_id: int | None
    ) -> None:
        expected = self._owner_outcome(who, case, side, user_id)
        self.expect(
            outcome(
                lambda: self.kit.cases.set_owner(who.actor, self.number(case), user_id, side=side)
            ),
            expected,
            f"owner {side} := {user_id} by {who.label}",
            self.number(case),
        )
        if expected != "ok":
            return
        assert case is not None
        which = side or case.side_of(who.org)
        assert which is not None
        if case.owners[which] != user_id:
            case.owners[which] = user_id
            self.record(
                case, [(EventKind.OWNER_CHANGED.value, Audience.PARTNERS, case.org_of(which))]
            )
        else:
            self.record(case, [])
        self.touched = case

    def _owner_outcome(
        self, who: Who, case: MCase | None, side: Side | None, user_id: int | None
    ) -> str:
        if not self.sees(who, case):
            return "NotFound"
        assert case is not None
        own = case.side_of(who.org) if who.staff else None
        which = side or own
        if which is None:
            return "InvalidInput"
        if not who.host:
            if own is not which:
                return "PermissionDenied"
            current = case.owners[which]
            if current is not None and current != who.user and not who.manager:
                return "PermissionDenied"
        side_org = case.org_of(which)
        if side_org is None:
            return "InvalidInput"
        if user_id is not None and self.user_org[user_id] != side_org:
            return "InvalidInput"
        return "ok"

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, to=st.one_of(st.none(), PICK), adding=st.booleans())
    @counted
    def watch(self, a: int, c: int, to: int | None, adding: bool) -> None:
        who, case = self.pick(a, c)
        user_id = self.users[to % len(self.users)] if to is not None else who.user
        if user_id is None:
            user_id = self.users[a % len(self.users)]
        self.do_watch(who, case, user_id, adding)

    def do_watch(self, who: Who, case: MCase | None, user_id: int, adding: bool) -> None:
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            expected = "ok"
            outsider = not who.staff or case.side_of(who.org) is None
            removes_another = not adding and user_id != who.user and not who.manager
            if not who.host and (outsider or removes_another):
                expected = "PermissionDenied"
            if expected == "ok" and (
                case.side_of(self.user_org[user_id]) is None
                or (not who.host and self.user_org[user_id] != who.org)
            ):
                expected = "InvalidInput"
        call = self.kit.cases.watch if adding else self.kit.cases.unwatch
        self.expect(
            outcome(lambda: call(who.actor, self.number(case), user_id)),
            expected,
            f"{'watch' if adding else 'unwatch'} {user_id} by {who.label}",
            self.number(case),
        )
        if expected != "ok":
            return
        assert case is not None
        if adding != (user_id in case.watchers):
            if adding:
                case.watchers.add(user_id)
                kind = EventKind.WATCHER_ADDED
            else:
                case.watchers.discard(user_id)
                kind = EventKind.WATCHER_REMOVED
            self.record(case, [(kind.value, Audience.INTERNAL, self.user_org[user_id])])
        else:
            self.record(case, [])
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(
        a=PICK,
        c=PICK,
        status=st.sampled_from(
            [Status.OPEN, Status.WAITING, Status.REPLY_RECEIVED, Status.SOLVED, Status.NEW]
        ),
        reopen=st.sampled_from([False, False, True]),
    )
    @counted
    def change_status(self, a: int, c: int, status: Status, reopen: bool) -> None:
        self.do_change_status(*self.pick(a, c), Status.OPEN if reopen else status, reopen)

    def do_change_status(self, who: Who, case: MCase | None, target: Status, reopen: bool) -> None:
        """A move by hand, of both sides' statuses; the carrier's staff choose open
        or solved only, and the status they see already (while the shipper's is
        another) changes nothing."""
        unchanged = False
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            carrier = not who.host and case.side_of(who.org) is Side.CARRIER
            outsider = not who.host and (not who.staff or case.side_of(who.org) is None)
            if outsider or (carrier and target in CUSTOMER_STATUSES):
                expected = "PermissionDenied"
            elif reopen:
                expected = "ok" if status_seen(who, case) is Status.SOLVED else "InvalidInput"
            elif carrier and target is case.carrier_status and target is not case.status:
                # What the carrier sees already, while the shipper talks with its customer.
                expected, unchanged = "ok", True
            elif target is status_seen(who, case) or target is Status.NEW:
                expected = "InvalidInput"
            else:
                expected = "ok"
        number = self.number(case)
        if reopen:
            result = outcome(lambda: self.kit.cases.reopen(who.actor, number))
        else:
            result = outcome(lambda: self.kit.cases.change_status(who.actor, number, target))
        self.expect(result, expected, f"status {target} by {who.label}", number)
        if expected != "ok":
            return
        assert case is not None
        self.touched = case
        if unchanged:
            self.record(case, [])
            return
        old = case.status
        self.record(case, move_status(case, who.org, target, carrier_reads_it=True))
        self.check_move(case, old)

    @precondition(lambda self: self.cases)
    @rule(a=PICK, c=PICK, e=PICK)
    @counted
    def share(self, a: int, c: int, e: int) -> None:
        """Share an entry with the carrier: mostly a message for the customer, now and
        then any entry of the case, or one of another case; half the time by the
        shipper's staff, the rest by anyone (three times in four one who sees it)."""
        who, case = self.pick(a // 2, c)
        shipper_staff = [w for w in self.actors if w.staff and case and w.org == case.shipper]
        if a % 2 and shipper_staff:
            who = shipper_staff[a // 2 % len(shipper_staff)]
        entries = case.entries if case is not None else self.cases[0].entries
        wanted = [x for x in entries if x.kind == "message" and x.audience is Audience.CUSTOMER]
        if e % 8 == 7:
            others = [x for other in self.cases if other is not case for x in other.entries]
            entry = others[e % len(others)] if others else None
        else:
            pool = wanted if wanted and e % 4 else entries
            entry = pool[e % len(pool)]
        self.do_share(who, case, entry)

    def do_share(self, who: Who, case: MCase | None, entry: MEntry | None) -> None:
        entry_id = entry.id if entry is not None else 10**9
        if not self.sees(who, case):
            expected, subject = "NotFound", "case"
        else:
            assert case is not None
            subject = "entry"
            if not who.host and (not who.staff or case.side_of(who.org) is not Side.SHIPPER):
                expected = "PermissionDenied"
            elif entry is None or entry not in case.entries:
                expected = "NotFound"
            elif entry.kind != "message" or entry.audience is not Audience.CUSTOMER:
                expected = "InvalidInput"
            else:
                expected = "ok"
        number = self.number(case)
        view = self.expect(
            outcome(lambda: self.kit.cases.share_with_carrier(who.actor, number, entry_id)),
            expected,
            f"share {entry_id} on {number} by {who.label}",
            number,
            subject=subject,
        )
        if expected == "NotFound" and subject == "entry":
            assert (view.kind, view.key) == ("entry", str(entry_id)), view
        if expected != "ok":
            return
        assert case is not None
        assert entry is not None
        assert (view.id, view.audience) == (entry.id, Audience.CUSTOMER), view
        assert view.shared_at is not None, view
        if entry.shared:
            self.record(case, [])  # shared already: nothing changes
        else:
            entry.shared = True
            self.record(case, [(EventKind.ENTRY_SHARED.value, Audience.PARTNERS, who.org)])
            assert case.entries[-1].new == str(entry.id), case.entries[-1]
        self.touched = case

    def shipment_refusal(
        self, who: Who, shipper: int, reference: str, carrier: int | None
    ) -> str | None:
        """Why linking (shipper, reference), now carried by ``carrier``, is NotFound for ``who``.

        A stored shipment of another organization is NotFound for staff, and
        facts the caller passes in never hand it over to them.
        """
        key = (shipper, reference)
        if who.staff and key in self.shipments and who.org not in (shipper, self.shipments[key]):
            return "NotFound"
        if who.staff and who.org not in (shipper, carrier):
            return "NotFound"
        return None

    @precondition(lambda self: self.cases)
    @rule(
        a=PICK,
        c=PICK,
        carrier=st.sampled_from([None, 0, 1]),
        shared=st.sampled_from([None, "SHP-A", "SHP-B"]),
    )
    @counted
    def link_shipment(self, a: int, c: int, carrier: int | None, shared: str | None) -> None:
        who, case = self.pick(a, c)
        facts_carrier = None if carrier is None else self.carriers[carrier]
        reference = shared or self.token("SHP")
        facts = ShipmentFacts(
            reference=reference,
            shipper=self.external[case.shipper] if case else None,
            carrier=self.external[facts_carrier] if facts_carrier else None,
        )
        expected = "ok"
        new_carrier = facts_carrier
        if not self.sees(who, case):
            expected = "NotFound"
        else:
            assert case is not None
            if new_carrier is None:
                new_carrier = self.shipments.get((case.shipper, reference))
            if not who.host and (not who.staff or case.side_of(who.org) is None):
                expected = "PermissionDenied"
            elif refusal := self.shipment_refusal(who, case.shipper, reference, new_carrier):
                expected = refusal
            elif new_carrier not in (None, case.carrier) and case.carrier is not None:
                expected = "InvalidInput"
        self.expect(
            outcome(lambda: self.kit.cases.link_shipment(who.actor, self.number(case), facts)),
            expected,
            f"link {reference} carried by {facts_carrier} by {who.label}",
            self.number(case),
            subject="case" if case is None or not may_see_case(who, case) else "shipment",
        )
        if expected != "ok":
            return
        assert case is not None
        self.shipments[(case.shipper, reference)] = new_carrier
        entries = []
        if new_carrier is not None and case.carrier is None:
            case.carrier = new_carrier
            entries.append((EventKind.CARRIER_CHANGED.value, Audience.PARTNERS, who.org))
        if case.shipment != reference:
            case.shipment = reference
            entries.append((EventKind.SHIPMENT_LINKED.value, Audience.PARTNERS, who.org))
        self.record(case, entries)
        self.touched = case

    @precondition(lambda self: self.cases)
    @rule(
        a=PICK,
        c=PICK,
        move=st.sampled_from(
            [
                "carrier writes to customer",
                "carrier shares",
                "carrier sets customer status",
                "customer whispers",
                "customer shares",
                "take",
                "unwatch",
            ]
        ),
    )
    @counted
    def overstep(self, a: int, c: int, move: str) -> None:
        """A party tries what its side or role may not do (the model says when it may)."""
        case = self.cases[c % len(self.cases)]
        self.address(case)
        customer_messages = [
            e for e in case.entries if e.audience is Audience.CUSTOMER and e.kind == "message"
        ]
        if move.startswith("carrier"):
            who = [w for w in self.actors if w.staff and w.org == case.carrier]
        elif move.startswith("customer"):
            who = [w for w in self.actors if w.customer is not None and w.customer == case.customer]
        else:
            who = [w for w in self.actors if w.user and case.side_of(w.org) and not w.manager]
        if not who:
            return
        actor = who[a % len(who)]
        if move == "carrier writes to customer":
            self.do_post(actor, case, [Audience.CUSTOMER, Audience.EVERYONE][a % 2], attach=False)
        elif move.endswith("shares"):
            self.do_share(
                actor,
                case,
                customer_messages[a % len(customer_messages)] if customer_messages else None,
            )
        elif move == "carrier sets customer status":
            self.do_change_status(actor, case, CUSTOMER_STATUSES[a % 2], reopen=False)
        elif move == "customer whispers":
            self.do_post(
                actor, case, [Audience.INTERNAL, Audience.PARTNERS][a % 2], attach=a % 3 == 0
            )
        elif move == "take":
            self.do_set_owner(actor, case, None, actor.user)
        else:
            colleagues = [u for u in case.watchers if self.user_org[u] == actor.org]
            if colleagues:
                self.do_watch(actor, case, colleagues[a % len(colleagues)], adding=False)

    # -- mail ------------------------------------------------------------------------------
    def deliver_mail(self) -> None:
        """The outbox is delivered; each mail holds only what its recipient may read."""
        seen = len(self.mail.outbox)
        self.kit.notifications.deliver()
        by_number = {case.number: case for case in self.cases}
        for note in self.mail.outbox[seen:]:
            case = by_number[note.case_number]
            self.address(case)
            text = mail_text(note.message)
            what = f"mail to {note.email} of {case.number}"
            if note.recipient_kind == "participant":
                # An address a filed mail came from: it hears what partners read.
                assert note.email.lower() in case.participants, what
                outsider = Who("participant", Actor.system_actor("email"))
                secrets = [
                    e.token
                    for c in self.cases
                    for e in c.entries
                    if e.token is not None and (c is not case or e.audience is Audience.INTERNAL)
                ]
                secrets += [*self.crm_values, *self.forbidden(outsider, addresses=True)]
                leaked = [x for x in secrets if x in text and x != note.email.lower()]
                assert not leaked, f"{what} holds {leaked}"
            else:
                reader = self.reader_of(note)
                assert reader is not None, f"a notification to {note.email}, who is nobody"
                assert may_see_case(reader, case), f"{reader.label} was told of {case.number}"
                self.assert_unread(reader, [text], what)
                if for_carrier(reader, case):
                    self.check_carrier_mail(note, case, text, what)
            self.delivered.append((note, case))

    @staticmethod
    def check_carrier_mail(note: OutgoingNotification, case: MCase, text: str, what: str) -> None:
        """The carrier hears nothing of the shipper's conversation with its customer:
        no opening with one of its messages it was not shared, no status of it."""
        if note.event == "case_opened" and case.opening is not None:
            assert case.opening.audience is not Audience.CUSTOMER, f"{what} tells an opening"
        for status in CUSTOMER_STATUSES:
            assert status.value not in text, f"{what}: {status}"
            assert status.label not in text, f"{what}: {status.label}"

    def reader_of(self, note: OutgoingNotification) -> Who | None:
        """Who reads a notification: its user, its customer, or the staff of the
        organization whose collaborator address it went to."""
        for who in self.actors:
            if note.user_id is not None and who.user == note.user_id:
                return who
            if note.customer_id is not None and who.customer == note.customer_id:
                return who
        owner = self.collaborators.get(note.email.lower())
        if note.user_id is None and note.customer_id is None and owner is not None:
            return next(w for w in self.actors if w.user is not None and w.org == owner[2])
        return None

    def addressee_org(self, note: OutgoingNotification, case: MCase) -> int | None:
        """The organization a notification was sent to, whose triage a reply to it
        that matches no route goes to (docs/inbound.rst): the user's own, the
        customer's shipper, the side of the case's pair's collaborator address, the
        case's shipper for any other address (one Cc'd on the thread)."""
        if note.user_id is not None:
            return self.user_org[note.user_id]
        if note.customer_id is not None:
            return self.customer_shipper[note.customer_id]
        owner = self.collaborators.get(note.email.lower())
        if owner is not None and owner[:2] == (case.shipper, case.carrier):
            return owner[2]
        return case.shipper

    def mail_route(
        self, note: OutgoingNotification, case: MCase, sender: str
    ) -> tuple[Audience, int | None, str] | tuple[str, int | None]:
        """How casekit files a reply to ``note`` from ``sender``: its audience, its
        organization and who writes it ("user", "customer", "address"); else why it
        is triaged and in whose triage (docs/inbound.rst)."""
        text = mail_text(note.message)
        # The entry the notification is about: the message whose body it carries
        # (a status mail carries none).
        told = [e for e in case.entries if e.token is not None and e.token in text]
        entry = told[-1] if told else None
        route = self.sender_route(note, case, sender)
        if entry is not None and entry.audience is Audience.INTERNAL:
            # A reply to an internal note's notification: posted internal from the
            # note's organization, else sealed in that organization's triage.
            if route is None:
                return "sender does not match", entry.org
            _audience, org, writer = route
            if writer == "customer" or org != entry.org:
                return "a reply to an internal note from outside the note's organization", entry.org
            return Audience.INTERNAL, org, writer
        if route is None:
            return "sender does not match", self.addressee_org(note, case)
        return route if entry is None else self.answering(note, case, entry, route)

    def answering(
        self,
        note: OutgoingNotification,
        case: MCase,
        entry: MEntry,
        route: tuple[Audience, int | None, str],
    ) -> tuple[Audience, int | None, str]:
        """``route`` answering the notification of ``entry`` (docs/inbound.rst): the
        customer writes to everyone answering an entry for everyone, else to the
        shipper (customer); anyone not on the carrier's side (its organization, or
        for an address the one the notification was written for) answering a
        customer entry writes to the customer."""
        audience, org, writer = route
        if writer == "customer":
            audience = entry.audience if entry.audience is Audience.EVERYONE else Audience.CUSTOMER
            return audience, org, writer
        side = org if org is not None else self.addressee_org(note, case)
        if (
            entry.audience is Audience.CUSTOMER
            and case.customer is not None
            and side != case.carrier
        ):
            return Audience.CUSTOMER, org, writer
        return route

    def sender_route(
        self, note: OutgoingNotification, case: MCase, sender: str
    ) -> tuple[Audience, int | None, str] | None:
        """How ``sender`` writes on ``case`` in reply to ``note``, as if it answered no
        internal note; None when no route matches."""
        parties = {case.shipper, case.carrier} - {None}
        # 1. the reply token names the recipient
        if note.user_id is not None:
            if self.user_email[note.user_id] == sender and self.user_org[note.user_id] in parties:
                return Audience.PARTNERS, self.user_org[note.user_id], "user"
        elif note.customer_id is not None:
            if note.customer_id == case.customer and self.customer_email[case.customer] == sender:
                return Audience.CUSTOMER, None, "customer"
        elif note.email.lower() == sender:
            return self.address_route(case, sender)
        # 2. else the sender writes as whom it is on the case
        if case.customer is not None and self.customer_email[case.customer] == sender:
            return Audience.CUSTOMER, None, "customer"
        for user_id, email in self.user_email.items():
            if email == sender and self.user_org[user_id] in parties:
                return Audience.PARTNERS, self.user_org[user_id], "user"
        if sender in case.participants:
            return self.address_route(case, sender)
        pair = self.collaborators.get(sender)
        if pair is not None and pair[:2] == (case.shipper, case.carrier):
            return self.address_route(case, sender)
        return None

    def address_route(self, case: MCase, sender: str) -> tuple[Audience, int | None, str]:
        pair = self.collaborators.get(sender)
        if pair is not None and pair[:2] == (case.shipper, case.carrier):
            return Audience.PARTNERS, pair[2], "address"
        return Audience.PARTNERS, None, "address"

    @precondition(lambda self: self.delivered)
    @rule(
        n=PICK,
        sender=st.sampled_from(["right", "right", "wrong", "unknown", "auto-reply"]),
        w=PICK,
    )
    @counted
    def reply_by_mail(self, n: int, sender: str, w: int) -> None:
        """A reply to a notification's reply address, from its recipient or someone else."""
        note, case = self.delivered[n % len(self.delivered)]
        self.address(case)
        right = note.email.lower()
        if sender in ("right", "auto-reply"):
            address = right
        elif sender == "wrong":
            known = sorted(
                {*self.user_email.values(), *self.customer_email.values(), *self.collaborators}
                - {right}
            )
            address = known[w % len(known)]
        else:
            address = f"{self.token('stranger')}@elsewhere.test"
        token = self.token("mail")
        original = note.message
        reply = EmailMessage()
        reply["From"] = address
        reply["To"] = str(original["Reply-To"] or original["From"])
        reply["Subject"] = f"RE: {original['Subject']}"
        reply["Message-ID"] = f"<{token}@client.test>"
        reply["In-Reply-To"] = str(original["Message-ID"])
        reply["References"] = str(original["Message-ID"])
        if sender == "auto-reply":
            reply["Auto-Submitted"] = "auto-replied"
        quoted = "\n".join("> " + line for line in plain_text(original).splitlines())
        reply.set_content(f"{token}\n\nOn Mon, Jan 5, 2026 at 9:00 AM casekit wrote:\n{quoted}\n")
        result = self.kit.inbound.receive(
            reply.as_bytes(), envelope_from=address, envelope_to=[str(reply["To"])]
        )
        what = f"{sender} reply from {address} to {note.email} on {case.number}"
        if sender == "auto-reply":
            assert result.outcome is Outcome.AUTO_REPLY, (what, result)
            self.record(case, [])
            return
        route = self.mail_route(note, case, address)
        if len(route) == 2:
            reason, triage_org = route
            assert (result.outcome, result.reason) == (Outcome.TRIAGED, reason), (what, result)
            assert result.case_number == case.number, (what, result)
            assert result.inbound_id is not None
            item = self.kit.inbound.triage_item(Actor.host(), result.inbound_id)
            self.triaged[item.id] = MTriage(item.id, case, address, triage_org, item.org_id)
            self.record(case, [])
            return
        audience, org, writer = route
        assert result.outcome is Outcome.APPENDED, (what, route, result)
        assert result.case_number == case.number, (what, result)
        if writer == "address":
            # Written as the address (a collaborator's or a participant's): it takes part.
            case.participants.add(address)
            case.participant_org.setdefault(address, case.shipper if org is None else org)
            self.self_told.add(address)
        self.record_reply(case, audience, org, token, by_customer=writer == "customer")
        self.touched = case

    def record_reply(
        self,
        case: MCase,
        audience: Audience,
        org: int | None,
        token: str,
        *,
        by_customer: bool,
        filed: int | None = None,
    ) -> None:
        """Match a message casekit wrote from a mail (and the status it moved to)."""
        timeline = self.kit.cases.timeline(Actor.host(), case.number)
        known = {e.id for e in case.entries}
        new = [e for e in timeline if e.id not in known]
        message, *events = new
        assert (message.kind.value, message.audience, message.org_id) == (
            "message",
            audience,
            org,
        ), (case.number, message)
        assert message.body.startswith(token), (case.number, message.body)
        assert (message.customer_id is not None) == by_customer, message
        case.entries.append(
            MEntry(message.id, "message", audience, org, message.created_at, message.body)
        )
        case.entries[-1].by_customer = by_customer
        old = case.status
        status = status_after_message(old, audience, by_customer=by_customer)
        moves = move_status(case, org, status, carrier_reads_it=audience.reaches_carrier)
        expected = [kind for kind, _, _ in moves]
        if filed is not None:
            expected.append(EventKind.MAIL_FILED.value)
        got = [e.event.value if e.event is not None else e.kind.value for e in events]
        assert got == expected, (case.number, got, expected)
        for event, (_, audience_, org_) in zip(events, moves, strict=False):
            assert (event.audience, event.org_id) == (audience_, org_), (case.number, event)
        for event, kind in zip(events, got, strict=True):
            case.entries.append(
                MEntry(
                    event.id,
                    kind,
                    event.audience,
                    event.org_id,
                    event.created_at,
                    old=event.old_value,
                    new=event.new_value,
                )
            )
        self.check_move(case, old)

    @precondition(lambda self: any(not t.handled for t in self.triaged.values()))
    @rule(a=PICK, i=PICK, c=PICK, audience=AUDIENCES)
    @counted
    def file_triaged(self, a: int, i: int, c: int, audience: Audience | None) -> None:
        """Staff file a triaged mail onto a case (theirs, or one they may not see)."""
        pending = [t for t in self.triaged.values() if not t.handled]
        item = pending[i % len(pending)]
        staff = [w for w in self.actors if w.user is not None]
        insiders = [w for w in staff if w.org == item.org]
        who = (
            insiders[(a // 4) % len(insiders)] if a % 4 and insiders else staff[a // 4 % len(staff)]
        )
        self.address(item.case)
        case = self.address(item.case if c % 3 == 0 else self.case(c))
        chosen = audience or Audience.PARTNERS
        if who.org != item.org:
            expected, subject = "NotFound", "item"
        elif not self.sees(who, case):
            expected, subject = "NotFound", "case"
        else:
            assert case is not None
            expected, subject = post_refusal(who, case, chosen) or "ok", "case"
        number = self.number(case)
        self.expect(
            outcome(lambda: self.kit.inbound.file(who.actor, item.id, number, audience=audience)),
            expected,
            f"file mail {item.id} of org {item.org} on {number} by {who.label}",
            number,
            subject=subject,
        )
        if expected != "ok":
            return
        assert case is not None
        item.handled = True
        case.participants.add(item.sender)  # the mail's author, by its address
        case.participant_org.setdefault(item.sender, case.shipper if who.org is None else who.org)
        if item.sender != self.customer_email.get(case.customer or -1):
            self.self_told.add(item.sender)
        self.record_filed(case, who, chosen)
        self.touched = case

    def record_filed(self, case: MCase, who: Who, audience: Audience) -> None:
        entries = [("message", audience, who.org)]
        old = case.status
        new = status_after_message(old, audience, by_customer=who.customer is not None)
        entries += move_status(case, who.org, new, carrier_reads_it=audience.reaches_carrier)
        entries.append((EventKind.MAIL_FILED.value, Audience.INTERNAL, who.org))
        self.record(case, entries)
        self.check_move(case, old)

    def check_deliveries(self, case: MCase) -> None:
        """A case's delivery log: of a case the reader sees, only the deliveries to
        its own people (docs/access.rst): an organization's to its users, its
        collaborator addresses and the addresses on the thread written for it, the
        shipper's to its customers too, a customer's to itself; the host's all of them."""
        for who in self.actors:
            call = self.kit.notifications.deliveries
            if not may_see_case(who, case):
                self.expect_not_found(call, who, case.number)
                continue
            log = call(who.actor, case.number)
            self.assert_unread(who, log, "delivery log")
            if who.host:
                continue
            if who.customer is not None:
                own = {self.customer_email[who.customer]}
            else:
                own = {e for u, e in self.user_email.items() if self.user_org[u] == who.org}
                own |= {e for e, pair in self.collaborators.items() if pair[2] == who.org}
                own |= {
                    e for k, e in self.customer_email.items() if self.customer_shipper[k] == who.org
                }
                # the addresses on the thread written for its organization
                own |= {e for e, org in case.participant_org.items() if org == who.org}
            strangers = {d.email for d in log} - own
            assert not strangers, f"{who.label} sees deliveries to {strangers}"

    def check_triage(self) -> None:
        """Triage: staff only, each mail in one organization's, its original read by them."""
        for who in self.actors:
            if not who.host and who.org is None:
                with pytest.raises(PermissionDenied):
                    self.kit.inbound.triage(who.actor)
                continue
            items = self.kit.inbound.triage(who.actor, include_handled=True, limit=500)
            expected = {t.id for t in self.triaged.values() if who.host or t.org == who.org}
            assert {item.id for item in items} == expected, who.label
            for item in items:
                model = self.triaged[item.id]
                assert model.org == model.addressee_org, (item.id, model)
                with self.kit.inbound.original(who.actor, item.id) as raw:
                    original = raw.read().decode("utf-8", "replace")
                self.assert_unread(
                    who, [item, original], f"triage item {item.id}", sender=model.sender
                )

    # -- what every actor reads ----------------------------------------------------------------
    def forbidden(self, who: Who, *, addresses: bool = True) -> list[str]:
        """Every secret ``who`` must never read: other entries' tokens, other orgs' CRM
        numbers and (with ``addresses``) the addresses of customers and collaborators
        that are not theirs: the customers of other shippers, the pairs of others."""
        secrets = [
            entry.token
            for case in self.cases
            for entry in case.entries
            if entry.token is not None
            and not (may_see_case(who, case) and may_read_entry(who, case, entry))
        ]
        if not who.host:
            secrets.extend(value for value, org in self.crm_values.items() if org != who.org)
            secrets.extend(name for name, org in self.tag_values.items() if org != who.org)
            # A private value is its organization's; a shared one the case's parties' staff's
            # (its change is an event for partners, read by whoever is a party now).
            secrets.extend(
                value
                for value, (org, shared, case) in self.field_values.items()
                if org != who.org
                and not (shared and who.staff and who.org in (case.shipper, case.carrier))
            )
            secrets.extend(note for note, org in self.note_values.items() if org != who.org)
        if addresses and not who.host:
            secrets.extend(
                email
                for customer, email in self.customer_email.items()
                if who.customer != customer
                and not (who.staff and who.org == self.customer_shipper[customer])
                and email not in self.self_told
            )
            secrets.extend(
                email
                for email, (shipper, carrier, _side) in self.collaborators.items()
                if not (who.staff and who.org in (shipper, carrier)) and email not in self.self_told
            )
        return secrets

    def check_view(self, who: Who, case: MCase, view: Any) -> None:
        assert view.number == case.number
        assert view.shipper_org_id == case.shipper
        assert view.carrier_org_id == case.carrier
        # The carrier never reads the customer's account.
        carrier = who.org is not None and who.org == case.carrier
        assert view.customer_id == (None if carrier else case.customer)
        assert view.status is status_seen(who, case), (who.label, case.number, view.status)
        latest = latest_message(who, case)
        assert view.latest_message_at == (latest.at if latest else None), (who.label, latest)
        assert view.priority.value == case.priority, (who.label, case.number)
        assert view.custom_field_values == self.fields_read(who, case), (who.label, case.number)
        if who.customer is not None:
            assert view.crm_number is None
            assert view.tags == ()
            assert view.watcher_ids == ()
            assert view.shipper_owner_id is None
            assert view.carrier_owner_id is None
            assert view.latest_message_user_id is None
            assert view.latest_message_org_id is None
            assert view.created_by == ""
            assert view.solved_by is None
            return
        assert view.latest_message_org_id == (latest.org if latest else None)
        if who.host:
            own = case.crm.get(case.shipper)  # a view holds one number: the shipper's
            watchers = case.watchers
        else:
            own = case.crm.get(who.org or -1)
            watchers = {w for w in case.watchers if self.user_org[w] == who.org}
        assert view.crm_number == own, (who.label, case.number, view.crm_number, case.crm)
        tagged = case.tags.get(case.shipper if who.host else who.org or -1, set())
        assert [t.name for t in view.tags] == sorted(tagged), (who.label, case.number)
        assert view.watcher_ids == tuple(sorted(watchers))
        assert view.shipper_owner_id == case.owners[Side.SHIPPER]
        assert view.carrier_owner_id == case.owners[Side.CARRIER]

    @staticmethod
    def fields_read(who: Who, case: MCase) -> dict[str, str]:
        """The custom field values ``who`` reads on ``case``: its own organization's by
        key (the host: the shipper's), the other party's shared one by role."""
        if who.customer is not None or not (who.host or who.staff):
            return {}
        reader = case.shipper if who.host else who.org
        found = dict(case.fields.get(reader or -1, {}))
        for org, role in ((case.shipper, "shipper"), (case.carrier, "carrier")):
            if org is not None and org != reader and "dock" in case.fields.get(org, {}):
                found[f"{role}.dock"] = case.fields[org]["dock"]
        return found

    def check_actor(
        self, who: Who, named: list[MCase], timelines: list[MCase], *, listing: bool = True
    ) -> None:
        """``who``'s list and views of every case it sees (``listing``; else its view
        of each case of ``named`` it sees), NotFound for each case of ``named`` it
        may not see, the timelines of ``timelines`` it sees (and, ``listing``,
        NotFound for those it may not see)."""
        kit = self.kit
        visible = [case for case in self.cases if may_see_case(who, case)]
        read: list[Any] = []
        if listing:
            listed = kit.cases.list(who.actor, limit=500)
            assert [v.number for v in listed] == [
                case.number for case in sorted(visible, key=lambda c: -c.id)
            ], f"{who.label} lists the wrong cases"
            read.extend(listed)
            for case, view in zip(sorted(visible, key=lambda c: -c.id), listed, strict=True):
                self.check_view(who, case, view)
        for case in named:
            if case not in visible:
                self.expect_not_found(kit.cases.get, who, case.number)
            elif not listing:
                view = kit.cases.get(who.actor, case.number)
                self.check_view(who, case, view)
                read.append(view)
        for case in timelines:
            if case in visible:
                timeline = kit.cases.timeline(who.actor, case.number)
                readable = [e for e in case.entries if may_read_entry(who, case, e)]
                assert [e.id for e in timeline] == [e.id for e in readable], (
                    f"{who.label} reads the wrong entries of {case.number}"
                )
                for entry, model in zip(timeline, readable, strict=True):
                    # A customer never reads whether the shipper shared its message.
                    shared = model.shared and who.customer is None
                    assert (entry.shared_at is not None) == shared, (who.label, entry)
                    if model.kind in STATUS_EVENTS:
                        values = [value_seen(who, case, v) for v in (model.old, model.new)]
                        assert [entry.old_value, entry.new_value] == values, (who.label, entry)
                read.extend(timeline)
                read.extend(kit.actions.list(who.actor, case.number))
                claims = kit.claims.list(who.actor, case.number)
                if who.customer is not None:
                    assert claims == [], f"{who.label} reads a claim of {case.number}"
                elif not (who.host or who.org == case.shipper):
                    assert all(
                        (v.expected_recovery, v.valuation_note) == (None, None) for v in claims
                    ), f"{who.label} reads the valuation of a claim of {case.number}"
                read.extend(claims)
            elif listing:
                self.expect_not_found(kit.cases.timeline, who, case.number)
        self.assert_unread(who, read)

    def assert_unread(
        self,
        who: Who,
        read: list[Any],
        what: str = "",
        *,
        addresses: bool = True,
        sender: str | None = None,
    ) -> None:
        """No secret ``who`` may not read appears anywhere in ``read`` (but the
        address of the ``sender`` of a mail, which it gave itself)."""
        blob = "\n".join(map(repr, read))
        for secret in self.forbidden(who, addresses=addresses):
            if secret != sender:
                assert secret not in blob, f"{who.label} reads {secret} in {what or 'what it read'}"

    def check_views(self, who: Who) -> None:
        """Counts, searches and the export answer from the same scope as the list."""
        views = self.kit.views
        visible = [case for case in self.cases if may_see_case(who, case)]
        rows = views.list(who.actor, ListQuery(view=BuiltinView.ALL_CASES), limit=500).rows
        assert sorted(r.number for r in rows) == sorted(case.number for case in visible), (
            f"{who.label}'s Case Management list has the wrong cases"
        )
        by_number = {case.number: case for case in visible}
        for row in rows:
            case = by_number[row.number]
            assert row.status is status_seen(who, case), (who.label, case.number, row.status)
            latest = latest_message(who, case)
            assert row.latest_message_at == (latest.at if latest else None), (who.label, row)
            assert row.priority.value == case.priority, (who.label, case.number)
            if who.customer is not None:
                assert row.owners == ()
                assert row.tags == ()
                assert row.crm_number is None
                assert row.shipper_owner_id is None
                assert row.carrier_owner_id is None
            else:
                assert row.crm_number == (None if who.host else case.crm.get(who.org or -1))
                own_tags = case.tags.get(case.shipper if who.host else who.org or -1, set())
                assert [t.name for t in row.tags] == sorted(own_tags), (who.label, row.number)
        self.assert_unread(who, list(rows))
        active = [case for case in visible if status_seen(who, case) is not Status.SOLVED]
        counts = views.counts(who.actor)
        assert counts[BuiltinView.ALL_CASES.value] == len(visible), who.label
        assert counts[BuiltinView.ALL_ACTIVE.value] == len(active), who.label
        mine = [case for case in active if who.user and who.user in case.owners.values()]
        assert counts[BuiltinView.MY_ACTIVE.value] == len(mine), who.label
        watched = [case for case in visible if who.user in case.watchers]
        assert counts[BuiltinView.MY_WATCHED.value] == len(watched), who.label
        recent = [case for case in visible if is_recent_response(who, case)]
        assert counts[BuiltinView.RECENT_RESPONSES.value] == len(recent), who.label
        # The status filter reads the status as the actor sees it (the carrier: open).
        for status in (Status.OPEN, *CUSTOMER_STATUSES):
            query = {
                "view": "all_cases",
                "filters": [{"field": "status", "op": "in", "value": [status.value]}],
            }
            seen = [case for case in visible if status_seen(who, case) is status]
            assert views.count(who.actor, query) == len(seen), (who.label, status)
        if who.customer is not None:
            # A customer sees no owners: no view or filter may tell them apart.
            assert counts[BuiltinView.NEW_CASES.value] == len(active), who.label
            owners = {u for case in visible for u in case.owners.values() if u is not None}
            for user_id in sorted(owners)[:3]:
                for op, expected in (("in", 0), ("not_in", len(visible))):
                    query = {
                        "view": "all_cases",
                        "filters": [{"field": "owner", "op": op, "value": [user_id]}],
                    }
                    assert views.count(who.actor, query) == expected, (who.label, op, user_id)
        # A CRM number finds a case only for the organization that recorded it.
        for value, org in self.crm_values.items():
            found = {row.number for row in views.search(who.actor, value).rows}
            recorded = {
                case.number
                for case in visible
                if who.staff and org == who.org and case.crm.get(org) == value
            }
            assert found == recorded, (who.label, value, found, recorded)
        # A message's words find its case only for those who read that message (or
        # another of the case's holding them): never through a note of the other side,
        # a partners message for a customer, a customer's message for the carrier.
        for case, token in self.message_tokens()[-4:]:
            searched = views.search(who.actor, token).rows
            found = {row.number for row in searched}
            readers = case in visible and any(
                entry.kind == "message"
                and token in (entry.token or "")
                and may_read_entry(who, case, entry)
                for entry in case.entries
            )
            assert found == ({case.number} if readers else set()), (who.label, token, found)
            for row in searched:
                assert row.snippet is not None, (who.label, token)
                assert token in row.snippet.text, (who.label, token, row.snippet)
        export = "".join(views.export_csv(who.actor, {"view": "all_cases"}))
        self.assert_unread(who, [export])
        for case in self.cases[-2:]:
            found = {row.number for row in views.search(who.actor, case.number).rows}
            assert found == ({case.number} if case in visible else set()), who.label
        self.check_report(who, visible, active)

    def check_report(self, who: Who, visible: list[MCase], active: list[MCase]) -> None:
        """An organization's report counts the cases its actor sees, nothing else."""
        if not who.staff or who.customer is not None:
            with pytest.raises(PermissionDenied):
                self.kit.reports.dashboard(who.actor, REPORT_RANGE)
            return
        report = self.kit.reports.dashboard(who.actor, REPORT_RANGE)
        totals = {t.key: t.count for t in report.section("volume").totals}
        assert totals["opened"] == len(visible), who.label
        assert totals["active"] == len(active), who.label
        by_status = {r.key: r.count for r in report.table("backlog_by_status").rows}
        expected = Counter(status_seen(who, case).value for case in active)
        assert by_status == dict(expected), who.label
        for name in ("aging_by_age", "aging_by_other_side_message"):
            assert sum(r.count for r in report.table(name).rows) == len(active), (who.label, name)
        for total in report.section("volume").totals:
            assert self.kit.views.count(who.actor, total.query) == total.count, who.label
        self.assert_unread(who, [json.dumps(report.to_json())])

    @staticmethod
    def expect_not_found(call: Callable[[Actor, str], Any], who: Who, number: str) -> None:
        """``call`` must answer exactly as for a case number that does not exist."""
        with pytest.raises(NotFound) as caught:
            call(who.actor, number)
        assert type(caught.value) is NotFound
        assert (caught.value.kind, caught.value.key) == ("case", number)
        assert str(caught.value) == f"case {number!r} not found"

    @invariant()
    def nobody_reads_what_they_must_not(self) -> None:
        """After every step, for every actor: its view of each case the step named
        that it may see, NotFound for each it may not see, the timeline of the
        case the step touched if it may see it; after every :data:`LIST_EVERY`-th
        step, and for the host after every step, the list and a view of every
        case it may see, and NotFound for the timeline it may not see.
        The lists, the timelines of all cases, and NotFound for all, are read
        again at the end.

        A case the step did not name kept the organizations and customer it is
        seen by (the host's list checked them after every step), and ``get``
        scopes a case by the same clause as the list: a step gets only its own
        cases, instead of every case for every actor.
        """
        self.deliver_mail()
        if self.touched:
            self.address(self.touched)
        named = [case for case in self.cases if case.number in self.addressed]
        self.invariant_runs += 1
        listing = self.invariant_runs % LIST_EVERY == 0
        for who in self.actors:
            self.check_actor(
                who, named, [self.touched] if self.touched else [], listing=listing or who.host
            )
        if self.touched:
            self.check_deliveries(self.touched)
        self.touched = None
        self.addressed.clear()
        self.kit.clock.advance(seconds=1)  # type: ignore[attr-defined]

    def check_attachments(self) -> None:
        """Every attachment opens for exactly who may read its entry, through its own case."""
        for case in self.cases:
            for entry in case.entries:
                for attachment_id in entry.attachments:
                    for who in self.actors:
                        allowed = may_see_case(who, case) and may_read_entry(who, case, entry)
                        self.check_attachment(who, case.number, attachment_id, allowed=allowed)
                    for other in self.cases:
                        if other is not case:
                            self.check_attachment(
                                self.actors[0], other.number, attachment_id, allowed=False
                            )

    def check_attachment(self, who: Who, number: str, attachment_id: int, *, allowed: bool) -> None:
        kind, value = outcome(lambda: self.kit.open_attachment(who.actor, number, attachment_id))
        if allowed:
            assert kind == "ok", (who.label, value)
            value[1].close()
        else:
            assert kind == "NotFound", (who.label, number, attachment_id, kind)

    def teardown(self) -> None:
        for who in self.actors:
            self.check_actor(who, self.cases, self.cases)
            self.expect_not_found(self.kit.cases.get, who, MISSING)
            self.expect_not_found(self.kit.cases.timeline, who, MISSING)
            self.check_views(who)
        self.check_attachments()
        for case in self.cases:
            self.check_deliveries(case)
        self.check_triage()


def run_access_machine(kit: CaseKit, backend: str, mail: CapturedMail) -> int:
    """Run the machine on ``kit`` (delivering to ``mail``); the number of steps it ran.

    The CI budget is derandomized: the same examples on every run, in rounds
    seeded :data:`FIRST_SEED`, the next number, and so on until at least
    :data:`CI_STEPS` steps ran (each database its own seeds and budget).
    ``CASEKIT_ACCESS_EXAMPLES=N`` runs N random examples instead (new ones on
    each run).
    """
    longer = os.environ.get("CASEKIT_ACCESS_EXAMPLES")
    before = STEPS[backend]
    for round_number in itertools.count(FIRST_SEED[backend]):
        owed = CI_STEPS[backend] - (STEPS[backend] - before)
        if not longer and owed <= 0:
            break
        machine = type("Machine", (AccessMachine,), {"kit": kit, "backend": backend, "mail": mail})
        run_state_machine_as_test(
            machine if longer else seed(round_number)(machine),
            settings=settings(
                max_examples=int(longer) if longer else math.ceil(owed / STEPS_PER_EXAMPLE),
                stateful_step_count=STEPS_PER_EXAMPLE,
                database=None,
                deadline=None,
                report_multiple_bugs=False,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.filter_too_much,
                    HealthCheck.large_base_example,
                ],
            ),
        )
        if longer:
            break
    return STEPS[backend] - before


@pytest.fixture
def mail() -> CapturedMail:
    return CapturedMail()


@pytest.fixture
def mailing_kit(
    database_url: str, tmp_path: Path, clock: FrozenClock, mail: CapturedMail
) -> Iterator[CaseKit]:
    """A kit whose notifications carry reply tokens and are delivered to ``mail``."""
    kit = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        plugins=[mail],
        mail_from="cases@casekit.test",
        reply_address=REPLY_ADDRESS,
        reply_secrets=(REPLY_SECRET,),
    )
    yield kit
    empty_tables(kit)
    kit.close()


def test_no_actor_reads_what_it_must_not(
    mailing_kit: CaseKit,
    mail: CapturedMail,
    backend: str,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.perf_counter()
    steps = run_access_machine(mailing_kit, backend, mail)
    # Shown at the end of the run (tests/conftest.py: pytest_terminal_summary).
    record_property("access steps", steps)
    record_property("access seconds", round(time.perf_counter() - started, 1))
    if not os.environ.get("CASEKIT_ACCESS_EXAMPLES"):
        budget = CI_STEPS[backend]
        assert steps >= budget, f"{steps} steps on {backend}, fewer than {budget}"


# -- merges ---------------------------------------------------------------------------------

#: An entry written on a case by a party (or the customer) for an audience, and whether the
#: shipper shares it with the carrier (a customer entry).
WRITTEN = st.tuples(
    st.sampled_from(["shipper", "carrier", "customer"]),
    st.sampled_from(list(Audience)),
    st.booleans(),
)


def test_a_merge_keeps_each_entry_to_its_readers(kit: CaseKit) -> None:
    """Random entries on a duplicate and an original (each side's notes, partners messages,
    the customer's conversation, shared or not), merged by a random actor: the merge is done
    exactly when the model allows it, and then every actor reads on the original exactly
    what it read on both before (by each message's unique token), plus the merge's event;
    nobody else reads either case; the duplicate keeps only its solve and merge events."""
    from casekit.testing import World

    world = World.build(kit, tag="m")
    others = World.build(kit, tag="o")
    readers: dict[str, Actor] = {
        "shipper": world.shipper_actor,
        "carrier": world.carrier_actor,
        "customer": world.customer_actor,
        "other_shipper": others.shipper_actor,
        "other_carrier": others.carrier_actor,
        "other_customer": others.customer_actor,
    }
    counter = itertools.count()

    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @hypothesis_given(
        on_dup=st.lists(WRITTEN, max_size=5),
        on_original=st.lists(WRITTEN, max_size=3),
        dup_carrier=st.booleans(),
        merger=st.sampled_from([*sorted(readers), "host"]),
    )
    def example(
        on_dup: list[tuple[str, Audience, bool]],
        on_original: list[tuple[str, Audience, bool]],
        dup_carrier: bool,
        merger: str,
    ) -> None:
        original = kit.cases.open(
            world.shipper_actor, type="lost", carrier=world.carrier.id, customer=world.customer.id
        ).number
        dup = kit.cases.open(
            world.shipper_actor,
            type="lost",
            carrier=world.carrier.id if dup_carrier else None,
            customer=world.customer.id,
        ).number
        for number, written in ((dup, on_dup), (original, on_original)):
            for author, audience, share in written:
                token = f"TK{next(counter):05d}X"
                try:
                    entry = kit.messages.post(readers[author], number, token, audience=audience)
                except (PermissionDenied, InvalidInput, NotFound):
                    continue  # not a case or an audience the author writes for
                if share and entry.audience == "customer":
                    with contextlib.suppress(PermissionDenied, InvalidInput):
                        kit.cases.share_with_carrier(world.shipper_actor, number, entry.id)

        def tokens(actor: Actor, number: str) -> set[str] | None:
            try:
                timeline = kit.cases.timeline(actor, number)
            except NotFound:
                return None
            return {e.body for e in timeline if e.kind == "message" and e.body.startswith("TK")}

        before = {
            name: (tokens(actor, original), tokens(actor, dup)) for name, actor in readers.items()
        }
        actor = Actor.host() if merger == "host" else readers[merger]
        allowed = merger in ("host", "shipper") or (merger == "carrier" and dup_carrier)
        if allowed:
            assert kit.cases.merge(actor, dup, into=original).number == original
        else:
            with pytest.raises((PermissionDenied, InvalidInput, NotFound)):
                kit.cases.merge(actor, dup, into=original)
        for name, reader in readers.items():
            on_original, on_dup = before[name]
            after = tokens(reader, original)
            if on_original is None:
                assert after is None, name
                assert tokens(reader, dup) is None, name
                continue
            if not allowed:
                assert after == on_original, name
                continue
            # What the reader read on the duplicate (or, for a carrier not on it, what the
            # audience rule lets it read of the duplicate's entries now on its case).
            moved = on_dup if on_dup is not None else set()
            assert after >= on_original | moved, name
            assert not (after - on_original - moved) or name == "carrier", name
            events = [e for e in kit.cases.timeline(reader, original) if e.event]
            assert ("merged_from", dup) in [(str(e.event), e.new_value) for e in events], name
            assert tokens(reader, dup) in (set(), None), name
        if allowed:
            # What the carrier gained: entries of a duplicate it was not on, that its audience
            # rule lets it read: never an internal note of another, never the customer's
            # conversation unshared.
            host_entries = kit.cases.timeline(Actor.host(), original)
            gained = (
                (tokens(world.carrier_actor, original) or set())
                - (before["carrier"][0] or set())
                - (before["carrier"][1] or set())
            )
            for entry in host_entries:
                if entry.body in gained:
                    assert entry.audience in (Audience.PARTNERS, Audience.EVERYONE), entry
            assert kit.cases.get(world.shipper_actor, dup).merged_into == original

    example()
