"""Turning claimed outbox rows into emails: the context, the template, the message.

Rendering happens at delivery, outside the transaction that queued the
notification, and reads what it needs for a whole batch in a few
statements. The message of a notification is put in only when its
recipient may read it, by the same audience rule as the timeline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import jinja2
from sqlalchemy import select

from casekit.domain.audience import Audience, entry_visible
from casekit.domain.case import Case
from casekit.domain.claims import CLOCK_LABELS
from casekit.domain.notify import NotifyEvent, RecipientKind
from casekit.domain.portal import customer_status
from casekit.domain.sla import ClockKind, DueState
from casekit.domain.workflow import status_value_for_carrier
from casekit.labels import label
from casekit.mail.compose import OutgoingNotification, compose
from casekit.mail.marker import REPLY_MARKER, has_marker
from casekit.mail.templates import RenderedMail, Templates, TemplateSource
from casekit.mail.tokens import unsubscribe_url
from casekit.store import tables
from casekit.store.rows import load_cases, select_cases

if TYPE_CHECKING:
    from casekit.kit import CaseKit
    from casekit.settings import Settings

log = logging.getLogger(__name__)

_TEMPLATES: Templates | None = None


def templates() -> Templates:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = Templates()
    return _TEMPLATES


def recipient_key(row: Any) -> str:
    if row["user_id"] is not None:
        return f"u{row['user_id']}"
    if row["customer_id"] is not None:
        return f"c{row['customer_id']}"
    return f"a:{row['email']}"


def _names(conn: Any, table: Any, ids: set[int], column: str = "name") -> dict[int, Any]:
    ids.discard(None)  # type: ignore[arg-type, unused-ignore]
    if not ids:
        return {}
    stmt = select(table.c.id, table.c[column]).where(table.c.id.in_(sorted(ids)))
    return {row[0]: row[1] for row in conn.execute(stmt)}


#: The carrier's recipients who read the customer's contact details once shared: not an
#: address Cc'd on the thread, which may be anyone's.
_CARRIER_PEOPLE = frozenset({RecipientKind.USER.value, RecipientKind.ADDRESS.value})


def _reads_contact(row: Mapping[str, Any], case: Case) -> bool:
    """The notification goes to a user of the case's carrier (or its collaborator
    address) while the shipper shares its customer's contact details on the case."""
    return (
        row["recipient_kind"] in _CARRIER_PEOPLE
        and row["org_id"] == case.carrier_org_id
        and case.contact_shared_at is not None
        and case.customer_id is not None
    )


def _contacts(
    conn: Any, rows: list[dict[str, Any]], cases: Mapping[int | None, Case]
) -> dict[int, dict[str, str | None]]:
    """The contact details of the customers whose cases' mail shows them."""
    ids = {
        case.customer_id
        for row in rows
        if (case := cases.get(row["case_id"])) is not None
        and case.customer_id is not None
        and _reads_contact(row, case)
    }
    if not ids:
        return {}
    k = tables.customers.c
    stmt = select(k.id, k.name, k.email, k.phone).where(k.id.in_(sorted(ids)))
    return {r.id: {"name": r.name, "email": r.email, "phone": r.phone} for r in conn.execute(stmt)}


def overrides(conn: Any, org_ids: set[int]) -> dict[tuple[int, str], TemplateSource]:
    t = tables.mail_templates.c
    if not org_ids:
        return {}
    stmt = select(t.org_id, t.name, t.subject, t.text, t.html).where(t.org_id.in_(sorted(org_ids)))
    return {
        (r.org_id, r.name): TemplateSource(subject=r.subject, text=r.text, html=r.html)
        for r in conn.execute(stmt)
    }


