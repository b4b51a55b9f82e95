"""What templates use: safe message bodies, dates for the browser's time zone, labels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from casekit import Audience, EntryView, EventKind, Status, labels
from casekit.query.listing import SEARCH_COUNT
from casekit_flask import clocks

# CommonMark with raw HTML off; whatever it makes is cleaned once more.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
_ALLOWED_TAGS = {
    "a", "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip


def render_body(text: str | None) -> Markup:
    """A message body (Markdown or plain text) as sanitised HTML."""
    if not text:
        return Markup("")
    html = _markdown.render(text)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


def when(moment: datetime | date | str | None, style: str = "datetime") -> Markup:
    """A ``<time>`` the page's script shows in the browser's time zone: the one way
    casekit shows a moment.

    ``moment`` is a timestamp (a naive one is UTC), a date, or a mail's ``Date``
    header (RFC 5322) or an ISO 8601 text. ``style`` ``"date"`` shows a timestamp's
    day in the browser's zone. A date (an order date, a promised delivery date)
    is a day everywhere: it is never shifted by a time zone.
    """
    if isinstance(moment, str):
        moment = _parse_moment(moment)
    if moment is None:
        return Markup('<span class="ck-muted">—</span>')
    if not isinstance(moment, datetime):
        # Every part comes from the date itself (digits, "-", month names).
        day = f"{moment:%b} {moment.day}, {moment.year}"
        return Markup(f'<time datetime="{moment.isoformat()}" data-style="day">{day}</time>')
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    iso = moment.isoformat().replace("+00:00", "Z")
    shown = moment.strftime("%Y-%m-%d %H:%M UTC" if style == "datetime" else "%Y-%m-%d")
    kind = "date" if style == "date" else "datetime"
    # Every part comes from the datetime itself (digits, "T", ":", "Z"): nothing to escape.
    return Markup(f'<time datetime="{iso}" data-style="{kind}">{shown}</time>')


def day(moment: datetime | date | str | None) -> Markup:
    """A date-only value as a date, never shifted: a timestamp's own calendar day
    (an order placed on Nov 8 reads Nov 8 wherever the reader is)."""
    if isinstance(moment, str):
        moment = _parse_moment(moment)
    if isinstance(moment, datetime):
        moment = moment.date()
    return when(moment)


def _parse_moment(text: str) -> datetime | date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        return None


def status_label(status: Status | str) -> str:
    """A case status in casekit's words ("Reply received", "Solved")."""
    return labels.label("status", Status(status))


def composer_label(audience: Audience | str, side: str = "shipper") -> str:
    """What the composer calls writing for ``audience``, to staff of ``side``
    (``shipper`` or ``carrier``): "Internal note", "To the carrier"..."""
    return labels.composer_label(Audience(audience), side)


def audience_label(entry: EntryView | Audience | str, side: str = "shipper") -> str:
    """Who reads a message, in the words of staff of ``side``; an entry of the
    shipper's conversation with its customer says whether it was shared."""
    if isinstance(entry, EntryView):
        return labels.audience_label(entry.audience, side, shared=entry.shared_at is not None)
    return labels.audience_label(Audience(entry), side)


def label(value: Any, kind: str) -> str:
    """``value`` in casekit's words, from vocabulary ``kind`` (:mod:`casekit.labels`):
    ``{{ shipment.mode|casekit_label('mode') }}`` reads "Parcel"."""
    return labels.label(kind, value)


COLUMN_LABELS = {
    "number": "Case",
    "status": "Status",
    "type": "Type",
    "latest_message_at": "Latest message",
    "latest_message_excerpt": "Message",
    "owners": "Owners",
    "created_at": "Created",
    "account": "Account",
    "brand": "Brand",
    "tracking_number": "Tracking #",
    "bol_number": "BOL #",
    "po_number": "PO #",
    "reference_number": "Reference #",
    "ra_number": "RA #",
    "order_number": "Order #",
    "crm_number": "CRM #",
    "due": "Due",
    "priority": "Priority",
    "tags": "Tags",
}


