"""Reading a case's freight claims (:mod:`casekit.domain.claims`) as an actor may.

A claim is the shipper's and its carrier's business: the customer never
reads one. A draft is the shipper's alone until it is filed. The shipper's
internal valuation (``expected_recovery``, ``valuation_note``) is read by
the shipper's staff and the host only; anyone else reads ``None``.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, select

from casekit.domain.actor import Actor
from casekit.domain.case import Case
from casekit.domain.claims import (
    ClaimClockKind,
    ClaimLine,
    ClaimStatus,
    DocumentKind,
    lines_of,
)
from casekit.store import tables

m = tables.claims.c
k = tables.claim_clocks.c


@frozen(kw_only=True)
class ClaimClockView:
    """One clock of a claim: whose (``side``), when it is due, and where it stands.

    ``state`` is ``running`` or ``stopped``; ``met`` says whether a stopped
    clock stopped by its due time (None while it runs); ``breached`` whether
    its due time has passed while it ran, or it stopped late.
    """

    kind: ClaimClockKind
    label: str
    side: str
    state: str
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    stopped_at: datetime | None
    breached: bool

    @property
    def met(self) -> bool | None:
        return None if self.stopped_at is None else self.stopped_at <= self.due_at


@frozen(kw_only=True)
class ClaimView:
    """One freight claim of a case, as its reader may read it."""

    id: int
    case_number: str
    status: ClaimStatus
    claimant: str
    currency: str
    amount: Decimal
    lines: tuple[ClaimLine, ...]
    #: The attachments ticked off for each document kind (attachment ids).
    documents: dict[DocumentKind, tuple[int, ...]]
    note: str
    mode: str | None
    delivered_at: datetime
    filed_at: datetime | None
    acknowledged_at: datetime | None
    settled_at: datetime | None
    amount_paid: Decimal | None
    #: The carrier's latest firm settlement offer (49 CFR 370.9(a)), and when it was made.
    amount_offered: Decimal | None
    offered_at: datetime | None
    reason: str | None
    reference: str | None
    carrier_reference: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    clocks: tuple[ClaimClockView, ...] = ()
    #: The shipper's own: None for anyone but the shipper's staff and the host.
    expected_recovery: Decimal | None = None
    valuation_note: str | None = None

    @property
    def documents_missing(self) -> tuple[DocumentKind, ...]:
        """The document kinds not ticked off yet."""
        return tuple(kind for kind in DocumentKind if not self.documents.get(kind))

    @property
    def filed_late(self) -> bool:
        """Filed after the filing clock's due time."""
        return any(c.kind is ClaimClockKind.FILING and c.met is False for c in self.clocks)


def readable(actor: Actor, case: Case, row: Any) -> bool:
    """Whether ``actor`` (who sees ``case``) reads the claim ``row``: the host, the
    shipper's staff, and the carrier's staff once it was filed."""
    if actor.is_unrestricted:
        return True
    if actor.is_customer or actor.org_id is None:
        return False
    if actor.org_id == case.shipper_org_id:
        return True
    return (
        actor.org_id == row.carrier_org_id
        and actor.org_id == case.carrier_org_id
        and row.filed_at is not None  # a draft (withdrawn or not) is never the carrier's
    )


def shipper_reads(actor: Actor, case: Case) -> bool:
    return actor.is_unrestricted or (
        not actor.is_customer and actor.org_id is not None and actor.org_id == case.shipper_org_id
    )


def documents_of(stored: str) -> dict[DocumentKind, tuple[int, ...]]:
    raw = json.loads(stored or "{}")
    return {DocumentKind(key): tuple(int(i) for i in ids) for key, ids in raw.items()}


def store_documents(documents: dict[DocumentKind, tuple[int, ...]]) -> str:
    return json.dumps({kind.value: list(ids) for kind, ids in sorted(documents.items())})


def clock_view(row: Any, now: datetime) -> ClaimClockView:
    kind = ClaimClockKind(row.kind)
    end = row.stopped_at if row.stopped_at is not None else now
    return ClaimClockView(
        kind=kind,
        label=kind.label,
        side=row.side,
        state=row.state,
        started_at=row.started_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        stopped_at=row.stopped_at,
        breached=end > row.due_at,
    )


def claim_view(
    actor: Actor, case: Case, row: Any, clocks: list[Any] | tuple[Any, ...], now: datetime
) -> ClaimView:
    """``row`` (a ``casekit_claims`` row ``actor`` may read) as ``actor`` reads it."""
    own = shipper_reads(actor, case)
    order = list(ClaimClockKind)
    return ClaimView(
        id=row.id,
        case_number=case.number or "",
        status=ClaimStatus(row.status),
        claimant=row.claimant,
        currency=row.currency,
        amount=Decimal(row.amount).quantize(Decimal("0.01")),
        lines=lines_of(json.loads(row.lines)),
        documents=documents_of(row.documents),
        note=row.note or "",
        mode=row.mode,
        delivered_at=row.delivered_at,
        filed_at=row.filed_at,
        acknowledged_at=row.acknowledged_at,
        settled_at=row.settled_at,
        amount_paid=row.amount_paid,
        amount_offered=row.amount_offered,
        offered_at=row.offered_at,
        reason=row.reason,
        reference=row.reference,
        carrier_reference=row.carrier_reference,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        clocks=tuple(
            sorted(
                (clock_view(c, now) for c in clocks),
                key=lambda c: order.index(c.kind),
            )
        ),
        expected_recovery=row.expected_recovery if own else None,
        valuation_note=(row.valuation_note or "") if own else None,
    )


def case_claims(conn: Connection, actor: Actor, case: Case, now: datetime) -> list[ClaimView]:
    """The claims of ``case`` (which ``actor`` sees) that ``actor`` reads, oldest first."""
    rows = [
        row
        for row in conn.execute(select(tables.claims).where(m.case_id == case.id).order_by(m.id))
        if readable(actor, case, row)
    ]
    if not rows:
        return []
    clocks: dict[int, list[Any]] = {}
    for clock in conn.execute(
        select(tables.claim_clocks).where(k.claim_id.in_([r.id for r in rows]))
    ):
        clocks.setdefault(clock.claim_id, []).append(clock)
    return [claim_view(actor, case, row, clocks.get(row.id, []), now) for row in rows]


def one_claim(conn: Connection, actor: Actor, case: Case, row: Any, now: datetime) -> ClaimView:
    clocks = list(conn.execute(select(tables.claim_clocks).where(k.claim_id == row.id)))
    return claim_view(actor, case, row, clocks, now)
