"""Outgoing webhooks: subscriptions, queueing with the change, delivery by the worker.

An organization's managers (or the host, for it) subscribe HTTPS endpoints
to kinds of change (:class:`~casekit.webhooks.WebhookEvent`). Reach the
subscriptions as ``kit.webhooks``.

:func:`queue_webhooks` runs inside :func:`casekit.services.outbox.queue_notifications`,
in the change's own transaction: for each party organization subscribed to
what happened, it builds the payload through :class:`~casekit.query.scoped.Scope`
as a system actor of THAT organization — so another party's internal notes,
CRM number and watchers never reach it — and writes one row per
subscription to ``casekit_webhook_outbox``.

:func:`deliver_webhooks` is called by the outbox :class:`~casekit.services.worker.Worker`
for each batch: it claims due rows the same way (a claim token, a lease
renewed by a heartbeat while the batch is sent), signs each (casekit's own
signature and the Standard Webhooks headers), POSTs it with httpx, and
records every attempt, on the row only while the claim is still its own.
A 2xx is delivered; a 410 disables the subscription; anything else (or no
answer) is retried with the notifications' backoff until
``notify_max_attempts``.
"""

from __future__ import annotations

import builtins
import json
import logging
import ssl
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import httpx
from attrs import frozen
from sqlalchemy import bindparam, delete, insert, select, update

from casekit import signals
from casekit.domain.actor import Actor, SystemName
from casekit.domain.directory import Organization
from casekit.domain.workflow import StatusMove, status_value_for_carrier
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.actions import action_view
from casekit.query.actions import readable as action_readable
from casekit.query.claims import one_claim
from casekit.query.claims import readable as claim_readable
from casekit.query.scoped import Scope
from casekit.services.base import Service
from casekit.services.outbox import (
    MAX_ERROR,
    QUEUED,
    SENDING,
    Subscribed,
    insert_rows,
)
from casekit.services.worker import (
    Tally,
    attempted,
    claimed_by,
    log_failure,
    log_lost,
    next_state,
)
from casekit.store import tables
from casekit.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookEvent,
    new_secret,
    pinned_request,
    resolve_public,
    signature_header,
    standard_headers,
    url_problem,
)

if TYPE_CHECKING:
    from casekit.kit import CaseKit
    from casekit.services.base import Edit
    from casekit.services.worker import Counts, Worker

__all__ = [
    "WebhookAttemptView",
    "WebhookCreated",
    "WebhookDeliveryView",
    "WebhookService",
    "WebhookView",
    "deliver_webhooks",
    "queue_webhooks",
]

log = logging.getLogger(__name__)

_h = tables.webhooks.c
_q = tables.webhook_outbox.c
_a = tables.webhook_attempts.c

MAX_URL = 2000
MAX_DESCRIPTION = 200
USER_AGENT = "casekit-webhooks/1"


@frozen(kw_only=True)
class WebhookView:
    """A webhook subscription, without its secret."""

    id: int
    org_id: int
    url: str
    events: tuple[WebhookEvent, ...]
    description: str
    active: bool
    disabled_reason: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime


@frozen(kw_only=True)
class WebhookCreated:
    """A subscription with its signing secret: shown once, when created or rotated.

    The secret (``whsec_`` and base64) serves both signatures: casekit's
    ``X-Casekit-Signature`` and the Standard Webhooks ``webhook-signature``
    (give it as is to a Standard Webhooks library).
    """

    webhook: WebhookView
    secret: str = attrs.field(repr=False)


@frozen(kw_only=True)
class WebhookAttemptView:
    """One attempt to deliver a webhook: the HTTP status when there was an answer."""

    attempted_at: datetime
    ok: bool
    status_code: int | None
    error: str | None


@frozen(kw_only=True)
class WebhookDeliveryView:
    """One webhook request in the outbox, with its body and how delivery goes.

    ``status`` is ``queued``, ``sending``, ``sent`` or ``failed``.
    """

    id: int
    webhook_id: int
    case_id: int
    event: WebhookEvent
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    history: tuple[WebhookAttemptView, ...] = ()


def _view(row: Any) -> WebhookView:
    return WebhookView(
        id=row["id"],
        org_id=row["org_id"],
        url=row["url"],
        events=_events_of(row["events"]),
        description=row["description"],
        active=bool(row["active"]),
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
    )