def describe_event(
    entry: EntryView,
    people: dict[int, str],
    type_label: Any,
    entries: dict[int, EntryView] | None = None,
    organizations: dict[int, str] | None = None,
) -> str:
    """One sentence for an event on the timeline; ``entries`` are the timeline's,
    by id (what an event about another entry names); ``organizations`` the case's
    parties' names, by id (a carrier taken off the case is not named)."""

    def person(value: str | None) -> str:
        if value is None or value == "None":
            return "nobody"
        try:
            return people.get(int(value), f"user {value}")
        except ValueError:
            return value

    old, new = entry.old_value, entry.new_value
    match entry.event:
        case EventKind.OPENED:
            return f"opened the case ({type_label(new)})"
        case EventKind.STATUS_CHANGED:
            before, after = status_label(old or "new"), status_label(new or "new")
            return f"changed the status from {before} to {after}"
        case EventKind.SOLVED:
            return "solved the case"
        case EventKind.REOPENED:
            return f"reopened the case ({status_label(new or 'open')})"
        case EventKind.TYPE_CHANGED:
            return f"changed the type from {type_label(old)} to {type_label(new)}"
        case EventKind.OWNER_CHANGED:
            return f"changed the owner from {person(old)} to {person(new)}"
        case EventKind.WATCHER_ADDED:
            return f"added {person(new)} as a watcher"
        case EventKind.WATCHER_REMOVED:
            return f"removed {person(new)} from the watchers"
        case EventKind.CRM_NUMBER_SET:
            return f"set the CRM case number to {new or '(none)'}"
        case EventKind.PRIORITY_CHANGED:
            before = labels.label("priority", old or "normal")
            after = labels.label("priority", new or "normal")
            return f"changed the priority from {before} to {after}"
        case EventKind.TAG_ADDED:
            return f"tagged the case {new}"
        case EventKind.TAG_REMOVED:
            return f"took the tag {new} off the case"
        case EventKind.CUSTOM_FIELD_CHANGED:
            if new is None:
                return f"cleared {old}"
            return f"set {new}"
        case EventKind.MERGED_INTO:
            return f"merged this case into {new} as a duplicate"
        case EventKind.MERGED_FROM:
            return f"merged case {new} into this one"
        case EventKind.SHIPMENT_LINKED:
            return f"linked shipment {new}"
        case EventKind.ORDER_LINKED:
            return f"linked order {new}"
        case EventKind.CARRIER_CHANGED:
            named = (organizations or {}).get(int(new)) if new and new.isdigit() else None
            if new is None:
                return "removed the carrier from the case"
            if named is None:
                return "changed the carrier"
            return f"brought in {named} as the carrier"
        case EventKind.CARRIER_COLLABORATING:
            if new == "True":
                return "switched the carrier to collaborating by email"
            return "switched the carrier to not collaborating (it gets no mail about the case)"
        case EventKind.UNSUBSCRIBED | EventKind.RESUBSCRIBED:
            who = "the customer" if new == "customer" else person(new)
            verb = "unsubscribed" if entry.event is EventKind.UNSUBSCRIBED else "subscribed again"
            where = "every case of the shipper" if old == "all_cases" else "this case"
            into = "from" if entry.event is EventKind.UNSUBSCRIBED else "to"
            return f"{verb} {who} {into} the emails about {where}"
        case EventKind.ENTRY_SHARED:
            shared = (entries or {}).get(int(new)) if new and new.isdigit() else None
            if shared is None:
                return "shared a message of the customer conversation with the carrier"
            by_customer = shared.actor_kind == "customer"
            what = Markup("the customer's message" if by_customer else "the message")
            return Markup("shared {} of {} with the carrier").format(what, when(shared.created_at))
        case EventKind.CONTACT_SHARED:
            return "shared the customer's contact details with the carrier"
        case EventKind.CONTACT_WITHDRAWN:
            return "withdrew the customer's contact details from the carrier"
        case EventKind.MAIL_FILED:
            return "filed a mail from triage on the case"
        case (
            EventKind.APPOINTMENT_PROPOSED
            | EventKind.APPOINTMENT_COUNTERED
            | EventKind.APPOINTMENT_ACCEPTED
            | EventKind.APPOINTMENT_WITHDRAWN
            | EventKind.APPOINTMENT_KEPT
            | EventKind.APPOINTMENT_MISSED
            | EventKind.DISPOSITION_REQUESTED
            | EventKind.DISPOSITION_DECIDED
            | EventKind.DISPOSITION_WITHDRAWN
            | EventKind.CLAIM_DRAFTED
            | EventKind.CLAIM_CHANGED
            | EventKind.CLAIM_FILED
            | EventKind.CLAIM_ACKNOWLEDGED
            | EventKind.CLAIM_PAID
            | EventKind.CLAIM_PARTLY_PAID
            | EventKind.CLAIM_DECLINED
            | EventKind.CLAIM_OFFERED
            | EventKind.CLAIM_OFFER_ACCEPTED
            | EventKind.CLAIM_OFFER_REJECTED
            | EventKind.CLAIM_WITHDRAWN
            | EventKind.CLAIM_VALUED
        ):
            # The step's own words (casekit.services.actions.describe and
            # casekit.services.claims.describe, in the entry's audience), never a note
            # its reader may not read: the first line says what was done, the next
            # ones the words of the side that took the step, in the entry's audience.
            done = labels.label("event", entry.event).lower()
            lines = entry.body.splitlines() if entry.body else []
            said = f"{done}: {lines[0]}" if lines else done
            words = " ".join(line.strip() for line in lines[1:] if line.strip())
            return f"{said} (“{words}”)" if words else said
        case EventKind.NOTIFICATION_FAILED:
            return "could not deliver an email about the case"
    if entry.event:
        return f"changed the case ({labels.label('event', entry.event)})"
    return "changed the case"


