"""Canned replies (macros): an organization's or a user's ready answer to a case.

A reply has a title, a body written in the sandboxed template language of the
notification mails (:mod:`casekit.mail.templates`), an audience, and actions
that run when it is applied (:class:`ReplyActions`). Its body sees only the
variables of :data:`VARIABLES`, and each of them only where every reader of
the reply's audience may read it (:func:`reply_context`): a reply for the
customer or for partners never pulls the author's CRM number, and a reply the
carrier reads names the customer only where the shipper shares the
customer's contact details with it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import define, field, frozen

from casekit.domain.audience import Audience
from casekit.domain.tags import Priority, parse_priority, parse_tag_ids
from casekit.domain.workflow import Status
from casekit.errors import InvalidInput

__all__ = [
    "ACTIONS",
    "MAX_BODY",
    "MAX_TITLE",
    "SAMPLE_CONTEXT",
    "VARIABLES",
    "CannedReply",
    "OwnerChoice",
    "ReplyActions",
    "ReplyUse",
    "check_body",
    "parse_actions",
    "readers_see_customer",
    "reply_context",
]

MAX_TITLE = 100
MAX_BODY = 20_000
#: Watchers a reply may add, at most.
MAX_WATCHERS = 20

#: What a reply may do when applied, in the order it does it (after posting its message).
#: Each is a :class:`ReplyActions` field, checked in :func:`parse_actions`, with its step
#: in ``casekit.services.canned_replies.run_actions``.
ACTIONS = ("type", "status", "owner", "watchers", "priority", "add_tags", "remove_tags")

#: The variables a reply's body sees, and what each holds. A variable a reader of the
#: reply's audience may not read is empty there (see :func:`reply_context`).
VARIABLES: dict[str, str] = {
    "case.number": "the case number, such as CV000123",
    "case.subject": "the case's subject (may be empty)",
    "case.type": "the case type's code (case.type_label is its name)",
    "case.type_label": "the case type's label, such as Where Is My Order",
    "case.status": "the code of the case's status as the agent sees it (case.status_label is "
    "its name)",
    "case.status_label": "the status in words: New, Open, Reply received, Waiting, Solved",
    "case.crm_number": "the agent's organization's CRM case number: in internal replies "
    "only, else empty",
    "order.number": "the order number, or empty",
    "order.brand": "the order's brand, or empty",
    "order.placed_on": "the day the order was placed (YYYY-MM-DD), or empty",
    "shipment.reference": "the shipment's reference, or empty",
    "shipment.tracking_number": "the tracking number, or empty",
    "shipment.carrier": "the carrier's name, or empty",
    "shipment.promised_date": "the promised delivery day (YYYY-MM-DD), or empty",
    "shipment.estimated_date": "the estimated delivery day (YYYY-MM-DD), or empty",
    "customer.name": "the customer's name: empty where a reader of the audience may not "
    "read it (the carrier, unless the shipper shares the customer's contact details)",
    "customer.first_name": "the first word of the customer's name, likewise",
    "customer.email": "the customer's address, likewise",
    "agent.name": "the name of the user who uses the reply",
    "agent.first_name": "the first word of that name",
    "organization.name": "the agent's organization",
}

SAMPLE_CONTEXT: dict[str, Any] = {
    "case": {
        "number": "CV000123",
        "subject": "Pallet arrived damaged",
        "type": "osd_damaged",
        "type_label": "OS&D - Damaged",
        "status": "open",
        "status_label": "Open",
        "crm_number": "CRM-42",
    },
    "order": {"number": "SO-1001", "brand": "Acme", "placed_on": "2026-01-05"},
    "shipment": {
        "reference": "SHP-1",
        "tracking_number": "1Z999",
        "carrier": "Fast Freight",
        "promised_date": "2026-01-09",
        "estimated_date": "2026-01-10",
    },
    "customer": {"name": "Casey Customer", "first_name": "Casey", "email": "casey@example.test"},
    "agent": {"name": "Sam Shipper", "first_name": "Sam"},
    "organization": {"name": "Acme Goods"},
}


class OwnerChoice(enum.StrEnum):
    """Whom a reply makes the owner of the agent's side: the agent or nobody (or a user id)."""

    ME = "me"
    NOBODY = "nobody"


