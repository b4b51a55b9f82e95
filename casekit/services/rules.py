"""Rules that open cases on their own: their definitions, evaluation and the sweep.

A rule opens a case (source ``rule``) through the case service, as the
system actor ``rule`` of its shipper. The row it writes in
``casekit_rule_cases`` commits in the same transaction as the case, and
that table's primary key (rule, shipment) is what keeps a rule to one open
case per shipment: two workers opening the same case concurrently collide
there, and the loser's case rolls back.
"""

from __future__ import annotations

import builtins
import json
import logging
import string
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from attrs import define, field, frozen
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from casekit import signals
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind, Side, Watcher
from casekit.domain.directory import OrgRole
from casekit.domain.rule_cases import CaseFacts
from casekit.domain.rule_starters import STARTER_RULES
from casekit.domain.rules import (
    TIER_ERROR,
    OwnerStrategy,
    RuleSpec,
    Tier,
    TimeCondition,
    parse_rule,
    parse_tier,
)
from casekit.domain.shipment import OPEN_STATUSES, ExceptionKind, ShipmentStatus
from casekit.domain.workflow import Status
from casekit.errors import CaseKitError, InvalidInput, NotFound, PermissionDenied
from casekit.query.rule_cases import case_conditions_sql, case_facts
from casekit.services.base import Edit, Service, set_status
from casekit.services.messages import append_message
from casekit.store import tables

log = logging.getLogger(__name__)

r = tables.rules.c
rc = tables.rule_cases.c
s = tables.shipments.c
c = tables.cases.c

_FINAL = tuple(st.value for st in ShipmentStatus if st.is_final)
_PRE_TRANSIT = tuple(st.value for st in ShipmentStatus if st.is_pre_transit)


@frozen
class Rule:
    """A shipper's rule as stored: its definition and whether it is enabled."""

    id: int
    org_id: int
    enabled: bool
    spec: RuleSpec
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tier(self) -> Tier:
        return self.spec.tier


@define
class RuleOutcome:
    """What evaluating rules did: the cases opened and solved, by number."""

    opened: list[str] = field(factory=list)
    solved: list[str] = field(factory=list)
    #: (rule id, shipment reference) pairs another worker opened meanwhile.
    raced: list[tuple[int, str]] = field(factory=list)
    #: (rule id, shipment reference, reason) of cases that could not open
    #: (a case type no longer in the catalogue, say); logged too.
    failed: list[tuple[int, str, str]] = field(factory=list)
    #: The (rule, shipment) pairs a sweep found due and worked.
    swept: int = 0


def _with_tier(definition: Mapping[Any, Any], tier: object) -> Mapping[Any, Any]:
    """``definition`` moved to ``tier`` (None: as it is); a bad tier is an InvalidInput."""
    if tier is None:
        return definition
    if parse_tier(tier) is None:
        raise InvalidInput({"tier": [TIER_ERROR]})
    return {**definition, "tier": tier}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, shipment: Mapping[Any, Any]) -> str:
    """``template`` with ``{reference}``, ``{status}``... taken from the shipment."""
    values = _Blank({k: "" if v is None else v for k, v in shipment.items()})
    values["status"] = shipment.get("shipment_status") or ""
    try:
        return string.Formatter().vformat(template, (), values)
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def condition_sql(spec: RuleSpec, now: datetime) -> ColumnElement[bool]:
    """The SQL form of :meth:`RuleSpec.matches`: it narrows what Python then checks."""
    parts: list[ColumnElement[bool]] = [s.shipment_status.is_not(None)]
    for values, column in (
        (spec.statuses, s.shipment_status),
        (spec.exceptions, s.exception),
        (spec.modes, s.mode),
        (spec.directions, s.direction),
        (spec.carriers, s.carrier_org_id),
        (spec.brands, s.brand),
        (spec.customer_segments, s.customer_segment),
        (spec.regions, s.region),
    ):
        if values:
            parts.append(column.in_([getattr(v, "value", v) for v in values]))
    if spec.not_modes:
        parts.append(or_(s.mode.is_(None), s.mode.not_in([m.value for m in spec.not_modes])))
    if spec.reads_cases:
        parts.append(case_conditions_sql(spec.case_conditions))
    t = spec.time_condition
    if t is not None:
        before = now - timedelta(hours=spec.hours)
        today = now.date()
        parts.append(s.shipment_status.not_in(_FINAL))
        if t is TimeCondition.STALLED_PRE_TRANSIT:
            parts += [s.shipment_status.in_(_PRE_TRANSIT), s.status_at <= before]
        elif t is TimeCondition.STALLED_IN_TRANSIT:
            parts += [s.shipment_status == ShipmentStatus.IN_TRANSIT.value, s.status_at <= before]
        elif t is TimeCondition.MISSED_APPOINTMENT:
            parts += [s.shipment_status.in_(_PRE_TRANSIT), s.appointment_at <= before]
        elif t is TimeCondition.WILL_MISS_ESTIMATED:
            parts += [
                s.shipment_status != ShipmentStatus.OUT_FOR_DELIVERY.value,
                s.estimated_date >= today,
                s.estimated_date <= (now + timedelta(hours=spec.hours)).date(),
            ]
        elif t is TimeCondition.MISSED_ESTIMATED:
            parts.append(s.estimated_date < today)
        elif t is TimeCondition.WILL_MISS_PROMISED:
            parts += [s.estimated_date > s.promised_date, s.promised_date >= today]
        else:
            parts.append(s.promised_date < today)
    return and_(true(), *parts)