def _events_of(stored: str) -> tuple[WebhookEvent, ...]:
    known = {e.value for e in WebhookEvent}
    return tuple(WebhookEvent(v) for v in stored.split(",") if v in known)


class WebhookService(Service):
    """Webhook subscriptions and their delivery log. Managers of the
    organization (or the host, naming the organization) manage them."""

    def _now(self) -> datetime:
        return self.kit.clock.now()

    # -- checks --------------------------------------------------------------------------
    def _org(self, actor: Actor, org_id: int | None) -> int:
        if actor.is_unrestricted:
            if org_id is None:
                raise InvalidInput({"org_id": ["say which organization subscribes"]})
            return org_id
        if not actor.is_staff or org_id not in (None, actor.org_id):
            raise PermissionDenied("an organization's webhooks are for its own managers")
        if not actor.is_manager:
            raise PermissionDenied("only managers manage the organization's webhooks")
        assert actor.org_id is not None
        return actor.org_id

    def _check(
        self, url: str | None, events: Iterable[WebhookEvent | str] | None, description: str | None
    ) -> tuple[str | None, str | None, str | None]:
        errors: dict[str, list[str]] = {}
        clean_url = None
        if url is not None:
            clean_url = url.strip()
            problem = (
                "too long"
                if len(clean_url) > MAX_URL
                else url_problem(
                    clean_url, allow_http_loopback=self.kit.settings.webhook_allow_http_loopback
                )
            )
            if not problem and not self.kit.settings.webhook_allow_private_addresses:
                problem = resolve_public(clean_url)[1]
            if problem:
                errors["url"] = [problem]
        stored = None
        if events is not None:
            chosen: list[str] = []
            if isinstance(events, str):
                events = [events]
            for value in events:
                try:
                    event = WebhookEvent(value)
                except ValueError:
                    names = ", ".join(e.value for e in WebhookEvent)
                    errors.setdefault("events", []).append(
                        f"unknown event {value!r}; one of {names}"
                    )
                    continue
                if event.value not in chosen:
                    chosen.append(event.value)
            if not chosen and "events" not in errors:
                errors["events"] = ["choose at least one event"]
            stored = ",".join(chosen)
        if description is not None:
            description = description.strip()
            if len(description) > MAX_DESCRIPTION:
                errors["description"] = [f"at most {MAX_DESCRIPTION} characters"]
        if errors:
            raise InvalidInput(errors)
        return clean_url, stored, description

    def _row(self, conn: Any, actor: Actor, webhook_id: int) -> Any:
        row = conn.execute(select(tables.webhooks).where(_h.id == webhook_id)).mappings().first()
        if row is None or not (actor.is_unrestricted or row["org_id"] == actor.org_id):
            raise NotFound("webhook", webhook_id)
        self._org(actor, row["org_id"])
        return row

    # -- subscriptions -------------------------------------------------------------------
    def subscribe(
        self,
        actor: Actor,
        *,
        url: str,
        events: Iterable[WebhookEvent | str],
        description: str = "",
        org_id: int | None = None,
    ) -> WebhookCreated:
        """Subscribe ``url`` to ``events`` for the organization; returns the secret once."""
        org = self._org(actor, org_id)
        clean_url, stored, text = self._check(url, events, description)
        now, secret = self._now(), new_secret()
        with self.kit.sessions(write=True) as session:
            if session.get(Organization, org) is None:
                raise InvalidInput({"org_id": [f"no organization {org}"]})
            values = {
                "org_id": org,
                "url": clean_url,
                "events": stored,
                "description": text or "",
                "secret": secret,
                "active": True,
                "disabled_reason": None,
                "created_at": now,
                "created_by": actor.describe(),
                "updated_at": now,
            }
            result = session.connection().execute(insert(tables.webhooks), values)
            values["id"] = int(result.inserted_primary_key[0])  # type: ignore[index]
            session.commit()
        return WebhookCreated(webhook=_view(values), secret=secret)

    def list(self, actor: Actor, *, org_id: int | None = None) -> builtins.list[WebhookView]:
        """The organization's subscriptions (every one, for the host without ``org_id``)."""
        stmt = select(tables.webhooks).order_by(_h.id)
        if not (actor.is_unrestricted and org_id is None):
            stmt = stmt.where(_h.org_id == self._org(actor, org_id))
        with self.kit.sessions(write=False) as session:
            return [_view(r) for r in session.execute(stmt).mappings()]

    def get(self, actor: Actor, webhook_id: int) -> WebhookView:
        with self.kit.sessions(write=False) as session:
            return _view(self._row(session.connection(), actor, webhook_id))

    def update(
        self,
        actor: Actor,
        webhook_id: int,
        *,
        url: str | None = None,
        events: Iterable[WebhookEvent | str] | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> WebhookView:
        """Change a subscription; ``active=True`` turns a disabled one back on."""
        if active is not None and not isinstance(active, bool):
            raise InvalidInput({"active": ["true or false"]})
        clean_url, stored, text = self._check(url, events, description)
        with self.kit.sessions(write=True) as session:
            conn = session.connection()
            self._row(conn, actor, webhook_id)
            values: dict[str, Any] = {"updated_at": self._now()}
            if clean_url is not None:
                values["url"] = clean_url
            if stored is not None:
                values["events"] = stored
            if text is not None:
                values["description"] = text
            if active is not None:
                values["active"] = active
                values["disabled_reason"] = None if active else f"disabled by {actor.describe()}"
            conn.execute(update(tables.webhooks).where(_h.id == webhook_id).values(**values))
            session.commit()
        return self.get(actor, webhook_id)

    def rotate_secret(self, actor: Actor, webhook_id: int) -> WebhookCreated:
        """A new signing secret, returned once; requests from now on are signed with it."""
        secret = new_secret()
        with self.kit.sessions(write=True) as session:
            conn = session.connection()
            self._row(conn, actor, webhook_id)
            conn.execute(
                update(tables.webhooks)
                .where(_h.id == webhook_id)
                .values(secret=secret, updated_at=self._now())
            )
            session.commit()
        return WebhookCreated(webhook=self.get(actor, webhook_id), secret=secret)

    def delete(self, actor: Actor, webhook_id: int) -> None:
        """Remove a subscription and its delivery log."""
        with self.kit.sessions(write=True) as session:
            conn = session.connection()
            self._row(conn, actor, webhook_id)
            ids = select(_q.id).where(_q.webhook_id == webhook_id)
            conn.execute(delete(tables.webhook_attempts).where(_a.delivery_id.in_(ids)))
            conn.execute(delete(tables.webhook_outbox).where(_q.webhook_id == webhook_id))
            conn.execute(delete(tables.webhooks).where(_h.id == webhook_id))
            session.commit()

    def deliveries(
        self, actor: Actor, webhook_id: int, *, limit: int = 50, before_id: int | None = None
    ) -> builtins.list[WebhookDeliveryView]:
        """The subscription's delivery log, newest first, each with its attempts."""
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["a whole number from 1 to 500"]})
        with self.kit.sessions(write=False) as session:
            conn = session.connection()
            self._row(conn, actor, webhook_id)
            stmt = select(tables.webhook_outbox).where(_q.webhook_id == webhook_id)
            if before_id is not None:
                stmt = stmt.where(_q.id < before_id)
            rows = list(conn.execute(stmt.order_by(_q.id.desc()).limit(limit)).mappings())
            history: dict[int, builtins.list[WebhookAttemptView]] = {}
            if rows:
                attempts = select(tables.webhook_attempts).where(
                    _a.delivery_id.in_([r["id"] for r in rows])
                )
                for a in conn.execute(attempts.order_by(_a.id)).mappings():
                    history.setdefault(a["delivery_id"], []).append(
                        WebhookAttemptView(
                            attempted_at=a["attempted_at"],
                            ok=bool(a["ok"]),
                            status_code=a["status_code"],
                            error=a["error"],
                        )
                    )
        return [_delivery_view(r, history.get(r["id"], ())) for r in rows]


