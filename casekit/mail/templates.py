"""Notification templates: Jinja2, plain text and HTML, shipped and overridable.

Each template has three parts: ``subject`` (one line), ``text`` and
``html``. The package ships one of each per name (``casekit/mail/templates``);
an organization may override any of them, stored in the database. Every
template, shipped or edited, renders in Jinja2's
``SandboxedEnvironment`` with undefined names an error,
and sees only the variables of :data:`VARIABLES`. HTML parts escape every
value; an override may ``{% extends "_base.html" %}`` like the shipped ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from attrs import frozen
from jinja2.sandbox import SandboxedEnvironment

from casekit.domain.notify import TEMPLATE_NAMES
from casekit.mail.marker import REPLY_MARKER

__all__ = [
    "PARTS",
    "SAMPLE_CONTEXT",
    "TEMPLATE_NAMES",
    "VARIABLES",
    "RenderedMail",
    "TemplateSource",
    "Templates",
]

PARTS = ("subject", "text", "html")
_SUFFIX = {"subject": "subject", "text": "txt", "html": "html"}
MAX_PART = 100_000
MAX_COMPILED = 512

#: The variables every template sees, and what each holds.
VARIABLES: dict[str, str] = {
    "case.number": "the case number, such as CV000123",
    "case.subject": "the case's subject (may be empty)",
    "case.type": "the case type code, such as where_is_my_order",
    "case.type_label": "the case type's label, such as Where Is My Order",
    "case.status": "the status after the change: new, open, reply_received, waiting, solved",
    "case.status_label": "the status in words: New, Open, Reply received, Waiting, Solved",
    "case.status_words": "the status in the customer's words (Waiting for your reply, "
    "Resolved...) in the mail to the customer; empty in staff mail",
    "case.url": "a link to the case page the recipient can open, or empty: the staff page "
    "(the case_url setting) for staff and addresses, the customer portal's page "
    "(portal_case_url) for the customer",
    "case.shipper": "the shipper's name",
    "case.carrier": "the carrier's name, or empty",
    "case.order": "the order number, or empty",
    "case.shipment": "the shipment reference, or empty",
    "case.contact": "the customer's contact details (name, email, phone; phone may be None) "
    "in mail to the carrier's users and collaborator address on a case whose shipper shares "
    "them with the carrier; "
    "else None",
    "event": "what happened: case_opened, message_posted, owner_assigned, status_changed, "
    "case_solved, case_reopened, customer_feedback, carrier_named, clock_due_soon or "
    "clock_breached",
    "actor.name": "who made the change: a user's name, the customer's name, or the system",
    "message.body": "the message, when there is one the recipient may read (else message is None)",
    "message.audience": "internal, partners, customer or everyone",
    "message.audience_label": "the audience in words: Internal note, Shipper and carrier, "
    "Customer conversation, Everyone",
    "change.old": "the value before (a status, an owner's name), or empty",
    "change.new": "the value after, or empty",
    "change.old_label": "the value before in words (a status's label, such as Reply received)",
    "change.new_label": "the value after in words",
    "clock": "in a service-level warning (clock_due_soon, clock_breached), the clock of the "
    "recipient's side it is about; else None",
    "clock.kind": "first_response, next_response or resolution",
    "clock.kind_label": "the clock in words: First response, Next response, Resolution",
    "clock.state_label": "Due soon or Breached",
    "clock.due_at": "when it is (or was) due, in the time zone of its calendar, such as "
    "Mon 12 Jan 2026 11:55 (America/Chicago)",
    "clock.due_at_iso": "the same moment as ISO 8601 with its offset",
    "clock.time_zone": "the time zone of the clock's calendar (an IANA name)",
    "clock.target": "the name of the side's target the clock counts toward",
    "recipient.name": "the recipient's name (empty for an address)",
    "recipient.email": "the recipient's address",
    "recipient.kind": "user, address (a collaborator address), participant (an address on "
    "the thread) or customer",
    "organization.name": "the organization whose template this is (the shipper for a customer)",
    "reply_by_mail": "whether replying to the mail answers on the case",
    "reply_marker": "the line a reply is typed above, shown at the top of the mail when "
    "reply_by_mail (else empty); inbound replies are cut at any line that starts with "
    "##- and ends with -##, so an override may word it in its own language",
    "unsubscribe_url": "the recipient's page to unsubscribe from the case (the "
    "unsubscribe_url setting), or empty",
}

SAMPLE_CONTEXT: dict[str, Any] = {
    "case": {
        "number": "CV000123",
        "subject": "Pallet arrived damaged",
        "type": "osd_damaged",
        "type_label": "OS&D - Damaged",
        "status": "open",
        "status_label": "Open",
        "status_words": "",
        "url": "https://example.test/cases/CV000123",
        "shipper": "Acme Goods",
        "carrier": "Fast Freight",
        "order": "SO-1001",
        "shipment": "SHP-1",
        "contact": {"name": "Casey Customer", "email": "casey@example.test", "phone": None},
    },
    "event": "message_posted",
    "actor": {"name": "Sam Shipper"},
    "message": {
        "body": "The pallet was wrapped but the corner is crushed.",
        "audience": "partners",
        "audience_label": "Shipper and carrier",
    },
    "change": {"old": "new", "new": "open", "old_label": "New", "new_label": "Open"},
    "clock": {
        "kind": "first_response",
        "kind_label": "First response",
        "state_label": "Due soon",
        "due_at": "Mon 12 Jan 2026 11:55 (America/Chicago)",
        "due_at_iso": "2026-01-12T11:55:00-06:00",
        "time_zone": "America/Chicago",
        "target": "Damaged freight",
    },
    "recipient": {"name": "Cal Carrier", "email": "cal@fast.test", "kind": "user"},
    "organization": {"name": "Fast Freight"},
    "reply_by_mail": True,
    "reply_marker": REPLY_MARKER,
    "unsubscribe_url": "https://example.test/unsubscribe/123-u7-abcdefghijklmnop",
}


@frozen
class TemplateSource:
    """The three parts of a template, as Jinja2 source."""

    subject: str
    text: str
    html: str

    def part(self, name: str) -> str:
        value: str = getattr(self, name)
        return value


@frozen
class RenderedMail:
    """A rendered template: a one-line subject, a plain text and an HTML body."""

    subject: str
    text: str
    html: str


class Templates:
    """The shipped templates and the sandbox every template renders in."""

    def __init__(self) -> None:
        loader = jinja2.PackageLoader("casekit.mail", "templates")
        common: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "keep_trailing_newline": False,
            "trim_blocks": True,
            "lstrip_blocks": True,
        }
        self._text = SandboxedEnvironment(autoescape=False, **common)
        self._html = SandboxedEnvironment(autoescape=True, **common)
        # Compiling is the slow part of rendering: each source is compiled once.
        self._compiled: dict[tuple[bool, str], jinja2.Template] = {}

    def builtin(self, name: str) -> TemplateSource:
        """The shipped source of template ``name``."""
        if name not in TEMPLATE_NAMES:
            raise KeyError(name)
        loader = self._text.loader
        assert loader is not None
        parts = {
            part: loader.get_source(self._text, f"{name}.{_SUFFIX[part]}")[0].rstrip("\n")
            for part in PARTS
        }
        return TemplateSource(**parts)

    def _env(self, part: str) -> SandboxedEnvironment:
        return self._html if part == "html" else self._text

    def compile(self, part: str, text: str) -> jinja2.Template:
        key = (part == "html", text)
        template = self._compiled.get(key)
        if template is None:
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.clear()
            template = self._compiled[key] = self._env(part).from_string(text)
        return template

    def render(self, source: TemplateSource, context: Mapping[str, Any]) -> RenderedMail:
        """Render the three parts; raises ``jinja2.TemplateError`` on a bad template."""
        out = {}
        for part in PARTS:
            out[part] = self.compile(part, source.part(part)).render(**context)
        subject = " ".join(out["subject"].split())
        return RenderedMail(subject=subject, text=out["text"].strip() + "\n", html=out["html"])

    def check(self, source: TemplateSource) -> dict[str, list[str]]:
        """Problems with each part, found by compiling and rendering the sample context."""
        errors: dict[str, list[str]] = {}
        for part in PARTS:
            text = source.part(part)
            if len(text) > MAX_PART:
                errors[part] = [f"at most {MAX_PART} characters"]
                continue
            if part != "html" and not text.strip():
                errors[part] = ["required"]
                continue
            try:
                self._env(part).from_string(text).render(**SAMPLE_CONTEXT)
            except jinja2.TemplateSyntaxError as error:
                errors[part] = [f"line {error.lineno}: {error.message}"]
            except jinja2.TemplateError as error:
                errors[part] = [str(error.message or error)]
        return errors
