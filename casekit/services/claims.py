"""Freight claims on loss and damage cases. Reach it as ``kit.claims``.

Each step is a change of the case (its row lock, its version) with an
event on the timeline, the ``claim_recorded`` signal and the
``claim_changed`` webhook, all in one transaction. A draft, its changes and
the shipper's valuation are internal to the shipper; filing and every step
after it are for partners (the carrier's staff read the claim, never the
valuation; the customer reads no claim).

The claim's clocks (:class:`~casekit.domain.claims.ClaimClockKind`) live in
``casekit_claim_clocks`` and are started and stopped by the steps;
:meth:`ClaimService.sweep` writes their warnings to the outbox with the
service-level clocks' machinery (:mod:`casekit.services.clock_alerts`):
once per clock and threshold, safe from several processes. A filed claim
is handed to the carrier's system through the ``casekit_claim_filed`` hook
after the commit.
"""

from __future__ import annotations

import builtins
import json
import logging
import statistics
import time as _time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import and_, insert, or_, select, update

from casekit import signals
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Case, EventKind, Side
from casekit.domain.claims import (
    CLAIM_TYPES,
    ClaimClockKind,
    ClaimStatus,
    ClaimWindows,
    DocumentKind,
    WindowRule,
    check_step,
    offer_amount,
    parse_draft,
    parse_reason,
    parse_reference,
    parse_settings,
    parse_valuation,
    settlement,
    windows_for,
)
from casekit.domain.clock_alerts import (
    AlertState,
    Threshold,
    due_warning,
    next_alert,
    warning_recipients,
)
from casekit.domain.shipment import ShipmentStatus
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.claims import (
    ClaimView,
    case_claims,
    one_claim,
    readable,
    store_documents,
)
from casekit.query.scoped import Scope
from casekit.services.base import Edit, Service
from casekit.services.clock_alerts import (
    BATCH,
    announce,
    mark_warned,
    read_people,
    warning_row,
    write_outbox,
)
from casekit.services.worker import Worker
from casekit.store import tables

log = logging.getLogger(__name__)

m = tables.claims.c
k = tables.claim_clocks.c
c = tables.cases.c
s = tables.shipments.c

RUNNING, STOPPED = "running", "stopped"


@frozen(kw_only=True)
class ClaimSweepOutcome:
    """What :meth:`ClaimService.sweep` did: clocks warned (due soon, breached),
    outbox rows written, clocks another sweeper took first."""

    clocks: int = 0
    due_soon: int = 0
    breached: int = 0
    notifications: int = 0
    raced: int = 0
    seconds: float = 0.0


@frozen(kw_only=True)
class ClaimReportRow:
    """A carrier's claims in one currency.

    ``filed`` counts the claims filed in the period (drafts never count);
    ``claimed`` and ``paid`` are the amounts of those settled (paid, partly
    paid or declined), so ``recovery_rate`` is paid / claimed over what the
    carrier has answered; ``days_to_pay`` the median days from filing to
    payment of those paid in full or in part.
    """

    carrier_org_id: int | None
    carrier: str
    currency: str
    filed: int
    open: int
    paid: int
    partly_paid: int
    declined: int
    withdrawn: int
    claimed: Decimal
    paid_amount: Decimal
    days_to_pay: float | None

    @property
    def recovery_rate(self) -> float | None:
        return float(self.paid_amount / self.claimed) if self.claimed else None


@frozen(kw_only=True)
class ClaimReport:
    rows: tuple[ClaimReportRow, ...]

    @property
    def filed(self) -> int:
        return sum(row.filed for row in self.rows)


def _staff_side(actor: Actor, case: Case) -> Side:
    if not actor.is_staff:
        raise PermissionDenied("claims are the shipper's and the carrier's staff's business")
    side = case.side_of(actor.org_id)
    if side is None:
        raise PermissionDenied("only staff of the case's parties work its claims")
    return side


