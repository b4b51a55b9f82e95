"""Reading a case's actions (:mod:`casekit.domain.actions`) as an actor may.

An action has an audience like any entry: ``partners`` (both sides' staff)
or, for an appointment, ``everyone`` (the customer too). A disposition's
``internal_note`` is the shipper's own: only the shipper's staff and the
host read it; anyone else reads ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, select

from casekit.domain.actions import (
    ActionKind,
    AppointmentState,
    DispositionState,
    Window,
    storage_days,
)
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience, entry_visible
from casekit.domain.case import Case, Side
from casekit.store import tables

a = tables.actions.c


@frozen(kw_only=True)
class WindowView:
    start: datetime
    end: datetime
    #: The window as the destination reads it ("Tue 8 Dec 2026 08:00-12:00 (America/Chicago)").
    label: str


@frozen(kw_only=True)
class ActionView:
    """One action of a case, as its reader may read it.

    ``side`` is the side that proposed or asked (``shipper`` or ``carrier``);
    ``state`` an :class:`~casekit.domain.actions.AppointmentState` or
    :class:`~casekit.domain.actions.DispositionState` value. The appointment's
    fields are None on a disposition, and the other way round.
    """

    id: int
    case_number: str
    kind: ActionKind
    state: str
    audience: Audience
    side: Side
    created_by: str
    created_at: datetime
    updated_at: datetime
    note: str
    replaces_id: int | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    # an appointment
    time_zone: str | None = None
    windows: tuple[WindowView, ...] = ()
    accepted: WindowView | None = None
    # a disposition
    reason: str | None = None
    deadline: datetime | None = None
    storage_from: datetime | None = None
    storage_per_day: Decimal | None = None
    currency: str | None = None
    choice: str | None = None
    payer: str | None = None
    ra_number: str | None = None
    carrier_reference: str | None = None
    #: The shipper's own note on its decision: None for anyone but the shipper's staff.
    internal_note: str | None = None

    @property
    def is_open(self) -> bool:
        """Waiting for the other side (a proposed appointment, a requested disposition)."""
        return self.state in (AppointmentState.PROPOSED, DispositionState.REQUESTED)

    def storage_days(self, at: datetime) -> int:
        """Days of storage charged by ``at`` (a disposition; 0 before its storage starts)."""
        if self.storage_from is None:
            return 0
        until = self.decided_at if self.decided_at is not None else at
        return storage_days(self.storage_from, until)

    def storage_charges(self, at: datetime) -> Decimal | None:
        """The storage charged by ``at``, in :attr:`currency`: a day begun counts, and
        charges stop when the shipper decides or the carrier withdraws (a
        disposition; None for an appointment)."""
        if self.storage_per_day is None:
            return None
        return (self.storage_per_day * self.storage_days(at)).quantize(Decimal("0.01"))


def windows_of(stored: str | None) -> tuple[Window, ...]:
    if not stored:
        return ()
    return tuple(
        Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
        for start, end in json.loads(stored)
    )


def store_windows(windows: Sequence[Window]) -> str:
    return json.dumps([[w.start.isoformat(), w.end.isoformat()] for w in windows])


def _window(window: Window, zone: str) -> WindowView:
    return WindowView(start=window.start, end=window.end, label=window.describe(zone))


def readable(actor: Actor, case: Case, row: Any) -> bool:
    """Whether ``actor`` (who sees ``case``) reads the action ``row``."""
    return entry_visible(
        Audience(row.audience),
        row.org_id,
        viewer_org_id=actor.org_id,
        viewer_is_customer=actor.is_customer,
        viewer_is_carrier=actor.org_id is not None and actor.org_id == case.carrier_org_id,
        viewer_unrestricted=actor.is_unrestricted,
    )


def action_view(actor: Actor, case: Case, row: Any) -> ActionView:
    """``row`` (a ``casekit_actions`` row ``actor`` may read) as ``actor`` reads it."""
    shipper_reads = actor.is_unrestricted or (
        actor.is_staff and actor.org_id == case.shipper_org_id
    )
    zone = row.time_zone or "UTC"
    accepted = (
        _window(Window(row.accepted_start, row.accepted_end), zone)
        if row.accepted_start is not None and row.accepted_end is not None
        else None
    )
    return ActionView(
        id=row.id,
        case_number=case.number or "",
        kind=ActionKind(row.kind),
        state=row.state,
        audience=Audience(row.audience),
        side=Side.SHIPPER if row.org_id == case.shipper_org_id else Side.CARRIER,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        note=row.note or "",
        replaces_id=row.replaces_id,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        time_zone=row.time_zone,
        windows=tuple(_window(w, zone) for w in windows_of(row.windows)),
        accepted=accepted,
        reason=row.reason,
        deadline=row.deadline,
        storage_from=row.storage_from,
        storage_per_day=row.storage_per_day,
        currency=row.currency,
        choice=row.choice,
        payer=row.payer,
        ra_number=row.ra_number,
        carrier_reference=row.carrier_reference,
        internal_note=(row.internal_note or "")
        if shipper_reads and row.kind == "disposition"
        else None,
    )


def case_actions(conn: Connection, actor: Actor, case: Case) -> list[ActionView]:
    """The actions of ``case`` (which ``actor`` sees) that ``actor`` reads, oldest first."""
    rows = conn.execute(select(tables.actions).where(a.case_id == case.id).order_by(a.id))
    return [action_view(actor, case, row) for row in rows if readable(actor, case, row)]