#: The media types of photos a page shows in place (see files.send_attachment).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def is_image(content_type: str) -> bool:
    """Whether an attachment's recorded media type is a photo a page may show in place."""
    return content_type in IMAGE_TYPES


def static_url(filename: str) -> str:
    """A casekit static file's URL, from whichever casekit blueprint serves this page."""
    from flask import current_app, request, url_for

    blueprint = request.blueprint
    if blueprint not in ("casekit_staff", "casekit_portal"):
        blueprint = (
            "casekit_staff" if "casekit_staff" in current_app.blueprints else "casekit_portal"
        )
    return url_for(f"{blueprint}.static", filename=filename)


def count_label(count: int, searched: Any = False) -> str:
    """A list's count as a page shows it; the count of a list with a search stops
    past :data:`~casekit.query.listing.SEARCH_COUNT`, and reads "500+" there."""
    if searched and count > SEARCH_COUNT:
        return f"{SEARCH_COUNT:,}+"
    return f"{count:,}"


def install(app: Any) -> None:
    """Register the filters under ``casekit_*`` names on ``app``'s Jinja environment."""
    env = app.jinja_env
    env.filters.setdefault("casekit_body", render_body)
    env.filters.setdefault("casekit_when", when)
    env.filters.setdefault("casekit_status", status_label)
    env.filters.setdefault("casekit_audience", audience_label)
    env.filters.setdefault("casekit_composer_audience", composer_label)
    env.filters.setdefault("casekit_label", label)
    env.filters.setdefault("casekit_field", labels.field_label)
    env.filters.setdefault("casekit_day", day)
    env.filters.setdefault("casekit_count", count_label)
    env.globals.setdefault("casekit_column_labels", COLUMN_LABELS)
    env.globals.setdefault("casekit_static", static_url)
    env.globals.setdefault("casekit_is_image", is_image)
    env.globals.setdefault("casekit_due", clocks.due_cell)
    env.globals.setdefault("casekit_clock", clocks.clock_line)
    env.globals.setdefault("casekit_due_state", clocks.state_badge)