def prepare(
    kit: CaseKit, rows: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], OutgoingNotification | None, str | None]]:
    """Each row with its composed notification, or the error that kept it from one."""
    with kit.sessions(write=False) as session:
        conn = session.connection()
        case_ids = sorted({r["case_id"] for r in rows})
        cases = {c.id: c for c in load_cases(conn, select_cases(tables.cases.c.id.in_(case_ids)))}
        e = tables.entries.c
        entry_ids = sorted({r["entry_id"] for r in rows if r["entry_id"] is not None})
        entries = {}
        if entry_ids:
            stmt = select(e.id, e.body, e.audience, e.org_id, e.shared_at).where(
                e.id.in_(entry_ids)
            )
            entries = {r.id: r for r in conn.execute(stmt)}
        org_ids = {r["org_id"] for r in rows}
        for case in cases.values():
            org_ids.update(case.party_org_ids())
        orgs = _names(conn, tables.organizations, set(org_ids))
        user_ids: set[int] = set()
        customer_ids: set[int] = set()
        for r in rows:
            kind, _, who = r["actor"].partition(":")
            if kind == "user" and who.isdigit():
                user_ids.add(int(who))
            elif kind == "customer" and who.isdigit():
                customer_ids.add(int(who))
            for value in (r["old_value"], r["new_value"]):
                if r["event"] == "owner_assigned" and value and value.isdigit():
                    user_ids.add(int(value))
            if r["user_id"] is not None:
                user_ids.add(r["user_id"])
        users = _names(conn, tables.users, user_ids)
        user_orgs = _names(conn, tables.users, set(user_ids), "org_id")
        customers = _names(conn, tables.customers, customer_ids)
        contacts = _contacts(conn, rows, cases)
        orders = _names(
            conn, tables.orders, {c.order_id for c in cases.values() if c.order_id}, "number"
        )
        shipments = _names(
            conn,
            tables.shipments,
            {c.shipment_id for c in cases.values() if c.shipment_id},
            "reference",
        )
        custom = overrides(conn, {r["org_id"] for r in rows})
        clocks = clock_facts(conn, rows)
    replies = bool(kit.settings.reply_address and kit.settings.reply_secrets)
    for row in rows:
        found = cases.get(row["case_id"])
        if found is None:
            yield row, None, "the case no longer exists"
            continue
        case = found
        # The carrier's people: they never read the customer's account, nor the
        # statuses of the shipper's conversation with its customer.
        for_carrier = row["org_id"] == case.carrier_org_id
        kind, _, who = row["actor"].partition(":")
        if kind == "user" and who.isdigit():
            actor_name = users.get(int(who), "Someone")
        elif kind == "customer" and for_carrier:
            actor_name = "The customer"  # the carrier never reads the customer's account
        elif kind == "customer" and who.isdigit():
            actor_name = customers.get(int(who)) or "The customer"
        else:
            actor_name = "casekit"
        entry = entries.get(row["entry_id"]) if row["entry_id"] is not None else None
        message = None
        if entry is not None and _may_read(row, entry, user_orgs, case.carrier_org_id):
            audience = Audience(entry.audience)
            message = {
                "body": entry.body,
                "audience": str(audience),
                "audience_label": label("audience", audience),
            }

        owner_event = row["event"] == "owner_assigned"
        status = case.carrier_status if for_carrier else case.status

        def person(
            value: str | None, owner_event: bool = owner_event, for_carrier: bool = for_carrier
        ) -> str:
            if owner_event and value and value.isdigit():
                return str(users.get(int(value), value))
            if for_carrier:
                value = status_value_for_carrier(value)
            return value or ""

        context = {
            "case": {
                "number": case.number or "",
                "subject": case.subject,
                "type": case.type,
                "type_label": kit.case_types[case.type].label
                if case.type in kit.case_types
                else case.type,
                "status": str(status),
                "status_label": label("status", status),
                "status_words": customer_status(status).label
                if row["recipient_kind"] == RecipientKind.CUSTOMER.value
                else "",
                "url": case_link(kit.settings, row["recipient_kind"], case.number or ""),
                "shipper": orgs.get(case.shipper_org_id, ""),
                "carrier": orgs.get(case.carrier_org_id, "") if case.carrier_org_id else "",
                "order": orders.get(case.order_id, "") if case.order_id else "",
                "shipment": shipments.get(case.shipment_id, "") if case.shipment_id else "",
                # The customer's contact details, to the carrier's users once the
                # shipper shared them on this case.
                "contact": contacts.get(case.customer_id or 0)
                if for_carrier and _reads_contact(row, case)
                else None,
            },
            "event": row["event"],
            "actor": {"name": actor_name},
            "message": message,
            "change": change(row["event"], person(row["old_value"]), person(row["new_value"]))
            if row["event"] not in CLOCK_EVENTS
            else change(row["event"], "", ""),
            "clock": clocks.get(row["id"]),
            "recipient": {
                "name": row["name"],
                "email": row["email"],
                "kind": row["recipient_kind"],
            },
            "organization": {"name": orgs.get(row["org_id"], "")},
            "reply_by_mail": replies,
            "reply_marker": REPLY_MARKER if replies else "",
            "unsubscribe_url": unsubscribe_url(
                kit.settings.unsubscribe_url,
                kit.settings.reply_secrets,
                row["case_id"],
                recipient_key(row),
            ),
        }
        try:
            rendered = render(
                custom.get((row["org_id"], row["template"])), row["template"], context
            )
            email = compose(
                kit.settings,
                rendered,
                notification_id=row["id"],
                case_id=row["case_id"],
                case_number=case.number or "",
                event=row["event"],
                recipient_key=recipient_key(row),
                email=row["email"],
                name=row["name"],
                created_at=row["created_at"],
            )
        except Exception as error:  # a template or an address that cannot be used
            yield row, None, f"{type(error).__name__}: {error}"
            continue
        yield (
            row,
            OutgoingNotification(
                id=row["id"],
                case_id=row["case_id"],
                case_number=case.number or "",
                event=row["event"],
                template=row["template"],
                recipient_kind=row["recipient_kind"],
                email=row["email"],
                name=row["name"],
                user_id=row["user_id"],
                customer_id=row["customer_id"],
                attempt=row["attempts"] + 1,
                message=email,
            ),
            None,
        )


