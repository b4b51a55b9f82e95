"""Actions on a case: delivery appointments and dispositions. Reach it as ``kit.actions``.

Each step is a change of the case (its row lock, its version) with an
event on the timeline in the action's audience, the ``action_recorded``
signal and the ``appointment_changed`` / ``disposition_changed`` webhooks,
all in one transaction. An accepted appointment's window is written on the
case's shipment; :meth:`ActionService.sweep` judges the appointments whose
window has ended (kept or missed) and turns a missed one into the shipment
exception ``missed_appointment``, which the shippers' rules read. A decided
disposition is handed to the carrier's system through the
``casekit_disposition_decided`` hook after the commit.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy import case as sql_case

from casekit import signals
from casekit.domain.actions import (
    MAX_NOTE,
    ActionKind,
    AppointmentState,
    DispositionReason,
    DispositionState,
    Window,
    parse_appointment_audience,
    parse_disposition_decision,
    parse_disposition_request,
    parse_windows,
    parse_zone,
    storage_days,
)
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Case, EventKind, Side
from casekit.domain.shipment import ExceptionKind, ShipmentEvent, ShipmentStatus
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.actions import (
    ActionView,
    action_view,
    case_actions,
    readable,
    store_windows,
    windows_of,
)
from casekit.query.scoped import Scope
from casekit.services.base import Edit, Service
from casekit.store import tables

log = logging.getLogger(__name__)

a = tables.actions.c
s = tables.shipments.c
c = tables.cases.c


@frozen(kw_only=True)
class SweepOutcome:
    """What :meth:`ActionService.sweep` found: appointments kept and missed (their ids)."""

    kept: tuple[int, ...] = ()
    missed: tuple[int, ...] = ()


@frozen(kw_only=True)
class AppointmentRow:
    """A report row: a carrier's accepted appointments, kept, missed and still to come."""

    carrier_org_id: int | None
    carrier: str
    accepted: int
    kept: int
    missed: int

    @property
    def kept_rate(self) -> float | None:
        judged = self.kept + self.missed
        return self.kept / judged if judged else None


@frozen(kw_only=True)
class DispositionRow:
    """A report row: dispositions decided with one choice (or still waiting: ``None``)."""

    choice: str | None
    count: int


@frozen(kw_only=True)
class StorageRow:
    """A report row: the storage charged on dispositions in one currency.

    Charges run from each disposition's ``storage_from`` until the shipper
    decided or the carrier withdrew, or until the report's time while it waits.
    """

    currency: str
    dispositions: int
    days: int
    charges: Decimal


@frozen(kw_only=True)
class ActionReport:
    appointments: tuple[AppointmentRow, ...]
    dispositions: tuple[DispositionRow, ...]
    storage: tuple[StorageRow, ...] = ()


def _side(actor: Actor, case: Case) -> Side:
    """The side ``actor`` acts for; only the two sides' staff take actions."""
    if not actor.is_staff:
        raise PermissionDenied("actions are taken by the shipper's or the carrier's staff")
    side = case.side_of(actor.org_id)
    if side is None:
        raise PermissionDenied("only staff of the case's parties take actions on it")
    if case.carrier_org_id is None:
        raise InvalidInput({"carrier": ["the case has no carrier to agree with"]})
    return side


