"""Service levels: an organization's calendars and targets, and the clocks on its cases.

``kit.service_levels`` (:class:`ServiceLevelService`). An organization's
managers set its calendars (its own, and one per partner organization where
it keeps other hours for the cases with that partner, which may also show
its clocks to that partner) and its targets. Each change recomputes the
clocks of the organization's open cases from their timelines
(:func:`casekit.store.clocks.recompute`); every change of a case recomputes
that case's clocks in its own transaction. See docs/service-levels.rst.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, delete, func, or_, select, update

from casekit.domain.actor import Actor
from casekit.domain.calendar import BusinessCalendar
from casekit.domain.case import Source
from casekit.domain.directory import OrgRole
from casekit.domain.sla import CONDITION_FIELDS, ClockState, Target, conditions_from
from casekit.domain.workflow import Status
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.services import clock_alerts
from casekit.services.base import Service
from casekit.services.clock_alerts import SweepOutcome
from casekit.store import clocks, tables
from casekit.store.clocks import OWN, target_from_row

#: The longest target: a year and a day.
MAX_SECONDS = int(timedelta(days=366).total_seconds())
#: How many values one condition may list.
MAX_VALUES = 200
#: How many cases a recompute reads and writes per transaction.
RECOMPUTE_BATCH = 500
#: How long a change of targets or calendars recomputes clocks before it
#: leaves the rest to the worker (:meth:`ServiceLevelService.recompute_pending`).
RECOMPUTE_SECONDS = 2.0

_TARGET_FIELDS = frozenset(
    {
        "name",
        "position",
        "enabled",
        "conditions",
        "first_response",
        "next_response",
        "resolution",
        "pause_when_waiting",
        "warn_before",
        "escalation",
    }
)


@frozen(kw_only=True)
class CalendarSetting:
    """An organization's calendar: its own (``partner_org_id`` None) or the one it
    keeps for its cases with one partner organization."""

    org_id: int
    partner_org_id: int | None
    calendar: BusinessCalendar
    share_clocks: bool
    updated_at: datetime
    updated_by: str


def _setting(row: Mapping[Any, Any]) -> CalendarSetting:
    return CalendarSetting(
        org_id=row["org_id"],
        partner_org_id=row["partner_org_id"] or None,
        calendar=BusinessCalendar.from_json(json.loads(row["definition"])),
        share_clocks=bool(row["share_clocks"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


class ServiceLevelService(Service):
    """Calendars, targets and the recomputing of clocks."""

    # -- calendars -----------------------------------------------------------------------
    def calendars(self, actor: Actor) -> builtins.list[CalendarSetting]:
        """The organization's calendars: its own first, then one per partner."""
        org_id = _staff_org(actor)
        k = tables.calendars.c
        with self._uow(write=False) as uow:
            rows = uow.connection().execute(
                select(tables.calendars).where(k.org_id == org_id).order_by(k.partner_org_id)
            )
            return [_setting(row) for row in rows.mappings()]

    def calendar(
        self, actor: Actor, *, partner_org_id: int | None = None
    ) -> CalendarSetting | None:
        """The calendar the organization set for ``partner_org_id`` (or its own), if any."""
        return next((s for s in self.calendars(actor) if s.partner_org_id == partner_org_id), None)

    def set_calendar(
        self,
        actor: Actor,
        calendar: BusinessCalendar | Mapping[str, Any],
        *,
        partner_org_id: int | None = None,
        share_clocks: bool = False,
    ) -> CalendarSetting:
        """Set the organization's own calendar, or the one for its cases with
        ``partner_org_id`` (a manager's call); ``share_clocks`` (a partner's
        calendar only) shows the organization's clocks to that partner.

        The open cases' clocks are recomputed with it.
        """
        org_id = _manager_org(actor)
        errors: dict[str, Any] = {}
        if isinstance(calendar, BusinessCalendar):
            found = calendar
        elif isinstance(calendar, Mapping):
            try:
                found = BusinessCalendar.from_json(calendar)
            except InvalidInput as exc:
                errors.update(exc.errors)
        else:
            errors["calendar"] = ["a calendar: an object with time_zone and hours"]
        if not isinstance(share_clocks, bool):
            errors["share_clocks"] = ["true or false"]
        elif share_clocks and partner_org_id is None:
            errors["share_clocks"] = ["clocks are shown to one partner: give partner_org_id"]
        with self._uow() as uow:
            conn = uow.connection()
            if partner_org_id is not None:
                _check_partner(conn, errors, org_id, partner_org_id)
            if errors:
                raise InvalidInput(errors)
            key = partner_org_id or OWN
            values = {
                "definition": json.dumps(found.to_json(), sort_keys=True),
                "share_clocks": share_clocks,
                "updated_at": self._now(),
                "updated_by": actor.describe(),
            }
            k = tables.calendars.c
            done = conn.execute(
                update(tables.calendars)
                .where(k.org_id == org_id, k.partner_org_id == key)
                .values(values)
            )
            if done.rowcount == 0:
                conn.execute(
                    tables.calendars.insert().values(org_id=org_id, partner_org_id=key, **values)
                )
            row = (
                conn.execute(
                    select(tables.calendars).where(k.org_id == org_id, k.partner_org_id == key)
                )
                .mappings()
                .one()
            )
            uow.commit()
        self._recompute_org(org_id)
        return _setting(row)

    def remove_calendar(self, actor: Actor, *, partner_org_id: int | None = None) -> None:
        """Remove the organization's own calendar (its clocks then count every hour)
        or the one for ``partner_org_id``; NotFound when there is none."""
        org_id = _manager_org(actor)
        k = tables.calendars.c
        with self._uow() as uow:
            done = uow.connection().execute(
                delete(tables.calendars).where(
                    k.org_id == org_id, k.partner_org_id == (partner_org_id or OWN)
                )
            )
            if done.rowcount == 0:
                raise NotFound("calendar", partner_org_id or "own")
            uow.commit()
        self._recompute_org(org_id)

    # -- targets -------------------------------------------------------------------------
    def targets(self, actor: Actor) -> builtins.list[Target]:
        """The organization's targets, in the order they are tried."""
        org_id = _staff_org(actor)
        t = tables.sla_targets.c
        with self._uow(write=False) as uow:
            rows = uow.connection().execute(
                select(tables.sla_targets).where(t.org_id == org_id).order_by(t.position, t.id)
            )
            return [target_from_row(row) for row in rows.mappings()]

    def target(self, actor: Actor, target_id: int) -> Target:
        found = next((t for t in self.targets(actor) if t.id == target_id), None)
        if found is None:
            raise NotFound("target", target_id)
        return found

    def save_target(
        self, actor: Actor, values: Mapping[str, Any], *, target_id: int | None = None
    ) -> Target:
        """Add a target (``target_id`` None) or change one (a manager's call).

        ``values``: ``name``; ``conditions`` (:data:`~casekit.domain.sla.CONDITION_FIELDS`,
        each a list: ``types``, ``partners`` (organization ids), ``brands``,
        ``modes``, ``sources``, ``segments``); ``first_response``,
        ``next_response``, ``resolution`` (working time: a timedelta or whole
        seconds, at least one); ``pause_when_waiting``; ``warn_before``;
        ``escalation`` (``{"watchers": [user ids], "hand_over_to": user id}``);
        ``position`` (tried in that order; a new target goes last);
        ``enabled``. A change leaves what ``values`` does not name as it is.
        The open cases' clocks are recomputed with it.
        """
        org_id = _manager_org(actor)
        if not isinstance(values, Mapping):
            raise InvalidInput({"target": ["an object"]})
        errors: dict[str, Any] = {
            name: ["unknown field"] for name in values if name not in _TARGET_FIELDS
        }
        with self._uow() as uow:
            conn = uow.connection()
            t = tables.sla_targets.c
            before: Target | None = None
            if target_id is not None:
                row = (
                    conn.execute(
                        select(tables.sla_targets).where(t.id == target_id, t.org_id == org_id)
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    raise NotFound("target", target_id)
                before = target_from_row(row)
            row_values = self._target_values(conn, errors, org_id, values, before)
            if errors:
                raise InvalidInput(errors)
            row_values.update(updated_at=self._now(), updated_by=actor.describe())
            if before is None:
                if "position" not in row_values:
                    last = conn.execute(
                        select(func.max(t.position)).where(t.org_id == org_id)
                    ).scalar()
                    row_values["position"] = 0 if last is None else int(last) + 1
                result = conn.execute(
                    tables.sla_targets.insert().values(org_id=org_id, **row_values)
                )
                target_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            else:
                conn.execute(update(tables.sla_targets).where(t.id == target_id).values(row_values))
            saved = target_from_row(
                conn.execute(select(tables.sla_targets).where(t.id == target_id)).mappings().one()
            )
            uow.commit()
        self._recompute_org(org_id)
        return saved

    def remove_target(self, actor: Actor, target_id: int) -> None:
        """Remove a target; its cases' clocks go with it (or move to the next target that fits)."""
        org_id = _manager_org(actor)
        t = tables.sla_targets.c
        with self._uow() as uow:
            done = uow.connection().execute(
                delete(tables.sla_targets).where(t.id == target_id, t.org_id == org_id)
            )
            if done.rowcount == 0:
                raise NotFound("target", target_id)
            uow.commit()
        self._recompute_org(org_id)

    def _target_values(
        self,
        conn: Connection,
        errors: dict[str, Any],
        org_id: int,
        values: Mapping[str, Any],
        before: Target | None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "name" in values or before is None:
            name = values.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                errors["name"] = ["a name of 1 to 200 characters"]
            else:
                out["name"] = name.strip()
        if "position" in values:
            position = values["position"]
            if (
                isinstance(position, bool)
                or not isinstance(position, int)
                or not (0 <= position <= 1_000_000)
            ):
                errors["position"] = ["a whole number from 0"]
            else:
                out["position"] = position
        for name in ("enabled", "pause_when_waiting"):
            if name in values:
                if not isinstance(values[name], bool):
                    errors[name] = ["true or false"]
                else:
                    out[name] = values[name]
            elif before is None:
                out[name] = name == "enabled"
        for name in ("first_response", "next_response", "resolution"):
            if name in values:
                out[f"{name}_seconds"] = _duration(errors, name, values[name])
            elif before is None:
                out[f"{name}_seconds"] = None
        kept = {
            name: out.get(f"{name}_seconds", getattr(before, f"{name}_seconds", None))
            for name in ("first_response", "next_response", "resolution")
        }
        if not any(kept.values()) and not any(
            n in errors for n in ("first_response", "next_response", "resolution")
        ):
            errors["resolution"] = [
                "a target sets at least one of first_response, next_response and resolution"
            ]
        if "warn_before" in values:
            warn = _duration(errors, "warn_before", values["warn_before"], minimum=0)
            if warn is not None:
                out["warn_before_seconds"] = warn
        elif before is None:
            # an hour, or a quarter of the shortest time when that is less
            shortest = min((v for v in kept.values() if v), default=4 * 3600)
            out["warn_before_seconds"] = min(3600, shortest // 4)
        if "conditions" in values or before is None:
            conditions = self._conditions(conn, errors, org_id, values.get("conditions") or {})
            out["conditions"] = json.dumps(conditions, sort_keys=True)
        if "escalation" in values or before is None:
            escalation = _escalation(conn, errors, org_id, values.get("escalation") or {})
            out["escalation"] = json.dumps(escalation, sort_keys=True)
        return out

    def _conditions(
        self, conn: Connection, errors: dict[str, Any], org_id: int, data: Any
    ) -> dict[str, list[Any]]:
        if not isinstance(data, Mapping):
            errors["conditions"] = ["an object of lists: " + ", ".join(CONDITION_FIELDS)]
            return {}
        found: dict[str, list[Any]] = {}
        for name, wanted in data.items():
            field = f"conditions.{name}"
            if name not in CONDITION_FIELDS:
                errors[field] = [
                    "unknown condition; the conditions: " + ", ".join(CONDITION_FIELDS)
                ]
                continue
            if wanted is None:
                continue
            if not isinstance(wanted, list) or len(wanted) > MAX_VALUES:
                errors[field] = [f"a list of at most {MAX_VALUES} values"]
                continue
            if name == "partners":
                if any(isinstance(v, bool) or not isinstance(v, int) for v in wanted):
                    errors[field] = ["organization ids"]
                    continue
                role = conn.execute(
                    select(tables.organizations.c.role).where(tables.organizations.c.id == org_id)
                ).scalar_one()
                other = OrgRole.CARRIER if role is OrgRole.SHIPPER else OrgRole.SHIPPER
                o = tables.organizations.c
                known = set(
                    conn.execute(
                        select(o.id).where(o.id.in_(sorted(set(wanted))), o.role == other)
                    ).scalars()
                )
                unknown = [v for v in wanted if v not in known]
                if unknown:
                    errors[field] = [f"not a {other.value} organization: {unknown[0]}"]
                    continue
            else:
                if any(not isinstance(v, str) or not v or len(v) > 200 for v in wanted):
                    errors[field] = ["text values of 1 to 200 characters"]
                    continue
                if name == "types":
                    unknown = [v for v in wanted if v not in self.kit.case_types]
                    if unknown:
                        errors[field] = [f"unknown case type {unknown[0]!r}"]
                        continue
                if name == "sources":
                    sources = {s.value for s in Source}
                    unknown = [v for v in wanted if v not in sources]
                    if unknown:
                        errors[field] = [f"unknown source {unknown[0]!r}"]
                        continue
            found[name] = sorted(set(wanted), key=str)
        return conditions_from(found)

    # -- clocks --------------------------------------------------------------------------
    def sweep(self, *, now: datetime | None = None, limit: int | None = None) -> SweepOutcome:
        """Write the service-level warnings due at ``now`` (the kit's clock by default)
        to the outbox, and escalate the breaches whose target says so.

        Each clock's due-soon and breach warnings are written once (see
        ``casekit.services.clock_alerts``); safe to run from several
        processes at once. ``limit`` stops after that many clocks. The
        built-in worker runs it every ``sla_sweep_seconds``; ``casekit sla
        sweep`` runs it once.
        """
        return clock_alerts.sweep(self.kit, now=now, limit=limit)

    def recompute(
        self, actor: Actor, *, org_id: int | None = None, since: datetime | None = None
    ) -> int:
        """Recompute the clocks of the open cases of ``org_id`` (the actor's own
        organization; any, or every organization with targets, for the host), to
        the end. ``casekit sla recompute`` runs it.

        With ``since``, also the solved cases opened at or after it that have
        no clock of the organization yet (its cases from before it had targets,
        or from before upgrading past the migration that made the report
        targets service levels): they get the clocks they stopped with, which
        the reports count. Returns how many cases were recomputed.
        """
        if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
            raise InvalidInput({"since": ["a moment with a time zone"]})
        if actor.is_unrestricted:
            if org_id is not None:
                orgs = [org_id]
            else:
                t = tables.sla_targets.c
                with self._uow(write=False) as uow:
                    orgs = list(uow.connection().execute(select(t.org_id).distinct()).scalars())
        else:
            own = _manager_org(actor)
            if org_id is not None and org_id != own:
                raise PermissionDenied("an organization recomputes its own clocks")
            orgs = [own]
        counted = 0
        for org in orgs:
            counted += self._recompute_org(org)
            counted += self.recompute_pending(org_id=org, seconds=float("inf"))
            if since is not None:
                counted += self._backfill(org, since)
        return counted

    def _backfill(self, org_id: int, since: datetime) -> int:
        """Give the cases of ``org_id`` opened since ``since`` that have no clock of it
        their clocks, ``RECOMPUTE_BATCH`` at a time."""
        c, k = tables.cases.c, tables.clocks.c
        counted = after = 0
        while True:
            with self._uow() as uow:
                conn = uow.connection()
                no_clock = ~select(k.id).where(k.case_id == c.id, k.org_id == org_id).exists()
                ids = list(
                    conn.execute(
                        select(c.id)
                        .where(
                            or_(c.shipper_org_id == org_id, c.carrier_org_id == org_id),
                            c.id > after,
                            c.created_at >= since,
                            no_clock,
                        )
                        .order_by(c.id)
                        .limit(RECOMPUTE_BATCH)
                    ).scalars()
                )
                if not ids:
                    return counted
                clocks.recompute(conn, ids, self._now())
                uow.commit()
            counted += len(ids)
            after = ids[-1]

    def _recompute_org(self, org_id: int) -> int:
        """Recompute the clocks of ``org_id``'s open cases from the start: as many
        as ``RECOMPUTE_SECONDS`` allows now, the rest by :meth:`recompute_pending`
        (which the worker runs). Returns how many cases were recomputed now."""
        now = self._now()
        r = tables.clock_recomputes.c
        with self._uow() as uow:
            conn = uow.connection()
            done = conn.execute(
                update(tables.clock_recomputes)
                .where(r.org_id == org_id)
                .values(after_case_id=0, requested_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    tables.clock_recomputes.insert().values(
                        org_id=org_id, after_case_id=0, requested_at=now
                    )
                )
            uow.commit()
        return self.recompute_pending(org_id=org_id)

    def recompute_pending(self, *, org_id: int | None = None, seconds: float | None = None) -> int:
        """Go on with the recomputes that a change of targets or calendars left to do,
        ``RECOMPUTE_BATCH`` cases per transaction, for about ``seconds``
        (``RECOMPUTE_SECONDS`` by default); only ``org_id``'s if given.

        Safe from several processes: each batch holds its organization's row
        (``FOR UPDATE SKIP LOCKED`` where the database has it), so two workers
        never do the same batch. Returns how many cases were recomputed.
        """
        budget = RECOMPUTE_SECONDS if seconds is None else seconds
        started = time.monotonic()
        counted = 0
        while True:  # one batch at least
            done = self._recompute_batch(org_id)
            if done is None:
                return counted
            counted += done
            if time.monotonic() - started >= budget:
                return counted

    def _recompute_batch(self, org_id: int | None) -> int | None:
        """One batch of one pending recompute; None when none is left (or all are held)."""
        c, k, r = tables.cases.c, tables.clocks.c, tables.clock_recomputes.c
        with self._uow() as uow:
            conn = uow.connection()
            pending = select(tables.clock_recomputes).order_by(r.requested_at, r.org_id).limit(1)
            if org_id is not None:
                pending = pending.where(r.org_id == org_id)
            if conn.dialect.name != "sqlite":
                pending = pending.with_for_update(skip_locked=True)
            row = conn.execute(pending).mappings().first()
            if row is None:
                return None
            org, after = row["org_id"], row["after_case_id"]
            open_clock = (
                select(k.id)
                .where(k.case_id == c.id, k.org_id == org, k.state != ClockState.STOPPED.value)
                .exists()
            )
            ids = list(
                conn.execute(
                    select(c.id)
                    .where(
                        or_(c.shipper_org_id == org, c.carrier_org_id == org),
                        c.id > after,
                        or_(
                            c.status != Status.SOLVED.value,
                            c.carrier_status != Status.SOLVED.value,
                            open_clock,
                        ),
                    )
                    .order_by(c.id)
                    .limit(RECOMPUTE_BATCH)
                ).scalars()
            )
            if ids:
                if conn.dialect.name != "sqlite":
                    # The cases' own changes recompute too: one at a time per case.
                    conn.execute(select(c.id).where(c.id.in_(ids)).with_for_update())
                clocks.recompute(conn, ids, self._now())
                conn.execute(
                    update(tables.clock_recomputes)
                    .where(r.org_id == org)
                    .values(after_case_id=ids[-1])
                )
            if len(ids) < RECOMPUTE_BATCH:
                conn.execute(delete(tables.clock_recomputes).where(r.org_id == org))
            uow.commit()
            return len(ids)

    def pending_recomputes(self) -> builtins.list[tuple[int, int, datetime]]:
        """The recomputes still to do: (organization, last case id done, requested at)."""
        r = tables.clock_recomputes.c
        with self._uow(write=False) as uow:
            rows = uow.connection().execute(
                select(r.org_id, r.after_case_id, r.requested_at).order_by(r.requested_at)
            )
            return [(row.org_id, row.after_case_id, row.requested_at) for row in rows]


def _staff_org(actor: Actor) -> int:
    if not actor.is_staff or actor.org_id is None:
        raise PermissionDenied("service levels belong to an organization: act as one of its users")
    return actor.org_id


def _manager_org(actor: Actor) -> int:
    org_id = _staff_org(actor)
    if not actor.is_manager:
        raise PermissionDenied("only a manager sets the organization's calendars and targets")
    return org_id


def _check_partner(conn: Connection, errors: dict[str, Any], org_id: int, partner: Any) -> None:
    o = tables.organizations.c
    if isinstance(partner, bool) or not isinstance(partner, int):
        errors["partner_org_id"] = ["an organization id"]
        return
    roles = {
        row.id: row.role
        for row in conn.execute(select(o.id, o.role).where(o.id.in_([org_id, partner])))
    }
    if partner not in roles or partner == org_id or roles[partner] == roles[org_id]:
        errors["partner_org_id"] = ["not a partner organization of the other role"]


def _duration(errors: dict[str, Any], name: str, value: Any, *, minimum: int = 60) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (timedelta, int)):
        errors[name] = ["a duration: whole seconds (or a timedelta)"]
        return None
    seconds = value if isinstance(value, int) else int(value.total_seconds())
    if not minimum <= seconds <= MAX_SECONDS:
        errors[name] = [f"between {minimum} seconds and 366 days"]
        return None
    return seconds


def _escalation(conn: Connection, errors: dict[str, Any], org_id: int, data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        errors["escalation"] = ['an object: {"watchers": [user ids], "hand_over_to": user id}']
        return {}
    found: dict[str, Any] = {}
    unknown = [name for name in data if name not in ("watchers", "hand_over_to")]
    if unknown:
        errors[f"escalation.{unknown[0]}"] = ["unknown; escalation sets watchers and hand_over_to"]
    watchers = data.get("watchers") or []
    hand_over = data.get("hand_over_to")
    wanted: list[Any] = list(watchers) if isinstance(watchers, list) else []
    if not isinstance(watchers, list) or any(
        isinstance(v, bool) or not isinstance(v, int) for v in watchers
    ):
        errors["escalation.watchers"] = ["a list of user ids"]
        wanted = []
    if hand_over is not None:
        if isinstance(hand_over, bool) or not isinstance(hand_over, int):
            errors["escalation.hand_over_to"] = ["a user id"]
        else:
            wanted.append(hand_over)
    if wanted:
        u = tables.users.c
        known = set(
            conn.execute(
                select(u.id).where(u.id.in_(sorted(set(wanted))), u.org_id == org_id, u.active)
            ).scalars()
        )
        for name, ids in (("watchers", watchers), ("hand_over_to", [hand_over])):
            bad = [
                v
                for v in (ids if isinstance(ids, list) else [])
                if v is not None and v not in known
            ]
            if bad and f"escalation.{name}" not in errors:
                errors[f"escalation.{name}"] = [f"not an active user of the organization: {bad[0]}"]
    if "escalation.watchers" not in errors and watchers:
        found["watchers"] = sorted(set(watchers))
    if "escalation.hand_over_to" not in errors and hand_over is not None:
        found["hand_over_to"] = hand_over
    return found


__all__ = ["CalendarSetting", "ServiceLevelService"]