class ClaimService(Service):
    """Freight claims on cases (:mod:`casekit.domain.claims`)."""

    # -- reading ----------------------------------------------------------------------------
    def list(self, actor: Actor, number: str) -> builtins.list[ClaimView]:
        """The case's claims ``actor`` reads, oldest first (none for a customer)."""
        with self._uow(write=False) as uow:
            case = Scope(uow.session, actor).case(number)
            return case_claims(uow.session.connection(), actor, case, self._now())

    def get(self, actor: Actor, number: str, claim_id: int) -> ClaimView:
        with self._uow(write=False) as uow:
            case = Scope(uow.session, actor).case(number)
            conn = uow.session.connection()
            row = self._row(conn, actor, case, claim_id)
            return one_claim(conn, actor, case, row, self._now())

    @staticmethod
    def _row(conn: Any, actor: Actor, case: Case, claim_id: object, *, lock: bool = False) -> Any:
        if not isinstance(claim_id, int) or isinstance(claim_id, bool):
            raise InvalidInput({"claim_id": ["a claim id (a whole number)"]})
        stmt = select(tables.claims).where(m.id == claim_id, m.case_id == case.id)
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None or not readable(actor, case, row):
            raise NotFound("claim", claim_id)
        return row

    # -- the shipper's draft --------------------------------------------------------------------
    def draft(
        self,
        actor: Actor,
        number: str,
        data: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> ClaimView:
        """Draft a claim on a loss or damage case: ``data`` holds ``lines`` (each a
        ``description``, a ``quantity`` and an ``amount``, a text such as ``"125.50"``),
        and optionally ``claimant`` (default: the shipper's name), ``currency``
        (default USD), ``documents`` (a document kind to the case's attachment ids),
        ``delivered_at`` (default: the shipment's delivery, or the day it was due)
        and a ``note`` for the carrier. The filing clock starts from ``delivered_at``.
        A case has one open claim at a time."""
        values = parse_draft(data)
        with self.editing(actor, number, expected_version) as edit:
            case = edit.case
            if _staff_side(actor, case) is not Side.SHIPPER:
                raise PermissionDenied("the shipper drafts its claim")
            if case.type not in CLAIM_TYPES:
                raise InvalidInput(
                    {
                        "type": [
                            "a claim is filed on a loss or damage case: "
                            + ", ".join(sorted(CLAIM_TYPES))
                        ]
                    }
                )
            conn = edit.uow.connection()
            waiting = conn.execute(
                select(m.id).where(
                    m.case_id == case.id,
                    m.status.in_([st.value for st in ClaimStatus if st.is_open]),
                )
            ).first()
            if waiting is not None:
                raise InvalidInput({"claim": ["the case has an open claim already"]})
            documents = self._documents(edit, values.get("documents", {}))
            shipment = (
                conn.execute(select(tables.shipments).where(s.id == case.shipment_id)).first()
                if case.shipment_id is not None
                else None
            )
            delivered_at = values.get("delivered_at") or _delivery(shipment, case, edit.now)
            mode = shipment.mode if shipment is not None else None
            windows = windows_for(self._rules(conn, case.shipper_org_id), mode, case.carrier_org_id)
            claimant = values.get("claimant") or self._org_name(conn, case.shipper_org_id)
            lines = values["lines"]
            result = conn.execute(
                insert(tables.claims).values(
                    case_id=case.id,
                    shipper_org_id=case.shipper_org_id,
                    carrier_org_id=case.carrier_org_id,
                    status=ClaimStatus.DRAFT.value,
                    claimant=claimant,
                    currency=values.get("currency", "USD"),
                    amount=sum((line.amount for line in lines), Decimal("0.00")),
                    lines=json.dumps([line.as_json() for line in lines]),
                    documents=store_documents(documents),
                    note=values.get("note", ""),
                    mode=mode,
                    windows=json.dumps(windows.as_json()),
                    delivered_at=delivered_at,
                    created_by=actor.describe(),
                    created_at=edit.now,
                    updated_at=edit.now,
                )
            )
            claim_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            self._start(conn, claim_id, case, windows, ClaimClockKind.FILING, delivered_at)
            return self._finish(edit, claim_id, EventKind.CLAIM_DRAFTED)

    def update(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> ClaimView:
        """Change a draft (any of the fields of :meth:`draft`), or tick documents off an
        open claim (``documents`` alone once it is filed). The shipper's staff."""
        values = parse_draft(changes, partial=True)
        if not values:
            raise InvalidInput({"claim": ["nothing to change"]})
        with self.editing(actor, number, expected_version) as edit:
            if _staff_side(actor, edit.case) is not Side.SHIPPER:
                raise PermissionDenied("the shipper changes its claim")
            conn = edit.uow.connection()
            row = self._row(conn, actor, edit.case, claim_id, lock=True)
            status = ClaimStatus(row.status)
            if not status.is_open:
                raise InvalidInput({"status": [f"the claim is {status.value}: it is closed"]})
            if status is not ClaimStatus.DRAFT and set(values) - {"documents"}:
                raise InvalidInput(
                    {
                        name: ["the claim is filed: only its documents change"]
                        for name in sorted(set(values) - {"documents"})
                    }
                )
            update_values: dict[str, Any] = {"updated_at": edit.now}
            if "documents" in values:
                update_values["documents"] = store_documents(
                    self._documents(edit, values["documents"])
                )
            if "lines" in values:
                lines = values["lines"]
                update_values["lines"] = json.dumps([line.as_json() for line in lines])
                update_values["amount"] = sum((line.amount for line in lines), Decimal("0.00"))
            for name in ("claimant", "currency", "note"):
                if name in values:
                    update_values[name] = values[name] or (
                        self._org_name(conn, edit.case.shipper_org_id) if name == "claimant" else ""
                    )
            if values.get("delivered_at") is not None:
                update_values["delivered_at"] = values["delivered_at"]
                windows = ClaimWindows(**json.loads(row.windows))
                due, warn = windows.due(ClaimClockKind.FILING, values["delivered_at"])
                self._restart(
                    conn, row.id, ClaimClockKind.FILING, values["delivered_at"], due, warn
                )
            conn.execute(update(tables.claims).where(m.id == row.id).values(**update_values))
            return self._finish(
                edit, row.id, EventKind.CLAIM_CHANGED, audience=self._audience(status)
            )

    def set_valuation(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        expected_recovery: Any = None,
        note: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The shipper's internal valuation: what it expects to recover (an amount, or
        None) and its notes. Never read by the carrier or the customer."""
        amount, text = parse_valuation(expected_recovery, note)
        with self.editing(actor, number, expected_version) as edit:
            if _staff_side(actor, edit.case) is not Side.SHIPPER:
                raise PermissionDenied("the valuation is the shipper's own")
            conn = edit.uow.connection()
            row = self._row(conn, actor, edit.case, claim_id, lock=True)
            conn.execute(
                update(tables.claims)
                .where(m.id == row.id)
                .values(expected_recovery=amount, valuation_note=text or None, updated_at=edit.now)
            )
            return self._finish(edit, row.id, EventKind.CLAIM_VALUED, audience=Audience.INTERNAL)

    # -- the steps ------------------------------------------------------------------------------
    def file(
        self, actor: Actor, number: str, claim_id: int, *, expected_version: int | None = None
    ) -> ClaimView:
        """File the draft with the carrier: its receipt starts the carrier's
        acknowledgment and disposition clocks (49 CFR 370.5, 370.9); the filing clock
        stops (a claim filed after its due time is :attr:`~casekit.ClaimView.filed_late`).
        After the commit the carrier's system hears of it (``casekit_claim_filed``)."""
        with self.editing(actor, number, expected_version) as edit:
            conn = edit.uow.connection()
            row = self._step(edit, claim_id, "file")
            if edit.case.carrier_org_id is None:
                raise InvalidInput({"carrier": ["the case has no carrier to file the claim with"]})
            carrier_id = edit.case.carrier_org_id
            windows = ClaimWindows(**json.loads(row.windows))
            self._stop(conn, row.id, [ClaimClockKind.FILING], edit.now)
            for kind in (ClaimClockKind.ACKNOWLEDGMENT, ClaimClockKind.DISPOSITION):
                self._start(conn, row.id, edit.case, windows, kind, edit.now)
            conn.execute(
                update(tables.claims)
                .where(m.id == row.id)
                .values(
                    status=ClaimStatus.FILED.value,
                    filed_at=edit.now,
                    carrier_org_id=carrier_id,
                    updated_at=edit.now,
                )
            )
            self._finish(edit, row.id, EventKind.CLAIM_FILED)
            case_id = edit.case.id
        self._tell_carrier_system(
            tables.claims,
            row.id,
            case_id,
            carrier_id,
            read=lambda conn, carrier, case, found: one_claim(
                conn, carrier, case, found, self._now()
            ),
            tell=lambda number, view, carrier: self.kit.hooks.claim_filed(
                case_number=number, claim=view, carrier=carrier
            ),
            what="claim",
        )
        return self.get(actor, number, row.id)

    def acknowledge(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        reference: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The carrier acknowledges receipt (its claim number as ``reference``)."""
        ref = parse_reference(reference)
        with self.editing(actor, number, expected_version) as edit:
            conn = edit.uow.connection()
            row = self._step(edit, claim_id, "acknowledge")
            self._stop(conn, row.id, [ClaimClockKind.ACKNOWLEDGMENT], edit.now)
            conn.execute(
                update(tables.claims)
                .where(m.id == row.id)
                .values(
                    status=ClaimStatus.ACKNOWLEDGED.value,
                    acknowledged_at=edit.now,
                    reference=ref or row.reference,
                    updated_at=edit.now,
                )
            )
            return self._finish(edit, row.id, EventKind.CLAIM_ACKNOWLEDGED)

    def pay(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        amount_paid: Any,
        reason: str = "",
        reference: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The carrier pays ``amount_paid`` (a text such as ``"980.00"``): the claim is
        *paid* when that is the amount claimed, else *partly paid*, which needs a
        ``reason``. Stops the carrier's clocks."""
        ref = parse_reference(reference)
        with self.editing(actor, number, expected_version) as edit:
            row = self._step(edit, claim_id, "pay")
            status, paid = settlement(Decimal(row.amount), amount_paid)
            text = parse_reason(reason, required=status is ClaimStatus.PARTLY_PAID)
            self._settle(edit, row, status, paid, text, ref)
            kind = (
                EventKind.CLAIM_PAID if status is ClaimStatus.PAID else EventKind.CLAIM_PARTLY_PAID
            )
            return self._finish(edit, row.id, kind)

    def decline(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        reason: str,
        reference: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The carrier declines the claim, saying why (49 CFR 370.9(a))."""
        text = parse_reason(reason, required=True)
        ref = parse_reference(reference)
        with self.editing(actor, number, expected_version) as edit:
            row = self._step(edit, claim_id, "decline")
            self._settle(edit, row, ClaimStatus.DECLINED, None, text, ref)
            return self._finish(edit, row.id, EventKind.CLAIM_DECLINED)

    def offer(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        amount_offered: Any,
        reason: str = "",
        reference: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The carrier makes a firm compromise settlement offer of ``amount_offered`` (a
        text such as ``"600.00"``, less than the amount claimed), saying why: within the
        120 days that answers the claim as a payment or a declination does (49 CFR
        370.9(a)), so its acknowledgment and disposition clocks stop. The shipper
        accepts it (:meth:`accept_offer`) or rejects it (:meth:`reject_offer`)."""
        text = parse_reason(reason, required=False)
        ref = parse_reference(reference)
        with self.editing(actor, number, expected_version) as edit:
            conn = edit.uow.connection()
            row = self._step(edit, claim_id, "offer")
            offered = offer_amount(Decimal(row.amount), amount_offered)
            self._stop(
                conn, row.id, [ClaimClockKind.ACKNOWLEDGMENT, ClaimClockKind.DISPOSITION], edit.now
            )
            conn.execute(
                update(tables.claims)
                .where(m.id == row.id)
                .values(
                    status=ClaimStatus.OFFERED.value,
                    amount_offered=offered,
                    offered_at=edit.now,
                    reason=text or None,
                    reference=ref or row.reference,
                    updated_at=edit.now,
                )
            )
            return self._finish(edit, row.id, EventKind.CLAIM_OFFERED)

    def accept_offer(
        self, actor: Actor, number: str, claim_id: int, *, expected_version: int | None = None
    ) -> ClaimView:
        """The shipper accepts the carrier's settlement offer: the claim is partly paid
        by the amount offered (the offer's reason stays its reason). An offer is always
        less than the amount claimed (``offer_amount``), and a claim under an offer
        can no longer be changed."""
        with self.editing(actor, number, expected_version) as edit:
            row = self._step(edit, claim_id, "accept_offer")
            paid = Decimal(row.amount_offered)
            self._settle(edit, row, ClaimStatus.PARTLY_PAID, paid, row.reason or "", "")
            return self._finish(edit, row.id, EventKind.CLAIM_OFFER_ACCEPTED)

    def reject_offer(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        reason: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The shipper rejects the carrier's settlement offer, saying why (on the
        timeline): the claim is acknowledged again, for the carrier to pay, decline or
        offer anew. Its clocks stay stopped: the offer answered the claim in time."""
        text = parse_reason(reason, required=False)
        with self.editing(actor, number, expected_version) as edit:
            conn = edit.uow.connection()
            row = self._step(edit, claim_id, "reject_offer")
            conn.execute(
                update(tables.claims)
                .where(m.id == row.id)
                .values(
                    status=ClaimStatus.ACKNOWLEDGED.value,
                    acknowledged_at=row.acknowledged_at or edit.now,
                    updated_at=edit.now,
                )
            )
            return self._finish(edit, row.id, EventKind.CLAIM_OFFER_REJECTED, words=text)

    def withdraw(
        self,
        actor: Actor,
        number: str,
        claim_id: int,
        *,
        reason: str = "",
        expected_version: int | None = None,
    ) -> ClaimView:
        """The shipper withdraws its claim (a draft stays internal); every clock stops."""
        text = parse_reason(reason, required=False)
        with self.editing(actor, number, expected_version) as edit:
            row = self._step(edit, claim_id, "withdraw")
            self._settle(edit, row, ClaimStatus.WITHDRAWN, None, text, "")
            audience = self._audience(ClaimStatus(row.status))
            return self._finish(edit, row.id, EventKind.CLAIM_WITHDRAWN, audience=audience)

    # -- settings -------------------------------------------------------------------------
    def settings(self, actor: Actor) -> tuple[WindowRule, ...]:
        """The claim windows of ``actor``'s organization (a shipper), by mode and carrier;
        the defaults apply where no rule matches."""
        org_id = self._shipper_org(actor)
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            self._check_shipper(conn, org_id)
            return self._rules(conn, org_id)

    def save_settings(self, actor: Actor, data: Any) -> tuple[WindowRule, ...]:
        """Replace the organization's claim windows (a manager's call):
        ``{"rules": [{"mode", "carrier_org_id", "filing_months", "filing_days",
        "acknowledge_days", "resolve_days", "*_warn_days"}, ...]}``. Claims drafted
        before keep the windows they were drafted with."""
        org_id = self._shipper_org(actor)
        if not actor.is_manager:
            raise PermissionDenied("only a manager sets the organization's claim windows")
        rules = parse_settings(data)
        stored = json.dumps([rule.as_json() for rule in rules])
        with self._uow() as uow:
            conn = uow.session.connection()
            self._check_shipper(conn, org_id)
            values = {"rules": stored, "updated_at": self._now(), "updated_by": actor.describe()}
            done = conn.execute(
                update(tables.claim_settings)
                .where(tables.claim_settings.c.org_id == org_id)
                .values(**values)
            )
            if done.rowcount == 0:
                conn.execute(insert(tables.claim_settings).values(org_id=org_id, **values))
            uow.commit()
        return rules

    @staticmethod
    def _shipper_org(actor: Actor) -> int:
        if not actor.is_staff or actor.org_id is None:
            raise PermissionDenied("claim windows are a shipper's settings")
        return actor.org_id

    @staticmethod
    def _check_shipper(conn: Any, org_id: int) -> None:
        o = tables.organizations.c
        role = conn.execute(select(o.role).where(o.id == org_id)).scalar()
        if role != "shipper":
            raise PermissionDenied("claim windows are a shipper's settings")

    @staticmethod
    def _rules(conn: Any, org_id: int) -> tuple[WindowRule, ...]:
        stored = conn.execute(
            select(tables.claim_settings.c.rules).where(tables.claim_settings.c.org_id == org_id)
        ).scalar()
        return parse_settings({"rules": json.loads(stored)}) if stored else ()

    # -- the sweep ----------------------------------------------------------------------------
    def sweep(self, *, now: datetime | None = None, limit: int | None = None) -> ClaimSweepOutcome:
        """Write every claim clock's warning due at ``now`` to the outbox: *due soon*
        at its warning time, *breached* at its due time, each once per clock (the
        clock row's marks, set by compare-and-set). A batch is claimed with ``FOR
        UPDATE SKIP LOCKED`` where the database has it; a batch another sweeper
        marked first is rolled back and left to it. The side that owes the step
        hears it: its owner, else the pair's collaborator address, else its
        managers. ``casekit claims sweep`` runs it (from cron)."""
        started = _time.perf_counter()
        at = now or self._now()
        counts = {"clocks": 0, "due_soon": 0, "breached": 0, "notifications": 0, "raced": 0}
        handled = 0
        while limit is None or handled < limit:
            size = BATCH if limit is None else min(BATCH, limit - handled)
            claimed = self._sweep_batch(at, size, counts)
            if not claimed:
                break
            handled += claimed
        if counts["clocks"] or counts["raced"]:
            log.info(
                "claims sweep: %d warning(s) of %d clock(s) written, %d raced",
                counts["notifications"],
                counts["clocks"],
                counts["raced"],
            )
        return ClaimSweepOutcome(seconds=_time.perf_counter() - started, **counts)

    def _sweep_batch(self, at: datetime, size: int, counts: dict[str, int]) -> int:
        with self.kit.sessions(write=True) as session:
            conn = session.connection()
            stmt = (
                select(
                    k.id,
                    k.case_id,
                    k.org_id,
                    k.side,
                    k.kind,
                    k.due_at,
                    k.warn_at,
                    k.warned_at,
                    k.breach_warned_at,
                    c.number,
                    c.shipper_org_id,
                    c.carrier_org_id,
                    c.shipper_owner_id,
                    c.carrier_owner_id,
                )
                .select_from(tables.claim_clocks.join(tables.cases, c.id == k.case_id))
                .where(k.next_alert_at <= at, k.state == RUNNING)
                .order_by(k.next_alert_at, k.id)
                .limit(size)
            )
            locking = Worker._locking(conn.dialect)
            if locking is not None:
                stmt = stmt.with_for_update(skip_locked=locking)
            rows = [dict(row) for row in conn.execute(stmt).mappings()]
            if not rows:
                return 0

            def state(row: Mapping[str, Any]) -> AlertState:
                return AlertState(
                    row["due_at"], row["warn_at"], row["warned_at"], row["breach_warned_at"]
                )

            due = [(row, due_warning(state(row), at)) for row in rows]
            for row, threshold in due:
                if threshold is None:
                    conn.execute(
                        update(tables.claim_clocks)
                        .where(k.id == row["id"])
                        .values(next_alert_at=next_alert(state(row)))
                    )
            warned = [(row, t) for row, t in due if t is not None]
            if not mark_warned(
                conn, [(row["id"], t) for row, t in warned], at, tables.claim_clocks
            ):
                session.rollback()
                counts["raced"] += len(warned)
                return len(rows)
            people = read_people(conn, [row for row, _ in warned])
            written: list[dict[str, Any]] = []
            for row, threshold in warned:
                chosen = warning_recipients(threshold, people[row["id"]])
                written += [warning_row(row, r, at) for r in chosen]
                counts["clocks"] += 1
                counts["due_soon" if threshold is Threshold.DUE_SOON else "breached"] += 1
                counts["notifications"] += len(chosen)
            queued = write_outbox(conn, written)
            session.commit()
        announce(self.kit, queued)
        return len(rows)

    # -- reports -----------------------------------------------------------------------------
    def report(
        self, actor: Actor, *, start: datetime | None = None, end: datetime | None = None
    ) -> ClaimReport:
        """Claims filed (in ``[start, end)``), their recovery rate and days to pay, by
        carrier and currency, over the claims ``actor`` reads: a shipper its own, a
        carrier those filed with it."""
        if not (actor.is_staff or actor.is_unrestricted):
            raise PermissionDenied("reports are for staff")
        with self._uow(write=False, replica=True) as uow:
            scope = Scope(uow.session, actor)
            where: list[Any] = [
                m.case_id.in_(select(c.id).where(scope.case_clause())),
                m.filed_at.is_not(None),
            ]
            if not actor.is_unrestricted:
                where.append(
                    or_(m.shipper_org_id == actor.org_id, m.carrier_org_id == actor.org_id)
                )
            if start is not None:
                where.append(m.filed_at >= start)
            if end is not None:
                where.append(m.filed_at < end)
            g = tables.organizations.c
            rows = uow.session.connection().execute(
                select(
                    m.carrier_org_id,
                    g.name,
                    m.currency,
                    m.status,
                    m.amount,
                    m.amount_paid,
                    m.filed_at,
                    m.settled_at,
                )
                .select_from(
                    tables.claims.outerjoin(tables.organizations, g.id == m.carrier_org_id)
                )
                .where(and_(*where))
            )
            groups: dict[tuple[int | None, str, str], builtins.list[Any]] = {}
            for row in rows:
                groups.setdefault(
                    (row.carrier_org_id, row.name or "(no carrier)", row.currency), []
                ).append(row)
        found = []
        for (carrier_id, name, currency), claims in sorted(
            groups.items(), key=lambda i: (i[0][1], i[0][2])
        ):
            by = {st: sum(1 for r in claims if r.status == st.value) for st in ClaimStatus}
            settled = [r for r in claims if ClaimStatus(r.status).is_settled]
            paid = [r for r in settled if r.amount_paid is not None]
            days = [(r.settled_at - r.filed_at) / timedelta(days=1) for r in paid]
            found.append(
                ClaimReportRow(
                    carrier_org_id=carrier_id,
                    carrier=name,
                    currency=currency,
                    filed=len(claims),
                    open=by[ClaimStatus.FILED]
                    + by[ClaimStatus.ACKNOWLEDGED]
                    + by[ClaimStatus.OFFERED],
                    paid=by[ClaimStatus.PAID],
                    partly_paid=by[ClaimStatus.PARTLY_PAID],
                    declined=by[ClaimStatus.DECLINED],
                    withdrawn=by[ClaimStatus.WITHDRAWN],
                    claimed=sum((Decimal(r.amount) for r in settled), Decimal("0.00")),
                    paid_amount=sum((Decimal(r.amount_paid) for r in paid), Decimal("0.00")),
                    days_to_pay=round(statistics.median(days), 1) if days else None,
                )
            )
        return ClaimReport(rows=tuple(found))

    # -- helpers ---------------------------------------------------------------------------
    def _step(self, edit: Edit, claim_id: int, step: str) -> Any:
        side = _staff_side(edit.actor, edit.case)
        row = self._row(edit.uow.connection(), edit.actor, edit.case, claim_id, lock=True)
        check_step(step, side, ClaimStatus(row.status))
        return row

    def _documents(
        self, edit: Edit, documents: Mapping[DocumentKind, Sequence[int]]
    ) -> dict[DocumentKind, tuple[int, ...]]:
        """The ticked attachments, each one of the case's that the shipper's staff and
        the carrier read (a document of the claim is shown to the carrier)."""
        case = edit.case
        readers = [
            Scope(edit.uow.session, Actor.system_actor(SystemName.API, org_id=case.shipper_org_id))
        ]
        if case.carrier_org_id is not None:
            readers.append(
                Scope(
                    edit.uow.session, Actor.system_actor(SystemName.API, org_id=case.carrier_org_id)
                )
            )
        errors: dict[str, list[str]] = {}
        for kind, ids in documents.items():
            for attachment_id in ids:
                try:
                    for scope in readers:
                        scope.attachment(case, attachment_id)
                except NotFound:
                    errors.setdefault(f"documents.{kind.value}", []).append(
                        f"attachment {attachment_id} is not one of the case's that both sides read"
                    )
        if errors:
            raise InvalidInput(errors)
        return {kind: tuple(ids) for kind, ids in documents.items()}

    @staticmethod
    def _org_name(conn: Any, org_id: int) -> str:
        o = tables.organizations.c
        return str(conn.execute(select(o.name).where(o.id == org_id)).scalar_one())

    @staticmethod
    def _start(
        conn: Any,
        claim_id: int,
        case: Case,
        windows: ClaimWindows,
        kind: ClaimClockKind,
        start: datetime,
    ) -> None:
        due, warn = windows.due(kind, start)
        org_id = case.shipper_org_id if kind.side is Side.SHIPPER else case.carrier_org_id
        conn.execute(
            insert(tables.claim_clocks).values(
                claim_id=claim_id,
                case_id=case.id,
                org_id=org_id,
                side=kind.side.value,
                kind=kind.value,
                state=RUNNING,
                started_at=start,
                due_at=due,
                warn_at=warn,
                next_alert_at=warn if warn < due else due,
            )
        )

    @staticmethod
    def _restart(
        conn: Any,
        claim_id: int,
        kind: ClaimClockKind,
        start: datetime,
        due: datetime,
        warn: datetime,
    ) -> None:
        """A running clock started again (a new delivery time): its warnings owed anew."""
        conn.execute(
            update(tables.claim_clocks)
            .where(k.claim_id == claim_id, k.kind == kind.value, k.state == RUNNING)
            .values(
                started_at=start,
                due_at=due,
                warn_at=warn,
                warned_at=None,
                breach_warned_at=None,
                next_alert_at=warn if warn < due else due,
            )
        )

    @staticmethod
    def _stop(conn: Any, claim_id: int, kinds: Sequence[ClaimClockKind], now: datetime) -> None:
        conn.execute(
            update(tables.claim_clocks)
            .where(
                k.claim_id == claim_id, k.kind.in_([kd.value for kd in kinds]), k.state == RUNNING
            )
            .values(state=STOPPED, stopped_at=now, next_alert_at=None)
        )

    def _settle(
        self,
        edit: Edit,
        row: Any,
        status: ClaimStatus,
        paid: Decimal | None,
        reason: str,
        reference: str,
    ) -> None:
        conn = edit.uow.connection()
        self._stop(conn, row.id, list(ClaimClockKind), edit.now)
        conn.execute(
            update(tables.claims)
            .where(m.id == row.id)
            .values(
                status=status.value,
                settled_at=edit.now,
                amount_paid=paid,
                reason=reason or None,
                reference=reference or row.reference,
                updated_at=edit.now,
            )
        )

    @staticmethod
    def _audience(status: ClaimStatus) -> Audience:
        return Audience.INTERNAL if status is ClaimStatus.DRAFT else Audience.PARTNERS

    def _finish(
        self,
        edit: Edit,
        claim_id: int,
        kind: EventKind,
        *,
        audience: Audience | None = None,
        words: str = "",
    ) -> ClaimView:
        """Record the event (``audience``: internal to the shipper for a draft, else for
        partners; ``words``: the actor's own, on the timeline in place of the claim's
        reason), announce it, commit; the claim as the actor reads it."""
        conn = edit.uow.connection()
        row = conn.execute(select(tables.claims).where(m.id == claim_id)).one()
        chosen = audience or self._audience(ClaimStatus(row.status))
        host_view = one_claim(conn, Actor.host(), edit.case, row, edit.now)
        entry = edit.event(
            kind,
            new=claim_id,
            audience=chosen,
            org_id=edit.case.shipper_org_id if chosen is Audience.INTERNAL else None,
        )
        entry.body = describe(host_view, kind, words=words)
        edit.case.touch(edit.now)
        edit.emit(signals.claim_recorded, claim=host_view, change=kind)
        edit.emit(signals.case_updated, change=kind)
        mine = one_claim(conn, edit.actor, edit.case, row, edit.now)
        edit.finish(view=False)
        return mine


def _delivery(shipment: Any, case: Case, now: datetime) -> datetime:
    """When the filing clock starts: the shipment's delivery; for freight never
    delivered, the end of the day it was due (estimated, else promised); else the
    case's opening."""
    if shipment is not None:
        if (
            shipment.shipment_status == ShipmentStatus.DELIVERED.value
            and shipment.status_at is not None
        ):
            return shipment.status_at  # type: ignore[no-any-return]
        due = shipment.estimated_date or shipment.promised_date
        if due is not None:
            return datetime.combine(due, time(23, 59, 59), tzinfo=UTC)
    return case.created_at or now


def describe(view: ClaimView, kind: EventKind, *, words: str = "") -> str:
    """The timeline's text for a claim's step: never the shipper's valuation notes.
    Its first line says what was done; the next, ``words`` or the claim's reason."""
    amount = f"{view.amount} {view.currency}"
    if kind is EventKind.CLAIM_DRAFTED:
        return f"Claim drafted: {amount} ({len(view.lines)} lines)"
    if kind is EventKind.CLAIM_CHANGED:
        return f"Claim changed: {amount}; documents missing: {len(view.documents_missing)}"
    if kind is EventKind.CLAIM_FILED:
        late = " (after the filing window)" if view.filed_late else ""
        return f"Claim filed by {view.claimant}: {amount}{late}"
    if kind is EventKind.CLAIM_ACKNOWLEDGED:
        ref = f", claim number {view.reference}" if view.reference else ""
        return f"Claim acknowledged{ref}"
    if kind in (EventKind.CLAIM_PAID, EventKind.CLAIM_PARTLY_PAID):
        text = f"Claim paid: {view.amount_paid} of {amount}"
    elif kind is EventKind.CLAIM_DECLINED:
        text = "Claim declined"
    elif kind is EventKind.CLAIM_OFFERED:
        text = f"Settlement offered: {view.amount_offered} of {amount}"
    elif kind is EventKind.CLAIM_OFFER_ACCEPTED:
        text = f"Settlement offer accepted: {view.amount_paid} of {amount} paid"
    elif kind is EventKind.CLAIM_OFFER_REJECTED:
        text = f"Settlement offer of {view.amount_offered} {view.currency} rejected"
        return f"{text}\n{words}" if words else text
    elif kind is EventKind.CLAIM_WITHDRAWN:
        text = "Claim withdrawn"
    else:
        expected = view.expected_recovery
        return (
            f"Internal valuation: {expected} {view.currency}"
            if expected is not None
            else "Internal valuation cleared"
        )
    said = words or view.reason
    return f"{text}\n{said}" if said else text