@frozen(kw_only=True)
class ReplyActions:
    """What applying a reply does besides posting it; None (or empty) leaves it alone.

    ``owner`` is :class:`OwnerChoice` or a user id of the reply's organization;
    ``watchers`` holds ``"me"`` or user ids, added to the case's watchers;
    ``priority`` is the case's priority (both sides share it); ``add_tags`` and
    ``remove_tags`` are ids of the reply's organization's own tags.
    """

    type: str | None = None
    status: Status | None = None
    owner: OwnerChoice | int | None = None
    watchers: tuple[OwnerChoice | int, ...] = ()
    priority: Priority | None = None
    add_tags: tuple[int, ...] = ()
    remove_tags: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return any(getattr(self, name) not in (None, ()) for name in ACTIONS)

    @classmethod
    def from_json(cls, text: str) -> ReplyActions:
        """The actions as stored (:meth:`as_json`'s text, checked when it was saved)."""
        raw = json.loads(text or "{}")
        owner = raw.get("owner")
        return cls(
            type=raw.get("type"),
            status=Status(raw["status"]) if raw.get("status") else None,
            owner=None if owner is None else _stored_person(owner),
            watchers=tuple(_stored_person(w) for w in raw.get("watchers") or ()),
            priority=Priority(raw["priority"]) if raw.get("priority") else None,
            add_tags=tuple(raw.get("add_tags") or ()),
            remove_tags=tuple(raw.get("remove_tags") or ()),
        )

    def as_json(self) -> dict[str, Any]:
        """The actions set, as JSON values (what the table and the wire hold)."""
        out: dict[str, Any] = {}
        if self.type is not None:
            out["type"] = self.type
        if self.status is not None:
            out["status"] = self.status.value
        if self.owner is not None:
            out["owner"] = self.owner if isinstance(self.owner, int) else self.owner.value
        if self.watchers:
            out["watchers"] = [w if isinstance(w, int) else w.value for w in self.watchers]
        if self.priority is not None:
            out["priority"] = self.priority.value
        if self.add_tags:
            out["add_tags"] = list(self.add_tags)
        if self.remove_tags:
            out["remove_tags"] = list(self.remove_tags)
        return out


def _stored_person(value: int | str) -> OwnerChoice | int:
    return value if isinstance(value, int) else OwnerChoice(value)


def _person(value: Any, where: str, errors: dict[str, list[str]]) -> OwnerChoice | int | None:
    if isinstance(value, bool):
        errors[where] = ["a user id, or me"]
        return None
    if isinstance(value, int) and 0 < value < 2**53:
        return value
    if isinstance(value, str) and value in {c.value for c in OwnerChoice}:
        return OwnerChoice(value)
    errors[where] = ["a user id, me or nobody" if where == "actions.owner" else "a user id, or me"]
    return None


def parse_actions(raw: Any, *, case_types: Mapping[str, object]) -> ReplyActions:
    """:class:`ReplyActions` from their JSON form; :class:`InvalidInput` names each bad
    field (``actions.status``...)."""
    if raw is None or isinstance(raw, ReplyActions):
        return raw or ReplyActions()
    if not isinstance(raw, Mapping):
        raise InvalidInput({"actions": [f"an object with some of {', '.join(ACTIONS)}"]})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(raw) - set(ACTIONS)):
        errors[f"actions.{name}"] = [f"not an action; one of {', '.join(ACTIONS)}"]
    type_ = raw.get("type")
    if type_ is not None and (not isinstance(type_, str) or type_ not in case_types):
        errors["actions.type"] = [f"unknown case type {type_!r}"]
    status = None
    if raw.get("status") is not None:
        try:
            status = Status(raw["status"])
        except (ValueError, TypeError):
            known = ", ".join(s.value for s in Status)
            errors["actions.status"] = [f"unknown status {raw['status']!r}; one of {known}"]
        if status is Status.NEW:
            errors["actions.status"] = ["a case is new until it is answered, never by hand"]
    owner = None
    if raw.get("owner") is not None:
        owner = _person(raw["owner"], "actions.owner", errors)
    watchers: list[OwnerChoice | int] = []
    given = raw.get("watchers") or []
    if not isinstance(given, list | tuple):
        errors["actions.watchers"] = ["a list of user ids (or me)"]
    elif len(given) > MAX_WATCHERS:
        errors["actions.watchers"] = [f"at most {MAX_WATCHERS} watchers"]
    else:
        for value in given:
            who = _person(value, "actions.watchers", errors)
            if who is OwnerChoice.NOBODY:
                errors["actions.watchers"] = ["a user id, or me"]
            elif who is not None and who not in watchers:
                watchers.append(who)
    priority = None
    if raw.get("priority") is not None:
        try:
            priority = parse_priority(raw["priority"], "actions.priority")
        except InvalidInput as error:
            errors.update(error.errors)
    tagging: dict[str, tuple[int, ...]] = {}
    for name in ("add_tags", "remove_tags"):
        if raw.get(name) is not None:
            try:
                tagging[name] = parse_tag_ids(raw[name], f"actions.{name}")
            except InvalidInput as error:
                errors.update(error.errors)
    both = sorted(set(tagging.get("add_tags", ())) & set(tagging.get("remove_tags", ())))
    if both:
        errors["actions.remove_tags"] = [f"a tag both added and removed: {both}"]
    if errors:
        raise InvalidInput(errors)
    return ReplyActions(
        type=type_ if isinstance(type_, str) else None,
        status=status,
        owner=owner,
        watchers=tuple(watchers),
        priority=priority,
        add_tags=tagging.get("add_tags", ()),
        remove_tags=tagging.get("remove_tags", ()),
    )