def _delivery_view(row: Any, history: Iterable[WebhookAttemptView]) -> WebhookDeliveryView:
    """A :class:`WebhookDeliveryView` of a ``casekit_webhook_outbox`` row (a mapping)."""
    return WebhookDeliveryView(
        id=row["id"],
        webhook_id=row["webhook_id"],
        case_id=row["case_id"],
        event=WebhookEvent(row["event"]),
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == QUEUED else None,
        sent_at=row.get("sent_at"),
        last_error=row.get("last_error"),
        history=tuple(history),
    )


# -- queueing -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | builtins.list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum
        return value.value
    return value


def _as_dict(view: Any) -> dict[str, Any]:
    plain = {k: _plain(v) for k, v in attrs.asdict(view, recurse=True).items()}
    if "custom_fields" in plain:
        # By the names the organization reads them under, as in REST.
        plain["custom_fields"] = view.custom_field_values
    return plain


def webhook_changes(edit: Edit) -> builtins.list[tuple[WebhookEvent, dict[str, Any]]]:
    """What the change in ``edit`` was, as webhook events with their details."""
    by_name = {str(sig.name): kw for sig, kw in edit.queued_signals()}
    found: builtins.list[tuple[WebhookEvent, dict[str, Any]]] = []
    opened = by_name.get(str(signals.case_opened.name))
    posted = by_name.get(str(signals.message_posted.name))
    if opened is not None:
        found.append((WebhookEvent.CASE_OPENED, {"message": opened.get("message")}))
    elif posted is not None:
        found.append((WebhookEvent.MESSAGE_POSTED, {"message": posted.get("message")}))
    for move in edit.status_moves:
        change = {"old": move.old.value, "new": move.new.value, "move": move}
        found.append((WebhookEvent.STATUS_CHANGED, change))
        if move.kind == StatusMove.SOLVED:
            found.append((WebhookEvent.CASE_SOLVED, change))
        elif move.kind == StatusMove.REOPENED:
            found.append((WebhookEvent.CASE_REOPENED, change))
    owner = by_name.get(str(signals.owner_changed.name))
    if owner is not None:
        found.append(
            (
                WebhookEvent.OWNER_CHANGED,
                {"side": str(owner["side"]), "old": owner["old"], "new": owner["new"]},
            )
        )
    carrier = by_name.get(str(signals.carrier_changed.name))
    if carrier is not None:
        found.append(
            (
                WebhookEvent.CARRIER_CHANGED,
                {
                    "old": carrier["old"],
                    "new": carrier["new"],
                    "collaborating": carrier["collaborating"],
                },
            )
        )
    watcher = by_name.get(str(signals.watcher_changed.name))
    if watcher is not None:
        found.append(
            (
                WebhookEvent.WATCHER_CHANGED,
                {"user_id": watcher["user_id"], "watching": watcher["watching"]},
            )
        )
    priority = by_name.get(str(signals.priority_changed.name))
    if priority is not None:
        found.append(
            (
                WebhookEvent.PRIORITY_CHANGED,
                {"old": priority["old"].value, "new": priority["new"].value},
            )
        )
    tagged = by_name.get(str(signals.tags_changed.name))
    if tagged is not None:
        found.append(
            (
                WebhookEvent.TAGS_CHANGED,
                {
                    "org_id": tagged["org_id"],
                    "added": list(tagged["added"]),
                    "removed": list(tagged["removed"]),
                },
            )
        )
    fields = by_name.get(str(signals.custom_fields_changed.name))
    if fields is not None:
        found.append(
            (
                WebhookEvent.CUSTOM_FIELDS_CHANGED,
                {"org_id": fields["org_id"], "changes": fields["changes"]},
            )
        )
    recorded = by_name.get(str(signals.action_recorded.name))
    if recorded is not None:
        action = recorded["action"]
        event = (
            WebhookEvent.APPOINTMENT_CHANGED
            if action.kind == "appointment"
            else WebhookEvent.DISPOSITION_CHANGED
        )
        found.append((event, {"action_id": action.id, "change": str(recorded["change"])}))
    claim = by_name.get(str(signals.claim_recorded.name))
    if claim is not None:
        found.append(
            (
                WebhookEvent.CLAIM_CHANGED,
                {"claim_id": claim["claim"].id, "change": str(claim["change"])},
            )
        )
    return found