class ActionService(Service):
    """Delivery appointments and dispositions on cases (:mod:`casekit.domain.actions`)."""

    # -- reading ----------------------------------------------------------------------------
    def list(self, actor: Actor, number: str) -> builtins.list[ActionView]:
        """The case's actions ``actor`` reads, oldest first."""
        with self._uow(write=False) as uow:
            case = Scope(uow.session, actor).case(number)
            return case_actions(uow.session.connection(), actor, case)

    def get(self, actor: Actor, number: str, action_id: int) -> ActionView:
        with self._uow(write=False) as uow:
            case = Scope(uow.session, actor).case(number)
            row = self._row(uow.session.connection(), actor, case, action_id)
            return action_view(actor, case, row)

    @staticmethod
    def _row(conn: Any, actor: Actor, case: Case, action_id: object, *, lock: bool = False) -> Any:
        if not isinstance(action_id, int) or isinstance(action_id, bool):
            raise InvalidInput({"action_id": ["an action id (a whole number)"]})
        stmt = select(tables.actions).where(a.id == action_id, a.case_id == case.id)
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None or not readable(actor, case, row):
            raise NotFound("action", action_id)
        return row

    # -- delivery appointments -----------------------------------------------------------------
    def propose_appointment(
        self,
        actor: Actor,
        number: str,
        windows: Sequence[Any],
        *,
        time_zone: str | None = None,
        audience: Audience | str | None = None,
        note: str = "",
        expected_version: int | None = None,
    ) -> ActionView:
        """Propose delivery windows to the other side.

        ``windows`` are ``{"start": ..., "end": ...}`` (or pairs) of local
        times (naive datetimes or ISO texts) in ``time_zone``, the
        destination's IANA time zone (default: the one the shipment's last
        appointment was agreed in). ``audience`` is ``partners`` (default)
        or ``everyone`` (the customer reads it too). A case has at most one
        proposal waiting and one accepted appointment at a time: withdraw the
        accepted one to agree on another.
        """
        choice = parse_appointment_audience(audience)
        with self.editing(actor, number, expected_version) as edit:
            _side(actor, edit.case)
            conn = edit.uow.connection()
            zone = parse_zone(time_zone or self._zone_of(conn, edit.case))
            parsed = parse_windows(windows, zone, edit.now)
            note_text = _note(note)
            for row in self._appointments(conn, edit.case):
                if row.state == AppointmentState.PROPOSED:
                    raise InvalidInput(
                        {
                            "windows": [
                                "a proposal is waiting already: accept, counter or withdraw it"
                            ]
                        }
                    )
                if row.state == AppointmentState.ACCEPTED:
                    raise InvalidInput(
                        {"windows": ["an appointment is agreed already: withdraw it first"]}
                    )
            new_id = self._insert_appointment(edit, zone, parsed, choice, note_text, None)
            return self._finish(edit, new_id, EventKind.APPOINTMENT_PROPOSED)

    def counter_appointment(
        self,
        actor: Actor,
        number: str,
        action_id: int,
        windows: Sequence[Any],
        *,
        time_zone: str | None = None,
        note: str = "",
        expected_version: int | None = None,
    ) -> ActionView:
        """Answer the other side's proposal with windows of one's own (same audience)."""
        with self.editing(actor, number, expected_version) as edit:
            row = self._answerable(edit, action_id)
            zone = parse_zone(time_zone or row.time_zone)
            parsed = parse_windows(windows, zone, edit.now)
            note_text = _note(note)
            self._answer(edit, row.id, AppointmentState.COUNTERED)
            new_id = self._insert_appointment(
                edit, zone, parsed, Audience(row.audience), note_text, row.id
            )
            return self._finish(edit, new_id, EventKind.APPOINTMENT_COUNTERED)

    def accept_appointment(
        self,
        actor: Actor,
        number: str,
        action_id: int,
        *,
        window: int = 0,
        note: str = "",
        expected_version: int | None = None,
    ) -> ActionView:
        """Accept window number ``window`` (from 0) of the other side's proposal.

        The window becomes the delivery appointment of the case's shipment.
        """
        with self.editing(actor, number, expected_version) as edit:
            row = self._answerable(edit, action_id)
            offered = windows_of(row.windows)
            if (
                not isinstance(window, int)
                or isinstance(window, bool)
                or not (0 <= window < len(offered))
            ):
                raise InvalidInput({"window": [f"one of the {len(offered)} windows proposed"]})
            chosen = offered[window]
            if chosen.end <= edit.now:
                raise InvalidInput({"window": ["that window is over already"]})
            conn = edit.uow.connection()
            self._answer(
                edit,
                row.id,
                AppointmentState.ACCEPTED,
                accepted_start=chosen.start,
                accepted_end=chosen.end,
            )
            self._set_shipment_window(conn, edit.case, chosen, row.time_zone)
            return self._finish(edit, row.id, EventKind.APPOINTMENT_ACCEPTED, _note(note))

    def withdraw_appointment(
        self, actor: Actor, number: str, action_id: int, *, expected_version: int | None = None
    ) -> ActionView:
        """Withdraw a proposal (its side) or an accepted appointment (either side).

        Withdrawing an accepted appointment takes its window off the shipment.
        """
        with self.editing(actor, number, expected_version) as edit:
            side = _side(actor, edit.case)
            conn = edit.uow.connection()
            row = self._row(conn, actor, edit.case, action_id, lock=True)
            if row.kind != ActionKind.APPOINTMENT:
                raise NotFound("appointment", action_id)
            mine = row.org_id == (
                edit.case.shipper_org_id if side is Side.SHIPPER else edit.case.carrier_org_id
            )
            if row.state == AppointmentState.PROPOSED and not mine:
                raise InvalidInput({"action_id": ["the other side's proposal: counter it instead"]})
            if row.state not in (AppointmentState.PROPOSED, AppointmentState.ACCEPTED):
                raise InvalidInput({"action_id": [f"the appointment is {row.state} already"]})
            self._answer(edit, row.id, AppointmentState.WITHDRAWN)
            if row.state == AppointmentState.ACCEPTED:
                self._set_shipment_window(conn, edit.case, None, None)
            return self._finish(edit, row.id, EventKind.APPOINTMENT_WITHDRAWN)

    # -- dispositions ----------------------------------------------------------------------
    def request_disposition(
        self,
        actor: Actor,
        number: str,
        *,
        reason: DispositionReason | str,
        deadline: Any,
        storage_from: Any = None,
        storage_per_day: Any = "0",
        currency: str = "USD",
        note: str = "",
        expected_version: int | None = None,
    ) -> ActionView:
        """The carrier asks the shipper what to do with refused, undeliverable or
        damaged freight, by ``deadline``; storage costs ``storage_per_day``
        (in ``currency``) from ``storage_from`` (default: the deadline) on."""
        data: dict[str, Any] = {
            "reason": reason,
            "deadline": deadline,
            "storage_from": storage_from,
            "storage_per_day": storage_per_day,
            "currency": currency,
            "note": note,
        }
        with self.editing(actor, number, expected_version) as edit:
            if _side(actor, edit.case) is not Side.CARRIER and not actor.is_unrestricted:
                raise PermissionDenied("the carrier asks for a disposition")
            asked = parse_disposition_request(data, edit.now)
            conn = edit.uow.connection()
            waiting = conn.execute(
                select(a.id).where(
                    a.case_id == edit.case.id,
                    a.kind == ActionKind.DISPOSITION.value,
                    a.state == DispositionState.REQUESTED.value,
                )
            ).first()
            if waiting is not None:
                raise InvalidInput({"reason": ["a disposition request is waiting already"]})
            new_id = self._insert(
                edit,
                kind=ActionKind.DISPOSITION,
                state=DispositionState.REQUESTED,
                audience=Audience.PARTNERS,
                org_id=edit.case.carrier_org_id,
                note=asked.note,
                reason=asked.reason.value,
                deadline=asked.deadline,
                storage_from=asked.storage_from,
                storage_per_day=asked.storage_per_day,
                currency=asked.currency,
            )
            return self._finish(edit, new_id, EventKind.DISPOSITION_REQUESTED)

    def decide_disposition(
        self,
        actor: Actor,
        number: str,
        action_id: int,
        *,
        choice: str,
        payer: str,
        ra_number: str = "",
        note: str = "",
        internal_note: str = "",
        expected_version: int | None = None,
    ) -> ActionView:
        """The shipper's instructions: ``choice`` (return, reship, destroy, donate,
        hold, sell), who pays, the RA number (needed to return or reship), a
        note for the carrier and an ``internal_note`` the carrier never reads.

        After the commit the carrier's system hears of it through the
        ``casekit_disposition_decided`` hook (the carrier's view, without the
        internal note); a reference it returns is recorded on the disposition.
        """
        decision = parse_disposition_decision(
            {
                "choice": choice,
                "payer": payer,
                "ra_number": ra_number,
                "note": note,
                "internal_note": internal_note,
            }
        )
        with self.editing(actor, number, expected_version) as edit:
            if _side(actor, edit.case) is not Side.SHIPPER:
                raise PermissionDenied("the shipper decides what becomes of its freight")
            conn = edit.uow.connection()
            row = self._row(conn, actor, edit.case, action_id, lock=True)
            if row.kind != ActionKind.DISPOSITION:
                raise NotFound("disposition", action_id)
            if row.state != DispositionState.REQUESTED:
                raise InvalidInput({"action_id": [f"the disposition is {row.state} already"]})
            values: dict[str, Any] = {
                "choice": decision.choice.value,
                "payer": decision.payer.value,
                "ra_number": decision.ra_number or None,
                "internal_note": decision.internal_note or None,
            }
            self._answer(edit, row.id, DispositionState.DECIDED, **values)
            self._finish(edit, row.id, EventKind.DISPOSITION_DECIDED, decision.note)
            case_id, carrier_id = edit.case.id, edit.case.carrier_org_id
        self._tell_carrier_system(
            tables.actions,
            row.id,
            case_id,
            carrier_id,
            read=lambda _conn, carrier, case, found: action_view(carrier, case, found),
            tell=lambda number, view, carrier: self.kit.hooks.disposition_decided(
                case_number=number, disposition=view, carrier=carrier
            ),
            what="disposition",
        )
        return self.get(actor, number, row.id)

    def withdraw_disposition(
        self,
        actor: Actor,
        number: str,
        action_id: int,
        *,
        note: str = "",
        expected_version: int | None = None,
    ) -> ActionView:
        """The carrier no longer needs instructions (the receiver took the freight after
        all, say): its request, still waiting, is withdrawn, and storage charges stop."""
        with self.editing(actor, number, expected_version) as edit:
            if _side(actor, edit.case) is not Side.CARRIER:
                raise PermissionDenied("the carrier withdraws its own request")
            conn = edit.uow.connection()
            row = self._row(conn, actor, edit.case, action_id, lock=True)
            if row.kind != ActionKind.DISPOSITION:
                raise NotFound("disposition", action_id)
            if row.state != DispositionState.REQUESTED:
                raise InvalidInput({"action_id": [f"the disposition is {row.state} already"]})
            self._answer(edit, row.id, DispositionState.WITHDRAWN)
            return self._finish(edit, row.id, EventKind.DISPOSITION_WITHDRAWN, _note(note))

    # -- the sweep ---------------------------------------------------------------------------
    def sweep(self, *, now: datetime | None = None, limit: int = 500) -> SweepOutcome:
        """Judge the accepted appointments whose window has ended: *kept* when the
        shipment was delivered by the window's end, *missed* otherwise. A missed
        one becomes the shipment exception ``missed_appointment`` (a tracking
        event from ``casekit``), which the shippers' rules act on; the case's
        timeline records either. ``casekit actions sweep`` runs it."""
        at = now or self._now()
        with self._uow(write=False) as uow:
            due = [
                (row.id, row.number)
                for row in uow.session.connection().execute(
                    select(a.id, c.number)
                    .join(tables.cases, c.id == a.case_id)
                    .where(
                        a.state == AppointmentState.ACCEPTED.value,
                        a.accepted_end <= at,
                    )
                    .order_by(a.accepted_end, a.id)
                    .limit(limit)
                )
            ]
        kept: list[int] = []
        missed: list[int] = []
        host = Actor.system_actor(SystemName.RULE)
        for action_id, number in due:
            with self._uow() as uow:
                conn = uow.session.connection()
                case = Scope(uow.session, host).case(number, lock=True)
                row = conn.execute(
                    select(tables.actions).where(a.id == action_id).with_for_update()
                ).first()
                if row is None or row.state != AppointmentState.ACCEPTED:
                    continue
                shipment = (
                    conn.execute(select(tables.shipments).where(s.id == case.shipment_id)).first()
                    if case.shipment_id is not None
                    else None
                )
                delivered = (
                    shipment is not None
                    and shipment.shipment_status == ShipmentStatus.DELIVERED.value
                    and shipment.status_at is not None
                    and shipment.status_at <= row.accepted_end
                )
                edit = Edit(self.kit, uow, host, case, at)
                state = AppointmentState.KEPT if delivered else AppointmentState.MISSED
                self._answer(edit, action_id, state, decided=False)
                kind = EventKind.APPOINTMENT_KEPT if delivered else EventKind.APPOINTMENT_MISSED
                self._finish(edit, action_id, kind)
            (kept if delivered else missed).append(action_id)
            if (
                not delivered
                and shipment is not None
                and not ShipmentStatus(shipment.shipment_status or "scheduled").is_final
            ):
                missed_event = ShipmentEvent(
                    status=ShipmentStatus.EXCEPTION,
                    exception=ExceptionKind.MISSED_APPOINTMENT,
                    occurred_at=at,
                    reference=shipment.reference,
                    description="The delivery appointment's window ended before delivery.",
                    source="casekit",
                    key=f"casekit-missed-appointment-{action_id}",
                )
                # As the shipper (its shipment, by reference): its rules act on it.
                self.kit.shipments.record_events(
                    Actor.system_actor(SystemName.RULE, org_id=shipment.shipper_org_id),
                    [missed_event],
                )
        if kept or missed:
            log.info("actions sweep: %d appointments kept, %d missed", len(kept), len(missed))
        return SweepOutcome(kept=tuple(kept), missed=tuple(missed))

    # -- reports -----------------------------------------------------------------------------
    def report(
        self, actor: Actor, *, start: datetime | None = None, end: datetime | None = None
    ) -> ActionReport:
        """Appointments accepted, kept and missed by carrier, and dispositions by
        choice, over the cases ``actor`` sees (created in ``[start, end)``)."""
        if not (actor.is_staff or actor.is_unrestricted):
            raise PermissionDenied("reports are for staff")
        with self._uow(write=False, replica=True) as uow:
            scope = Scope(uow.session, actor)
            visible = select(c.id).where(scope.case_clause())
            where: list[Any] = [a.case_id.in_(visible)]
            if start is not None:
                where.append(a.created_at >= start)
            if end is not None:
                where.append(a.created_at < end)
            if not actor.is_unrestricted:
                where.append((a.audience != Audience.INTERNAL.value) | (a.org_id == actor.org_id))
            conn = uow.session.connection()
            accepted_states = [
                AppointmentState.ACCEPTED.value,
                AppointmentState.KEPT.value,
                AppointmentState.MISSED.value,
            ]
            g = tables.organizations.c

            def count_of(state: str) -> Any:
                return func.sum(sql_case((a.state == state, 1), else_=0))

            rows = conn.execute(
                select(
                    a.carrier_org_id,
                    g.name,
                    func.count(),
                    count_of(AppointmentState.KEPT.value),
                    count_of(AppointmentState.MISSED.value),
                )
                .select_from(
                    tables.actions.outerjoin(tables.organizations, g.id == a.carrier_org_id)
                )
                .where(
                    and_(*where),
                    a.kind == ActionKind.APPOINTMENT.value,
                    a.state.in_(accepted_states),
                )
                .group_by(a.carrier_org_id, g.name)
                .order_by(g.name)
            )
            appointments = tuple(
                AppointmentRow(
                    carrier_org_id=row[0],
                    carrier=row[1] or "(no carrier)",
                    accepted=int(row[2]),
                    kept=int(row[3] or 0),
                    missed=int(row[4] or 0),
                )
                for row in rows
            )
            decided = conn.execute(
                select(a.choice, func.count())
                .where(and_(*where), a.kind == ActionKind.DISPOSITION.value)
                .where(a.state != DispositionState.WITHDRAWN.value)
                .group_by(a.choice)
            )
            dispositions = sorted(
                (DispositionRow(choice=row[0], count=int(row[1])) for row in decided),
                key=lambda r: (r.choice is None, r.choice or ""),
            )
            charged = conn.execute(
                select(a.storage_from, a.decided_at, a.storage_per_day, a.currency).where(
                    and_(*where), a.kind == ActionKind.DISPOSITION.value, a.storage_per_day > 0
                )
            )
            return ActionReport(
                appointments=appointments,
                dispositions=tuple(dispositions),
                storage=_storage_rows(charged, self._now()),
            )

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _zone_of(conn: Any, case: Case) -> str:
        if case.shipment_id is not None:
            zone = conn.execute(
                select(s.delivery_time_zone).where(s.id == case.shipment_id)
            ).scalar()
            if zone:
                return str(zone)
        raise InvalidInput({"time_zone": ["name the destination's time zone"]})

    @staticmethod
    def _appointments(conn: Any, case: Case) -> builtins.list[Any]:
        return list(
            conn.execute(
                select(a.id, a.state).where(
                    a.case_id == case.id, a.kind == ActionKind.APPOINTMENT.value
                )
            )
        )

    def _answerable(self, edit: Edit, action_id: int) -> Any:
        """The other side's proposal waiting for an answer from ``edit.actor``, locked."""
        side = _side(edit.actor, edit.case)
        row = self._row(edit.uow.connection(), edit.actor, edit.case, action_id, lock=True)
        if row.kind != ActionKind.APPOINTMENT:
            raise NotFound("appointment", action_id)
        if row.state != AppointmentState.PROPOSED:
            raise InvalidInput({"action_id": [f"the appointment is {row.state}, not proposed"]})
        own = edit.case.shipper_org_id if side is Side.SHIPPER else edit.case.carrier_org_id
        if row.org_id == own:
            raise InvalidInput({"action_id": ["your own proposal: the other side answers it"]})
        return row

    def _insert_appointment(
        self,
        edit: Edit,
        zone: str,
        windows: Sequence[Window],
        audience: Audience,
        note: str,
        replaces: int | None,
    ) -> int:
        return self._insert(
            edit,
            kind=ActionKind.APPOINTMENT,
            state=AppointmentState.PROPOSED,
            audience=audience,
            org_id=edit.actor.org_id,
            note=note,
            time_zone=zone,
            windows=store_windows(windows),
            replaces_id=replaces,
        )

    @staticmethod
    def _insert(edit: Edit, **values: Any) -> int:
        values["kind"] = values["kind"].value
        values["state"] = values["state"].value
        result = edit.uow.connection().execute(
            insert(tables.actions).values(
                case_id=edit.case.id,
                carrier_org_id=edit.case.carrier_org_id,
                created_by=edit.actor.describe(),
                created_at=edit.now,
                updated_at=edit.now,
                **values,
            )
        )
        new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        assert new_id is not None
        return int(new_id)

    @staticmethod
    def _answer(
        edit: Edit, action_id: int, state: Any, *, decided: bool = True, **values: Any
    ) -> None:
        if decided:
            values.update(
                decided_by=edit.actor.describe(),
                decided_org_id=edit.actor.org_id,
                decided_at=edit.now,
            )
        edit.uow.connection().execute(
            update(tables.actions)
            .where(a.id == action_id)
            .values(state=state.value, updated_at=edit.now, **values)
        )

    @staticmethod
    def _set_shipment_window(
        conn: Any, case: Case, window: Window | None, zone: str | None
    ) -> None:
        if case.shipment_id is None:
            return
        conn.execute(
            update(tables.shipments)
            .where(s.id == case.shipment_id)
            .values(
                delivery_window_start=window.start if window else None,
                delivery_window_end=window.end if window else None,
                # Kept when the window is withdrawn: the next proposal's default.
                **({"delivery_time_zone": zone} if window else {}),
            )
        )

    def _finish(self, edit: Edit, action_id: int, kind: EventKind, note: str = "") -> ActionView:
        """Record the event for the action's audience (``note``: the answer's words,
        on the timeline), announce it, commit; the action as the actor reads it."""
        conn = edit.uow.connection()
        row = conn.execute(select(tables.actions).where(a.id == action_id)).one()
        host_view = action_view(Actor.host(), edit.case, row)
        entry = edit.event(kind, new=action_id, audience=Audience(row.audience))
        entry.body = describe(host_view, kind, note)
        edit.case.touch(edit.now)
        edit.emit(signals.action_recorded, action=host_view, change=kind)
        edit.emit(signals.case_updated, change=kind)
        mine = action_view(edit.actor, edit.case, row)
        edit.finish(view=False)
        return mine