@define(slots=False, eq=False)
class CannedReply:
    """A ready answer: an organization's (``user_id`` None, its managers keep it) or one
    user's own. ``actions`` is :meth:`ReplyActions.as_json`'s text."""

    org_id: int
    user_id: int | None
    title: str
    body: str
    audience: Audience
    actions: str
    created_at: datetime
    updated_at: datetime
    id: int | None = field(default=None, kw_only=True)

    @property
    def personal(self) -> bool:
        return self.user_id is not None


@frozen(kw_only=True)
class ReplyUse:
    """How often a reply was used (inserted into a composer, or applied) and lately by whom."""

    reply_id: int
    title: str
    personal: bool
    uses: int
    inserted: int
    applied: int
    last_used_at: datetime | None
    last_used_by: str | None
    by_user: dict[str, int]


def check_body(body: str, compile_template: Any) -> None:
    """Compile ``body`` and render it on :data:`SAMPLE_CONTEXT`; InvalidInput names ``body``."""
    import jinja2

    try:
        compile_template(body).render(**SAMPLE_CONTEXT)
    except jinja2.TemplateSyntaxError as error:
        raise InvalidInput({"body": [f"line {error.lineno}: {error.message}"]}) from None
    except jinja2.TemplateError as error:
        raise InvalidInput({"body": [str(error.message or error)]}) from None
    except Exception as error:  # a filter given the wrong value: the writer's to fix
        raise InvalidInput({"body": [f"cannot be rendered: {error}"]}) from None


def readers_see_customer(audience: Audience, *, author_is_shipper: bool, shared: bool) -> bool:
    """Whether every reader of a reply for ``audience`` may read the case's customer's
    contact details: the shipper's staff and the customer do; the carrier's staff
    only where the shipper shares them (``shared``)."""
    if audience is Audience.INTERNAL:
        return author_is_shipper or shared
    if audience is Audience.CUSTOMER:
        return author_is_shipper
    return shared  # partners, everyone: the carrier reads it


def _day(value: Any) -> str:
    return value.isoformat()[:10] if value is not None else ""


def _first(name: str | None) -> str:
    return (name or "").split(" ", 1)[0]


def reply_context(
    audience: Audience,
    *,
    case: Mapping[str, Any],
    crm_number: str | None,
    order: Any,
    shipment: Any,
    carrier_name: str,
    customer: Any,
    customer_readable: bool,
    agent_name: str,
    organization_name: str,
) -> dict[str, Any]:
    """The variables of a reply for ``audience``: what the author reads, cut to what
    every reader of the audience may read (every variable present, empty where not)."""
    shown_customer = customer if customer_readable else None
    return {
        "case": {**case, "crm_number": (crm_number or "") if audience is Audience.INTERNAL else ""},
        "order": {
            "number": getattr(order, "number", "") or "",
            "brand": getattr(order, "brand", "") or "",
            "placed_on": _day(getattr(order, "placed_at", None)),
        },
        "shipment": {
            "reference": getattr(shipment, "reference", "") or "",
            "tracking_number": getattr(shipment, "tracking_number", "") or "",
            "carrier": carrier_name if shipment is not None or carrier_name else "",
            "promised_date": _day(getattr(shipment, "promised_date", None)),
            "estimated_date": _day(getattr(shipment, "estimated_date", None)),
        },
        "customer": {
            "name": getattr(shown_customer, "name", "") or "",
            "first_name": _first(getattr(shown_customer, "name", None)),
            "email": getattr(shown_customer, "email", "") or "",
        },
        "agent": {"name": agent_name, "first_name": _first(agent_name)},
        "organization": {"name": organization_name},
    }