class RuleService(Service):
    """A shipper's rules. Reach it as ``kit.rules``."""

    def __init__(self, kit: Any) -> None:
        super().__init__(kit)
        # Parsed definitions by their text: a sweep or a batch of events reads
        # the same rules again and again.
        self._specs: dict[str, RuleSpec] = {}

    # -- who may --------------------------------------------------------------------
    def _org_for(self, actor: Actor, org_id: int | None, *, write: bool) -> int:
        if actor.is_customer:
            raise PermissionDenied("customers have no rules")
        if actor.is_unrestricted:
            if org_id is None:
                raise InvalidInput({"org_id": ["name the shipper the rules belong to"]})
            return org_id
        if org_id not in (None, actor.org_id):
            raise NotFound("organization", org_id)
        if write and not actor.is_manager:
            raise PermissionDenied("only a manager or an admin of the shipper changes its rules")
        assert actor.org_id is not None
        return actor.org_id

    def _check_org(self, conn: Connection, org_id: int) -> None:
        o = tables.organizations.c
        role = conn.execute(select(o.role).where(o.id == org_id)).scalar_one_or_none()
        if role is None:
            raise NotFound("organization", org_id)
        if role is not OrgRole.SHIPPER:
            raise InvalidInput({"org_id": ["rules belong to a shipper"]})

    def _check_refs(self, conn: Connection, org_id: int, spec: RuleSpec) -> None:
        errors: dict[str, list[str]] = {}
        users = set(spec.owner_ids) | set(spec.watcher_ids)
        if users:
            u = tables.users.c
            mine = set(
                conn.execute(
                    select(u.id).where(u.id.in_(sorted(users)), u.org_id == org_id, u.active)
                ).scalars()
            )
            for name in ("owner_ids", "watcher_ids"):
                strangers = [i for i in getattr(spec, name) if i not in mine]
                if strangers:
                    errors[name] = [f"not active users of the shipper: {strangers}"]
        if spec.tag_ids:
            t = tables.tags.c
            usable = set(
                conn.execute(
                    select(t.id).where(
                        t.id.in_(list(spec.tag_ids)), t.org_id == org_id, t.archived_at.is_(None)
                    )
                ).scalars()
            )
            unknown = [i for i in spec.tag_ids if i not in usable]
            if unknown:
                errors["tag_ids"] = [f"not tags of the shipper in use: {unknown}"]
        named = spec.case_conditions.tag_ids
        if named:
            # Archived tags stay on the cases that carry them, so a condition may
            # name them; another organization's tag reads as an unknown one.
            t = tables.tags.c
            own = set(
                conn.execute(
                    select(t.id).where(t.id.in_(list(named)), t.org_id == org_id)
                ).scalars()
            )
            for name in ("case_tags_any", "case_tags_all", "case_tags_none"):
                unknown = [i for i in getattr(spec, name) if i not in own]
                if unknown:
                    errors[name] = [f"not tags of the shipper: {unknown}"]
        if spec.carriers:
            o = tables.organizations.c
            carriers = set(
                conn.execute(
                    select(o.id).where(
                        o.id.in_(list(spec.carriers)), o.role == OrgRole.CARRIER.value
                    )
                ).scalars()
            )
            unknown = [i for i in spec.carriers if i not in carriers]
            if unknown:
                errors["carriers"] = [f"not carriers: {unknown}"]
        if errors:
            raise InvalidInput(errors)

    @staticmethod
    def _mapping(definition: object) -> Mapping[Any, Any]:
        if not isinstance(definition, Mapping):
            raise InvalidInput({"definition": ["a rule definition is a mapping of fields"]})
        return definition

    def _parse(self, definition: Mapping[Any, Any]) -> RuleSpec:
        return parse_rule(self._mapping(definition), case_types=self.kit.case_types)

    def _rule(self, row: Mapping[Any, Any]) -> Rule:
        key = row["definition"]
        spec = self._specs.get(key)
        if spec is None:
            spec = parse_rule(json.loads(key), case_types=self.kit.case_types)
            if len(self._specs) > 10_000:
                self._specs.clear()
            self._specs[key] = spec
        return Rule(
            id=row["id"],
            org_id=row["org_id"],
            enabled=row["enabled"],
            spec=spec,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    # -- defining --------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        definition: Mapping[Any, Any],
        *,
        enabled: bool = True,
        org_id: int | None = None,
        tier: Tier | int | None = None,
    ) -> Rule:
        """Add a rule to the shipper's set. InvalidInput names every bad field.

        ``tier`` (1 or 2), when given, wins over the tier the definition names.
        """
        org = self._org_for(actor, org_id, write=True)
        spec = self._parse(_with_tier(self._mapping(definition), tier))
        now = self._now()
        with self._uow() as uow:
            conn = uow.session.connection()
            self._check_org(conn, org)
            self._check_refs(conn, org, spec)
            if conn.execute(select(r.id).where(r.org_id == org, r.name == spec.name)).first():
                raise InvalidInput({"name": [f"a rule named {spec.name!r} exists"]})
            values = {
                "org_id": org,
                "name": spec.name,
                "tier": int(spec.tier),
                "enabled": enabled,
                "definition": json.dumps(spec.as_json()),
                "assigned": 0,
                "created_at": now,
                "updated_at": now,
            }
            try:
                result = conn.execute(insert(tables.rules), values)
                uow.commit()
            except IntegrityError:
                raise InvalidInput({"name": [f"a rule named {spec.name!r} exists"]}) from None
            rule_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return self._rule(values | {"id": rule_id})

    def update(
        self,
        actor: Actor,
        rule_id: int,
        definition: Mapping[Any, Any] | None = None,
        *,
        enabled: bool | None = None,
        tier: Tier | int | None = None,
    ) -> Rule:
        """Replace the rule's definition, enable or disable it, and/or move it to ``tier``.

        ``tier`` (1 or 2) wins over the tier the definition names; the rule's
        other fields stay as they are when no definition is given.
        """
        now = self._now()
        with self._uow() as uow:
            conn = uow.session.connection()
            row = self._load(conn, actor, rule_id, write=True)
            values: dict[str, Any] = {"updated_at": now}
            if tier is not None:
                base = definition if definition is not None else self._rule(row).spec.as_json()
                definition = _with_tier(self._mapping(base), tier)
            if definition is not None:
                spec = self._parse(definition)
                self._check_refs(conn, row["org_id"], spec)
                clash = conn.execute(
                    select(r.id).where(
                        r.org_id == row["org_id"], r.name == spec.name, r.id != rule_id
                    )
                ).first()
                if clash:
                    raise InvalidInput({"name": [f"a rule named {spec.name!r} exists"]})
                values.update(
                    name=spec.name, tier=int(spec.tier), definition=json.dumps(spec.as_json())
                )
            if enabled is not None:
                values["enabled"] = enabled
            conn.execute(update(tables.rules).where(r.id == rule_id).values(values))
            uow.commit()
        return self._rule(dict(row) | values)

    def enable(self, actor: Actor, rule_id: int) -> Rule:
        return self.update(actor, rule_id, enabled=True)

    def disable(self, actor: Actor, rule_id: int) -> Rule:
        return self.update(actor, rule_id, enabled=False)

    def delete(self, actor: Actor, rule_id: int) -> None:
        """Remove the rule; the cases it opened stay, as they are."""
        with self._uow() as uow:
            conn = uow.session.connection()
            self._load(conn, actor, rule_id, write=True)
            conn.execute(delete(tables.rule_cases).where(rc.rule_id == rule_id))
            conn.execute(delete(tables.rules).where(r.id == rule_id))
            uow.commit()

    def get(self, actor: Actor, rule_id: int) -> Rule:
        with self._uow(write=False) as uow:
            return self._rule(self._load(uow.session.connection(), actor, rule_id, write=False))

    def list(self, actor: Actor, *, org_id: int | None = None) -> builtins.list[Rule]:
        """The shipper's rules, Tier 1 first, each tier by name; its staff may read them."""
        org = self._org_for(actor, org_id, write=False)
        with self._uow(write=False) as uow:
            rows = uow.session.connection().execute(
                select(tables.rules).where(r.org_id == org).order_by(r.tier, r.name)
            )
            return [self._rule(row) for row in rows.mappings()]

    def install_starters(self, actor: Actor, *, org_id: int | None = None) -> builtins.list[Rule]:
        """Add the starter rules, disabled, skipping names the shipper already uses."""
        org = self._org_for(actor, org_id, write=True)
        have = {rule.name for rule in self.list(actor, org_id=org)}
        return [
            self.create(actor, definition, enabled=False, org_id=org)
            for definition in STARTER_RULES
            if definition["name"] not in have
        ]

    def _load(
        self, conn: Connection, actor: Actor, rule_id: int, *, write: bool
    ) -> Mapping[Any, Any]:
        row = conn.execute(select(tables.rules).where(r.id == rule_id)).mappings().first()
        if row is None or not (actor.is_unrestricted or row["org_id"] == actor.org_id):
            raise NotFound("rule", rule_id)
        if actor.is_customer:
            raise NotFound("rule", rule_id)
        if write and not actor.is_manager:
            raise PermissionDenied("only a manager or an admin of the shipper changes its rules")
        return row

    # -- evaluating -------------------------------------------------------------------
    def dry_run(
        self,
        actor: Actor,
        rule: int | Mapping[Any, Any],
        *,
        org_id: int | None = None,
        limit: int = 1000,
    ) -> builtins.list[str]:
        """The references of the shipments the rule would open cases for now.

        ``rule`` is a saved rule's id or a definition not saved yet. Nothing
        is written. Shipments whose case from this rule is still open are
        left out, as the rule would leave them.
        """
        now = self._now()
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            if isinstance(rule, int):
                row = self._load(conn, actor, rule, write=False)
                spec, org, rule_id = self._rule(row).spec, row["org_id"], rule
            else:
                org = self._org_for(actor, org_id, write=False)
                spec, rule_id = self._parse(rule), None
                self._check_refs(conn, org, spec)
            held = self._held(conn, [rule_id]) if rule_id is not None else {}
            stmt = (
                select(tables.shipments)
                .where(s.shipper_org_id == org, condition_sql(spec, now))
                .order_by(s.id)
            )
            found: builtins.list[str] = []
            rows = builtins.list(conn.execute(stmt).mappings())
            cases = self._case_facts(conn, org, spec, [row["id"] for row in rows])
            for shipment in rows:
                if not spec.matches(shipment, now, cases.get(shipment["id"], ())):
                    continue
                if rule_id is not None and not _free(held.get((rule_id, shipment["id"])), shipment):
                    continue
                found.append(shipment["reference"])
                if len(found) >= limit:
                    break
            return found

    def on_shipments_moved(self, shipments: Sequence[Mapping[Any, Any]]) -> RuleOutcome:
        """Check the event rules against shipments a tracking event just moved.

        Called by :meth:`~casekit.services.shipments.ShipmentService.record_events`
        after it commits; also solves the cases of rules that auto-solve when a
        shipment reaches one of their ``solve_on`` statuses.
        """
        outcome = RuleOutcome()
        if not shipments:
            return outcome
        now = self._now()
        orgs = sorted({row["shipper_org_id"] for row in shipments})
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            rules = self._enabled(conn, orgs)
            ids = [rule.id for rules_of in rules.values() for rule in rules_of]
            held = self._held(conn, ids, [row["id"] for row in shipments])
        by_id = {rule.id: rule for rules_of in rules.values() for rule in rules_of}
        triggers = {org: _triggers(of) for org, of in rules.items()}
        held_by_shipment: dict[int, builtins.list[tuple[int, dict[str, Any]]]] = {}
        for (rule_id, shipment_id), slot in held.items():
            held_by_shipment.setdefault(shipment_id, []).append((rule_id, slot))
        for shipment in shipments:
            status = shipment["shipment_status"]
            for rule_id, slot in held_by_shipment.get(shipment["id"], ()):
                rule = by_id.get(rule_id)
                if (
                    rule is not None
                    and rule.spec.auto_solve
                    and status in rule.spec.solve_on
                    and slot["case_status"] != Status.SOLVED
                ):
                    number = self._solve(rule, slot, shipment)
                    if number:
                        outcome.solved.append(number)
            cases: builtins.list[CaseFacts] | None = None
            for rule in _candidates(triggers, shipment):
                if rule.spec.reads_cases and cases is None:
                    # Read after this shipment's auto-solving, once for its rules.
                    cases = self._shipment_cases(shipment, rules)
                if not rule.spec.matches(shipment, now, cases or ()):
                    continue
                if not _free(held.get((rule.id, shipment["id"])), shipment):
                    continue
                self._open(rule, shipment, held.get((rule.id, shipment["id"])), outcome)
        return outcome

    def sweep(
        self,
        *,
        now: datetime | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> RuleOutcome:
        """Check every enabled time rule of every shipper against the clock.

        Idempotent: a shipment whose case from the rule is still open (or
        was solved without newer tracking news) gets no other. Safe to run
        from cron on several machines at once: the database lets one case
        through per rule and shipment. ``progress`` is called with (done,
        total) as the shipments found due are worked, from (0, total) on.
        """
        started = time.perf_counter()
        at = now or self._now()
        outcome = RuleOutcome()
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            orgs = sorted(set(conn.execute(select(r.org_id).where(r.enabled).distinct()).scalars()))
            rules = self._enabled(conn, orgs)
            timed = [rule for of in rules.values() for rule in of if rule.spec.is_timed]
            held = self._held(conn, [rule.id for rule in timed])
            todo: list[tuple[Rule, dict[str, Any]]] = []
            for rule in timed:
                stmt = select(tables.shipments).where(
                    s.shipper_org_id == rule.org_id, condition_sql(rule.spec, at)
                )
                rows = builtins.list(conn.execute(stmt).mappings())
                cases = self._case_facts(conn, rule.org_id, rule.spec, [f["id"] for f in rows])
                for found in rows:
                    if rule.spec.matches(found, at, cases.get(found["id"], ())) and _free(
                        held.get((rule.id, found["id"])), found
                    ):
                        todo.append((rule, dict(found)))
        if progress is not None:
            progress(0, len(todo))
        for done, (rule, candidate) in enumerate(todo, start=1):
            self._open(rule, candidate, held.get((rule.id, candidate["id"])), outcome)
            outcome.swept = done
            if progress is not None:
                progress(done, len(todo))
        signals.send(
            signals.rules_swept,
            self.kit,
            seconds=time.perf_counter() - started,
            opened=len(outcome.opened),
        )
        return outcome

    # -- the parts ------------------------------------------------------------------------
    @staticmethod
    def _case_facts(
        conn: Connection, org_id: int, spec: RuleSpec, shipment_ids: Sequence[int]
    ) -> dict[int, builtins.list[CaseFacts]]:
        """The active cases of the shipments, for a rule with conditions on them."""
        if not spec.reads_cases:
            return {}
        return case_facts(conn, org_id, shipment_ids, spec.case_conditions.tag_ids)

    def _shipment_cases(
        self, shipment: Mapping[Any, Any], rules: Mapping[int, Sequence[Rule]]
    ) -> builtins.list[CaseFacts]:
        """A moved shipment's active cases, with the tags its shipper's rules name."""
        org = shipment["shipper_org_id"]
        named = {i for rule in rules.get(org, ()) for i in rule.spec.case_conditions.tag_ids}
        with self._uow(write=False) as uow:
            found = case_facts(uow.session.connection(), org, [shipment["id"]], named)
        return found.get(shipment["id"], [])

    def _enabled(self, conn: Connection, orgs: Iterable[int]) -> dict[int, builtins.list[Rule]]:
        found: dict[int, builtins.list[Rule]] = {}
        org_ids = builtins.list(orgs)
        if not org_ids:
            return found
        stmt = select(tables.rules).where(r.enabled, r.org_id.in_(org_ids)).order_by(r.id)
        for row in conn.execute(stmt).mappings():
            try:
                rule = self._rule(row)
            except InvalidInput:
                continue  # a definition that no longer checks (a case type gone): skipped
            found.setdefault(rule.org_id, []).append(rule)
        return found

    def _held(
        self,
        conn: Connection,
        rule_ids: Sequence[int],
        shipment_ids: Sequence[int] | None = None,
    ) -> dict[tuple[int, int], dict[str, Any]]:
        """The cases the rules hold, by (rule, shipment), with their case's status."""
        if not rule_ids:
            return {}
        stmt = (
            select(rc.rule_id, rc.shipment_id, rc.case_id, rc.status_at, c.number, c.status)
            .join(tables.cases, c.id == rc.case_id)
            .where(rc.rule_id.in_(builtins.list(rule_ids)))
        )
        if shipment_ids is not None:
            stmt = stmt.where(rc.shipment_id.in_(builtins.list(shipment_ids)))
        return {
            (row.rule_id, row.shipment_id): {
                "case_id": row.case_id,
                "status_at": row.status_at,
                "number": row.number,
                "case_status": row.status,
            }
            for row in conn.execute(stmt)
        }

    def _open(
        self,
        rule: Rule,
        shipment: Mapping[Any, Any],
        previous: Mapping[Any, Any] | None,
        outcome: RuleOutcome,
    ) -> None:
        spec = rule.spec
        actor = Actor.system_actor("rule", org_id=rule.org_id)
        now = self._now()

        def claim(edit: Edit) -> None:
            conn = edit.uow.session.connection()
            if previous is not None:
                conn.execute(
                    delete(tables.rule_cases).where(
                        rc.rule_id == rule.id,
                        rc.shipment_id == shipment["id"],
                        rc.case_id == previous["case_id"],
                    )
                )
            conn.execute(
                insert(tables.rule_cases),
                {
                    "rule_id": rule.id,
                    "shipment_id": shipment["id"],
                    "case_id": edit.case.id,
                    "opened_at": now,
                    "status_at": shipment.get("status_at"),
                },
            )
            owner = self._choose_owner(conn, rule)
            if owner is not None:
                edit.case.set_owner(Side.SHIPPER, owner)
                edit.event(EventKind.OWNER_CHANGED, new=owner, org_id=rule.org_id)
            for user_id in spec.watcher_ids:
                edit.uow.session.add(Watcher(case_id=edit.case.id, user_id=user_id, created_at=now))  # type: ignore[arg-type]
                edit.event(
                    EventKind.WATCHER_ADDED,
                    new=user_id,
                    audience=Audience.INTERNAL,
                    org_id=rule.org_id,
                )

        status = shipment.get("shipment_status") or ""
        exception = shipment.get("exception")
        default = f"Opened by the rule “{spec.name}”: shipment {{reference}} is {status}" + (
            f" ({ExceptionKind(exception).value})." if exception else "."
        )
        try:
            view = self.kit.cases.open(
                actor,
                type=spec.case_type,
                shipment=shipment["reference"],
                carrier_collaborating=spec.carrier_collaborating,
                subject=fill(spec.subject, shipment)[:300]
                or f"{spec.name}: {shipment['reference']}"[:300],
                message=fill(spec.message or default, shipment),
                priority=spec.priority,
                tags=self._usable_tags(rule),
                _on_opened=claim,
            )
        except IntegrityError:
            outcome.raced.append((rule.id, shipment["reference"]))
            return
        except CaseKitError as error:
            # One rule's bad case must not stop the others, nor lose the events.
            log.warning(
                "casekit: rule %s could not open a case for %s: %s",
                rule.id,
                shipment["reference"],
                error,
            )
            outcome.failed.append((rule.id, shipment["reference"], str(error)))
            return
        outcome.opened.append(view.number)

    def _usable_tags(self, rule: Rule) -> tuple[int, ...]:
        """The rule's tags that are still in use (a tag archived since is left out)."""
        if not rule.spec.tag_ids:
            return ()
        t = tables.tags.c
        with self._uow(write=False) as uow:
            usable = set(
                uow.session.scalars(
                    select(t.id).where(
                        t.id.in_(list(rule.spec.tag_ids)),
                        t.org_id == rule.org_id,
                        t.archived_at.is_(None),
                    )
                )
            )
        gone = [i for i in rule.spec.tag_ids if i not in usable]
        if gone:
            log.info("casekit: rule %s leaves out its archived tags %s", rule.id, gone)
        return tuple(i for i in rule.spec.tag_ids if i in usable)

    def _choose_owner(self, conn: Connection, rule: Rule) -> int | None:
        spec = rule.spec
        if spec.owner is OwnerStrategy.NONE or not spec.owner_ids:
            return None
        u = tables.users.c
        active = set(
            conn.execute(
                select(u.id).where(
                    u.id.in_(builtins.list(spec.owner_ids)), u.org_id == rule.org_id, u.active
                )
            ).scalars()
        )
        team = [i for i in spec.owner_ids if i in active]
        if not team:
            return None
        if spec.owner is OwnerStrategy.USER:
            return int(team[0])
        if spec.owner is OwnerStrategy.ROUND_ROBIN:
            conn.execute(
                update(tables.rules).where(r.id == rule.id).values(assigned=r.assigned + 1)
            )
            turn = conn.execute(select(r.assigned).where(r.id == rule.id)).scalar_one()
            return int(team[(turn - 1) % len(team)])
        loads: dict[int, int] = dict(
            conn.execute(
                select(c.shipper_owner_id, func.count())
                .where(c.shipper_owner_id.in_(team), c.status != Status.SOLVED.value)
                .group_by(c.shipper_owner_id)
            ).all()
        )
        return min(team, key=lambda i: (loads.get(i, 0), team.index(i)))

    def _solve(
        self, rule: Rule, slot: Mapping[Any, Any], shipment: Mapping[Any, Any]
    ) -> str | None:
        actor = Actor.system_actor("rule", org_id=rule.org_id)
        number = slot["number"]
        try:
            with self.editing(actor, number) as edit:
                if edit.case.status is Status.SOLVED:
                    return None
                append_message(
                    edit,
                    body=f"Solved by the rule “{rule.name}”: shipment "
                    f"{shipment['reference']} is {shipment['shipment_status']}.",
                    audience=Audience.INTERNAL,
                )
                set_status(edit, Status.SOLVED)
                edit.finish(view=False)
        except CaseKitError as error:
            log.warning("casekit: rule %s could not solve case %s: %s", rule.id, number, error)
            return None
        return str(number)


_Triggers = tuple[dict[str, list[Rule]], dict[str, list[Rule]]]


def _triggers(rules: Iterable[Rule]) -> _Triggers:
    """A shipper's event rules by the status, or else the exception, each needs.

    Every event rule names statuses or exceptions (a rule must), so a moved
    shipment is checked only against the rules its status or exception can
    satisfy; each rule sits in one of the two indexes, never both.
    """
    by_status: dict[str, list[Rule]] = {}
    by_exception: dict[str, list[Rule]] = {}
    for rule in rules:
        spec = rule.spec
        if spec.is_timed:
            continue
        if spec.statuses:
            for status in spec.statuses:
                by_status.setdefault(status.value, []).append(rule)
        else:
            for exception in spec.exceptions:
                by_exception.setdefault(exception.value, []).append(rule)
    return by_status, by_exception


def _candidates(triggers: Mapping[int, _Triggers], shipment: Mapping[Any, Any]) -> list[Rule]:
    found = triggers.get(shipment["shipper_org_id"])
    if found is None:
        return []
    by_status, by_exception = found
    return by_status.get(shipment["shipment_status"] or "", []) + by_exception.get(
        shipment["exception"] or "", []
    )


def _free(slot: Mapping[Any, Any] | None, shipment: Mapping[Any, Any]) -> bool:
    """May the rule open a case for the shipment, given the case it holds?"""
    if slot is None:
        return True
    if slot["case_status"] != Status.SOLVED:
        return False
    # Solved: again only after newer tracking news than the case was opened on.
    return bool(slot["status_at"] != shipment.get("status_at"))


__all__ = [
    "OPEN_STATUSES",
    "STARTER_RULES",
    "Rule",
    "RuleOutcome",
    "RuleService",
    "condition_sql",
]