_ACTION_EVENTS = frozenset({WebhookEvent.APPOINTMENT_CHANGED, WebhookEvent.DISPOSITION_CHANGED})

_STATUS_EVENTS = frozenset(
    {WebhookEvent.STATUS_CHANGED, WebhookEvent.CASE_SOLVED, WebhookEvent.CASE_REOPENED}
)

# Every change asks it: built once, so its compiled form is cached.
_SUBSCRIBED = select(_h.id, _h.org_id, _h.events).where(
    _h.org_id.in_(bindparam("orgs", expanding=True)), _h.active.is_(True)
)


def queue_webhooks(edit: Edit, *, subscribed: Sequence[Subscribed] | None = None) -> int:
    """Write the webhook requests the change in ``edit`` causes; returns how many.

    Runs in the change's transaction. Each party organization subscribed to
    an event gets a payload read through the scoped layer as that
    organization; an organization that may not read the message of a
    ``message_posted`` (an internal note of the other party; for the
    carrier, the shipper's conversation with its customer) gets nothing.
    The carrier reads its own status moves and those of the shipper that
    moved its status alike, in the statuses it sees; the shipper does not
    read the carrier's own moves.
    ``subscribed`` are the parties' active subscriptions when the caller has
    read them already (with the people around the case); otherwise they are
    read here.
    """
    changes = webhook_changes(edit)
    if not changes:
        return 0
    case = edit.case
    conn = edit.uow.connection()
    if subscribed is None:
        subscribed = [
            Subscribed(*row) for row in conn.execute(_SUBSCRIBED, {"orgs": case.party_org_ids()})
        ]
    if not subscribed:
        return 0
    wanted = {c[0].value for c in changes}
    rows: builtins.list[dict[str, Any]] = []
    views: dict[int, dict[str, Any]] = {}
    watcher_org: int | None = None
    for hook in sorted(subscribed, key=lambda h: h.id):
        events = set(hook.events.split(",")) & wanted
        if not events:
            continue
        org = hook.org_id
        scope = Scope(
            edit.uow.session, Actor.system_actor(SystemName.API, org_id=org), now=edit.now
        )
        if org not in views:
            views[org] = _as_dict(scope.view(case, new=edit.new))
        for event, details in changes:
            if event.value not in events:
                continue
            data: dict[str, Any] = {}
            message = details.get("message")
            if event in (WebhookEvent.CASE_OPENED, WebhookEvent.MESSAGE_POSTED):
                readable = scope.readable(case, message) if message is not None else None
                if event is WebhookEvent.MESSAGE_POSTED and readable is None:
                    continue
                data["message"] = _as_dict(readable) if readable is not None else None
            elif event is WebhookEvent.WATCHER_CHANGED:
                if watcher_org is None:
                    u = tables.users.c
                    watcher_org = conn.execute(
                        select(u.org_id).where(u.id == details["user_id"])
                    ).scalar()
                if watcher_org != org:
                    continue  # watchers are their own organization's business
                data.update(details)
            elif event is WebhookEvent.TAGS_CHANGED:
                if details["org_id"] != org:
                    continue  # tags are their own organization's business
                data.update(added=details["added"], removed=details["removed"])
            elif event is WebhookEvent.CUSTOM_FIELDS_CHANGED:
                fields_read = _field_changes(details, org, case)
                if not fields_read:
                    continue  # the other party's private fields are its own business
                data["fields"] = fields_read
            elif event in _ACTION_EVENTS:
                # The action as the organization reads it: the carrier never
                # reads the shipper's internal note.
                row = conn.execute(
                    select(tables.actions).where(tables.actions.c.id == details["action_id"])
                ).one()
                as_org = Actor.system_actor(SystemName.API, org_id=org)
                if not action_readable(as_org, case, row):
                    continue
                data.update(
                    change=details["change"], action=_as_dict(action_view(as_org, case, row))
                )
            elif event is WebhookEvent.CLAIM_CHANGED:
                # The claim as the organization reads it: the carrier reads no draft
                # and never the shipper's valuation.
                row = conn.execute(
                    select(tables.claims).where(tables.claims.c.id == details["claim_id"])
                ).one()
                as_org = Actor.system_actor(SystemName.API, org_id=org)
                if not claim_readable(as_org, case, row) or (
                    org != case.shipper_org_id and details["change"] == "claim_valued"
                ):
                    continue
                data.update(
                    change=details["change"],
                    claim=_as_dict(one_claim(conn, as_org, case, row, edit.now)),
                )
            elif event in _STATUS_EVENTS:
                move = details["move"]
                if org == case.carrier_org_id:
                    # The carrier: its own moves, and the shipper's it sees
                    # (in its statuses); not the shipper's conversation with
                    # its customer.
                    if not (move.carrier or move.audience.reaches_carrier):
                        continue
                    data.update(
                        old=status_value_for_carrier(details["old"]),
                        new=status_value_for_carrier(details["new"]),
                    )
                elif move.carrier:
                    continue  # the carrier's own status is the carrier's business
                else:
                    data.update(old=details["old"], new=details["new"])
            else:
                data.update(details)
            payload = {
                "event": event.value,
                "occurred_at": edit.now.isoformat(),
                "organization_id": org,
                "actor": edit.actor.describe() if edit.actor.org_id == org else None,
                "case": views[org],
                **data,
            }
            rows.append(
                {
                    "webhook_id": hook.id,
                    "case_id": case.id,
                    "event": event.value,
                    "payload": json.dumps(payload, sort_keys=True, separators=(",", ":")),
                    "status": QUEUED,
                    "attempts": 0,
                    "created_at": edit.now,
                    "next_attempt_at": edit.now,
                }
            )
    if rows:
        told = bool(signals.webhook_queued.receivers)
        insert_rows(conn, tables.webhook_outbox, rows, with_ids=told)
        if told:
            edit.queued_webhooks += [_delivery_view(row, ()) for row in rows]
    return len(rows)