def _storage_rows(rows: Any, now: datetime) -> tuple[StorageRow, ...]:
    """Storage charged by currency, from ``(storage_from, decided_at, per day, currency)``."""
    totals: dict[str, list[Any]] = {}
    for storage_from, decided_at, per_day, currency in rows:
        days = storage_days(storage_from, decided_at or now)
        total = totals.setdefault(currency, [0, 0, Decimal("0.00")])
        total[0] += 1
        total[1] += days
        total[2] += Decimal(per_day) * days
    return tuple(
        StorageRow(
            currency=currency, dispositions=n, days=days, charges=charges.quantize(Decimal("0.01"))
        )
        for currency, (n, days, charges) in sorted(totals.items())
    )


def _note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise InvalidInput({"note": ["text expected"]})
    if len(note.strip()) > MAX_NOTE:
        raise InvalidInput({"note": [f"at most {MAX_NOTE} characters"]})
    return note.strip()


def describe(view: ActionView, kind: EventKind, note: str = "") -> str:
    """The timeline's text for an action's step (never the internal note): what
    was proposed or decided, and the words of the side that took the step."""
    if kind in (EventKind.APPOINTMENT_PROPOSED, EventKind.APPOINTMENT_COUNTERED):
        text = "Delivery windows: " + "; ".join(w.label for w in view.windows)
    elif view.kind is ActionKind.APPOINTMENT:
        window = view.accepted.label if view.accepted else ""
        text = {
            EventKind.APPOINTMENT_ACCEPTED: f"Delivery appointment: {window}",
            EventKind.APPOINTMENT_WITHDRAWN: "Delivery appointment withdrawn",
            EventKind.APPOINTMENT_KEPT: f"Delivered within the appointment {window}",
            EventKind.APPOINTMENT_MISSED: f"Not delivered within the appointment {window}",
        }.get(kind, "")
    elif kind is EventKind.DISPOSITION_REQUESTED:
        deadline = view.deadline.isoformat(timespec="minutes") if view.deadline else ""
        storage = view.storage_from.isoformat(timespec="minutes") if view.storage_from else ""
        text = (
            f"Instructions needed ({view.reason}) by {deadline}; storage "
            f"{view.storage_per_day} {view.currency} a day from {storage}"
        )
    elif kind is EventKind.DISPOSITION_WITHDRAWN:
        text = f"No instructions needed any more ({view.reason})"
    else:
        ra = f", RA {view.ra_number}" if view.ra_number else ""
        text = f"Disposition: {view.choice}{ra}; paid by {view.payer}"
    said = note or (view.note if kind in _FIRST_STEPS else "")
    return f"{text}\n{said}" if said else text


_FIRST_STEPS = frozenset(
    {
        EventKind.APPOINTMENT_PROPOSED,
        EventKind.APPOINTMENT_COUNTERED,
        EventKind.DISPOSITION_REQUESTED,
    }
)