#: The service-level warnings: ``old_value`` is the clock's kind, ``new_value`` its due time.
CLOCK_EVENTS = frozenset({NotifyEvent.CLOCK_DUE_SOON.value, NotifyEvent.CLOCK_BREACHED.value})


def clock_facts(conn: Any, rows: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """The ``clock`` of each service-level warning in ``rows`` (by row id): its kind,
    its due time in its calendar's time zone, and its target's name, read from the
    side's clock (the row's organization's) on the case."""
    wanted = [r for r in rows if r["event"] in CLOCK_EVENTS]
    if not wanted:
        return {}
    k, t = tables.clocks.c, tables.sla_targets.c
    stmt = (
        select(k.case_id, k.org_id, k.kind, k.time_zone, t.name)
        .outerjoin(tables.sla_targets, t.id == k.target_id)
        .where(k.case_id.in_(sorted({r["case_id"] for r in wanted})))
    )
    found = {(r.case_id, r.org_id, r.kind): r for r in conn.execute(stmt)}
    facts: dict[int, dict[str, str]] = {}
    for row in wanted:
        clock = found.get((row["case_id"], row["org_id"], row["old_value"]))
        zone = clock.time_zone if clock is not None else "UTC"
        due = _local(row["new_value"], zone)
        kind = row["old_value"] or ""
        facts[row["id"]] = {
            "kind": kind,
            "kind_label": ClockKind(kind).label
            if kind in _KINDS
            else CLAIM_CLOCK_LABELS.get(kind, kind),
            "state_label": DueState.BREACHED.label
            if row["event"] == NotifyEvent.CLOCK_BREACHED.value
            else DueState.DUE_SOON.label,
            "due_at": f"{due:%a %d %b %Y %H:%M} ({zone})" if due is not None else "",
            "due_at_iso": due.isoformat() if due is not None else "",
            "time_zone": zone,
            "target": (clock.name or "") if clock is not None else "",
        }
    return facts


_KINDS = frozenset(k.value for k in ClockKind)
#: A freight claim's clocks warn through the same rows (casekit.services.claims).
CLAIM_CLOCK_LABELS = {kind.value: label for kind, label in CLOCK_LABELS.items()}


def _local(value: str | None, zone: str) -> datetime | None:
    """The UTC moment ``value`` (ISO 8601) in time zone ``zone`` (UTC if unknown)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    try:
        return moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC)


#: The notifications whose change is of a status: its labels are the status's words.
_STATUS_EVENTS = frozenset({"status_changed", "case_solved", "case_reopened"})


def change(event: str, old: str, new: str) -> dict[str, str]:
    """A notification's ``change``: the values before and after, and what a person
    reads for each (a status's words for a change of status, else the value)."""
    if event in _STATUS_EVENTS:
        return {
            "old": old,
            "new": new,
            "old_label": label("status", old),
            "new_label": label("status", new),
        }
    return {"old": old, "new": new, "old_label": old, "new_label": new}


def case_link(settings: Settings, recipient_kind: str, number: str) -> str:
    """The link to case ``number`` in a mail to a recipient of ``recipient_kind``.

    A customer's goes to the customer portal (``portal_case_url``), never to
    the staff pages; everyone else's to the staff pages (``case_url``).
    Empty when the setting it needs is.
    """
    if recipient_kind == RecipientKind.CUSTOMER.value:
        pattern = settings.portal_case_url
    else:
        pattern = settings.case_url
    return pattern.replace("{number}", number) if pattern else ""


def render(custom: TemplateSource | None, name: str, context: dict[str, Any]) -> RenderedMail:
    """Render an organization's override, falling back to the shipped template if it fails.

    When replies are accepted (``reply_marker``) and an override leaves the
    marker out, it is put at the top of the text and HTML parts, so that
    every reply can be cut at it.
    """
    engine = templates()
    if custom is not None:
        try:
            return with_marker(engine.render(custom, context), context.get("reply_marker", ""))
        except jinja2.TemplateError:
            log.exception("casekit: the %s template override failed; using the shipped one", name)
    return engine.render(engine.builtin(name), context)


_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def with_marker(rendered: RenderedMail, marker: str) -> RenderedMail:
    """``rendered`` with ``marker`` at the top of each part that has no marker line."""
    if not marker:
        return rendered
    text, html = rendered.text, rendered.html
    if not has_marker(text):
        text = f"{marker}\n\n{text}"
    if html.strip() and not has_marker(html, html=True):
        line = f'<div style="color: #888; font-size: smaller">{escape(marker)}</div>\n'
        body = _BODY_TAG.search(html)
        html = html[: body.end()] + "\n" + line + html[body.end() :] if body else line + html
    return attrs.evolve(rendered, text=text, html=html)


def _may_read(row: Any, entry: Any, user_orgs: dict[int, Any], carrier_org_id: int | None) -> bool:
    """The timeline's audience rule, for the recipient of ``row`` on a case whose
    carrier is ``carrier_org_id``."""
    kind = RecipientKind(row["recipient_kind"])
    audience = Audience(entry.audience)
    shared = entry.shared_at is not None
    if kind is RecipientKind.CUSTOMER:
        return entry_visible(
            audience,
            entry.org_id,
            viewer_org_id=None,
            viewer_is_customer=True,
            viewer_is_carrier=False,
        )
    viewer_org = user_orgs.get(row["user_id"]) if kind is RecipientKind.USER else row["org_id"]
    if kind is RecipientKind.PARTICIPANT:
        # An address Cc'd on the thread, written for one organization (the
        # shipper's unless the carrier's own address brought it in): never
        # an internal note, a customer's entry only as the shipper's.
        if audience is Audience.INTERNAL:
            return False
        viewer_org = row["org_id"]
    return entry_visible(
        audience,
        entry.org_id,
        viewer_org_id=viewer_org,
        viewer_is_customer=False,
        viewer_is_carrier=viewer_org is not None and viewer_org == carrier_org_id,
        shared=shared,
    )