def _field_changes(details: dict[str, Any], org: int, case: Any) -> dict[str, Any]:
    """The custom field changes organization ``org`` reads, by the names it reads
    them under: all of its own organization's, the other party's shared ones."""
    owner = details["org_id"]
    role = "shipper" if owner == case.shipper_org_id else "carrier"
    return {
        (key if owner == org else f"{role}.{key}"): {"old": old, "new": new}
        for key, (field, old, new) in details["changes"].items()
        if owner == org or field.shared
    }


# -- delivering ---------------------------------------------------------------------------


def _client(kit: CaseKit) -> httpx.Client:
    s = kit.settings
    verify: ssl.SSLContext | bool = True
    if s.webhook_ca_file:
        verify = ssl.create_default_context(cafile=s.webhook_ca_file)
    return httpx.Client(
        timeout=s.webhook_timeout,
        verify=verify,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


def deliver_webhooks(worker: Worker, rows: builtins.list[dict[str, Any]] | None = None) -> Counts:
    """Claim, sign, send and record one batch of webhook requests.

    ``rows`` are requests the worker claimed already
    (``worker.claim(tables.webhook_outbox, ids=...)``); by default it claims
    a batch of those due. Returns (claimed, sent, retried, failed,
    abandoned), as :class:`~casekit.services.worker.BatchResult` counts them.
    """
    kit = worker.kit
    if rows is None:
        rows = worker.claim(tables.webhook_outbox)
    if not rows:
        return 0, 0, 0, 0, 0
    with kit.sessions(write=False) as session:
        ids = sorted({r["webhook_id"] for r in rows})
        stmt = select(_h.id, _h.org_id, _h.url, _h.secret, _h.active, _h.description).where(
            _h.id.in_(ids)
        )
        hooks = {h.id: h for h in session.execute(stmt)}
    tally = Tally(len(rows))
    with worker.holding(tables.webhook_outbox, rows) as hold, _client(kit) as client:
        for row in rows:
            if not hold.keeps(row["id"]):
                tally.add(SENDING)
                continue
            hook = hooks.get(row["webhook_id"])
            code: int | None = None
            error: str | None = None
            gone = False
            if hook is None or not hook.active:
                error, final = "the subscription is disabled", True
            elif problem := url_problem(
                hook.url, allow_http_loopback=kit.settings.webhook_allow_http_loopback
            ):
                error, final = f"the URL is refused: {problem}", True
            elif (target := _target(kit, hook.url))[1] is not None:
                error, final = f"the URL is refused: {target[1]}", False
            else:
                final = False
                url, pin_headers, extensions = target[0]
                body = row["payload"].encode()
                stamp = int(kit.clock.now().timestamp())
                delivery = str(row["id"])
                headers = {
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: signature_header(hook.secret, body, stamp),
                    EVENT_HEADER: row["event"],
                    DELIVERY_HEADER: delivery,
                    **standard_headers(hook.secret, delivery, body, stamp),
                    **pin_headers,
                }
                try:
                    with client.stream(
                        "POST", url, content=body, headers=headers, extensions=extensions
                    ) as response:
                        code = response.status_code
                        answer = _read_answer(response) if 200 <= code < 300 else b""
                    if 200 <= code < 300:
                        error = _answered(kit, hook, row, code, answer)
                    elif code == 410:
                        error, final, gone = "410 Gone: the subscription is disabled", True, True
                    else:
                        error = f"HTTP {code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
            tally.add(_record(worker, row, code, error, final=final, gone=gone))
            hold.release(row["id"])
    return tally.counts("webhook request(s)")


MAX_ANSWER = 64 * 1024


def _target(
    kit: CaseKit, url: str
) -> tuple[tuple[str, dict[str, str], dict[str, str]], None] | tuple[None, str]:
    """Where to send a request for ``url``: ``((url, headers, extensions), None)``, or
    ``(None, why not)``. Unless private addresses are allowed, the host is resolved
    now, every address checked, and the request pinned to the checked address."""
    if kit.settings.webhook_allow_private_addresses:
        return (url, {}, {}), None
    address, problem = resolve_public(url)
    if address is None:
        return None, problem or "no address"
    return pinned_request(url, address), None


def _read_answer(response: httpx.Response) -> bytes:
    """At most :data:`MAX_ANSWER` bytes of an endpoint's answer."""
    chunks: builtins.list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER:
            break
    return b"".join(chunks)[:MAX_ANSWER]


def _answered(kit: CaseKit, hook: Any, row: dict[str, Any], code: int, answer: bytes) -> str | None:
    """What the plugins say of a 2xx answer: ``None``, or an error that retries."""
    try:
        return kit.hooks.webhook_answered(
            webhook_id=hook.id,
            org_id=hook.org_id,
            description=hook.description,
            event=row["event"],
            payload=json.loads(row["payload"]),
            status_code=code,
            body=answer,
        )
    except Exception as exc:  # a plugin's failure is this attempt's failure, retried
        log.warning("casekit: webhook %s answer not handled", row["id"], exc_info=True)
        return f"answer not handled: {type(exc).__name__}: {exc}"


def _record(
    worker: Worker,
    row: dict[str, Any],
    code: int | None,
    error: str | None,
    *,
    final: bool,
    gone: bool,
) -> str:
    """Write one attempt's outcome, on the row while the claim is still the worker's
    (as :meth:`Worker.record <casekit.services.worker.Worker.record>`); returns the
    row's new status, ``sending`` when another worker's claim holds it now."""
    kit = worker.kit
    now = kit.clock.now()
    attempts = row["attempts"] + 1
    status, values = next_state(kit.settings, now, attempts, error, final=final, rng=worker.rng)
    with kit.sessions(write=True) as session:
        conn = session.connection()
        changed = conn.execute(
            update(tables.webhook_outbox)
            .where(*claimed_by(tables.webhook_outbox, row))
            .values(status=status, attempts=attempts, **values)
        ).rowcount
        if not changed:
            status, gone = SENDING, False
        conn.execute(
            insert(tables.webhook_attempts),
            {
                "delivery_id": row["id"],
                "attempted_at": now,
                "ok": error is None,
                "status_code": code,
                "error": None if error is None else error[:MAX_ERROR],
            },
        )
        if gone:
            conn.execute(
                update(tables.webhooks)
                .where(_h.id == row["webhook_id"])
                .values(
                    active=False,
                    disabled_reason=f"the endpoint answered 410 Gone on {now.isoformat()}",
                    updated_at=now,
                )
            )
        session.commit()
    if status == SENDING:
        log_lost(log, "webhook delivery", row["id"], error)
        return status
    if error is not None:
        log_failure(log, "webhook delivery", row["id"], attempts, status, error)
    attempted(kit, "webhook", status, code)
    return status
