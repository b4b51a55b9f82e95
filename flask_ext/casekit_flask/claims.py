"""Freight claims on the case page (docs/claims.rst): the claims panel and its forms.

One form route takes every step (``do``), each only for the side and the
status that may take it (the service checks again): the shipper drafts a
claim (``draft``; its *Add a line* button, ``add_line``, shows the form
again with one more line, no script needed), changes its draft (``update``), ticks documents off the
case's attachments (``documents``), files it (``file``), answers the
carrier's settlement offer (``accept_offer``, ``reject_offer``) and
withdraws it (``withdraw``); the carrier acknowledges it
(``acknowledge``), pays it in full or in part (``pay``), makes a firm
settlement offer (``offer``) or declines it (``decline``). A refused step
shows the case page again with the field it names (a 400).
"""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, CaseView, InvalidInput, labels
from casekit.domain.claims import CLAIM_TYPES, MAX_LINES, DocumentKind
from casekit_flask.extension import current_kit
from casekit_flask.staff import _messages, _render_case, require_staff, staff

#: How many line rows the draft form offers at first; "Add a line" offers one more.
LINE_ROWS = 3
STEPS = (
    "draft",
    "update",
    "documents",
    "file",
    "acknowledge",
    "pay",
    "offer",
    "decline",
    "accept_offer",
    "reject_offer",
    "withdraw",
)
_DONE = {
    "draft": "Claim drafted.",
    "update": "Claim draft changed.",
    "documents": "Claim documents saved.",
    "file": "Claim filed with the carrier.",
    "acknowledge": "Claim acknowledged.",
    "pay": "Payment recorded.",
    "offer": "Settlement offer sent.",
    "decline": "Claim declined.",
    "accept_offer": "Settlement offer accepted.",
    "reject_offer": "Settlement offer rejected.",
    "withdraw": "Claim withdrawn.",
}
_LINE_ERROR = re.compile(r"^lines\.(\d+)(\..*)?$")


def case_form(actor: Actor, case: CaseView) -> dict[str, Any]:
    """What the claims panel shows the actor: the case's claims it reads, each claim's
    documents as (kind's label, names ticked off), the attachments both sides read
    (a claim's documents), and whether the actor may draft a claim now."""
    if not actor.is_staff:
        return {
            "claims": [],
            "claim_documents": {},
            "claim_attachments": [],
            "claim_kinds": [],
            "may_draft": False,
            "rows_for": _rows_for,
        }
    kit = current_kit()
    found = kit.claims.list(actor, case.number)
    names: dict[int, str] = {}
    shared: list[tuple[int, str]] = []
    for entry in kit.cases.timeline(actor, case.number):
        for attachment in entry.attachments:
            names[attachment.id] = attachment.filename
            if entry.audience.reaches_carrier or entry.shared_at is not None:
                shared.append((attachment.id, attachment.filename))
    documents = {
        claim.id: [
            (
                labels.label("claim_document", kind.value),
                ", ".join(names.get(i, f"attachment {i}") for i in claim.documents.get(kind, ())),
            )
            for kind in DocumentKind
        ]
        for claim in found
    }
    shipper = actor.org_id == case.shipper_org_id
    return {
        "rows_for": _rows_for,
        "claims": found,
        "claim_documents": documents,
        "claim_attachments": shared if shipper else [],
        "claim_kinds": [(k.value, labels.label("claim_document", k.value)) for k in DocumentKind],
        "may_draft": shipper
        and case.type in CLAIM_TYPES
        and not any(claim.status.is_open for claim in found),
    }


def line_rows(form: Any) -> int:
    """How many line rows the draft form shows: the rows posted (one more after "Add a
    line"), at least :data:`LINE_ROWS`, at most the lines a claim may hold."""
    raw = str(form.get("line_rows", "") or "")
    rows = int(raw) if raw.isdigit() and len(raw) <= 3 else LINE_ROWS
    if form.get("add_line"):
        rows += 1
    return max(LINE_ROWS, min(rows, MAX_LINES))


def _rows_for(claim_id: int | None, lines: int) -> int:
    """How many line rows the form of the draft ``claim_id`` (None: a new claim) with
    ``lines`` lines shows: as posted when it is the form that came back, else its
    lines and one empty row more."""
    form = request.form
    posted = request.endpoint == "casekit_staff.case_claims" and form.get("do") in (
        "draft",
        "update",
    )
    if posted and form.get("claim_id", "") == ("" if claim_id is None else str(claim_id)):
        return line_rows(form)
    return max(LINE_ROWS, min(lines + 1, MAX_LINES))


def _lines(form: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled line rows (``line-N-description``, ``-quantity``, ``-amount``) and
    the row each came from, for naming a bad field by its row on the page."""
    lines: list[dict[str, Any]] = []
    rows: list[int] = []
    for row in range(line_rows({"line_rows": form.get("line_rows", "")})):
        description = form.get(f"line-{row}-description", "").strip()
        quantity = form.get(f"line-{row}-quantity", "").strip()
        amount = form.get(f"line-{row}-amount", "").strip()
        if not (description or quantity or amount):
            continue
        line: dict[str, Any] = {"description": description, "amount": amount}
        if quantity:
            whole = quantity.isdigit() and len(quantity) < 9
            line["quantity"] = int(quantity) if whole else quantity
        lines.append(line)
        rows.append(row)
    return lines, rows


def _rows_named(error: InvalidInput, rows: list[int]) -> InvalidInput:
    """``error`` with each ``lines.I...`` field renamed for the form's row of line I."""
    errors: dict[str, list[str]] = {}
    for name, messages in error.errors.items():
        match = _LINE_ERROR.match(name)
        if match and int(match.group(1)) < len(rows):
            name = f"lines.{rows[int(match.group(1))]}{match.group(2) or ''}"
        errors.setdefault(name, []).extend(str(m) for m in messages)
    return InvalidInput(errors)


def _documents(form: Any) -> dict[str, list[int]]:
    """The ticked attachments, ``doc-<kind>`` (each an attachment's id)."""
    found: dict[str, list[int]] = {}
    for kind in DocumentKind:
        ids = [v for v in form.getlist(f"doc-{kind.value}") if v.isdigit() and len(v) <= 18]
        if len(ids) != len(form.getlist(f"doc-{kind.value}")):
            raise InvalidInput({f"documents.{kind.value}": ["choose the case's attachments"]})
        found[kind.value] = [int(v) for v in ids]
    return found


def _draft_data(form: Any) -> tuple[dict[str, Any], list[int]]:
    lines, rows = _lines(form)
    data: dict[str, Any] = {
        "lines": lines,
        "claimant": form.get("claimant", ""),
        "currency": form.get("currency", "").strip() or "USD",
        "documents": _documents(form),
        "note": form.get("note", ""),
    }
    delivered = form.get("delivered_at", "").strip()
    if delivered:
        data["delivered_at"] = delivered
    return data, rows


def _claim_id(form: Any) -> int:
    value = form.get("claim_id", "")
    if not value.isdigit() or len(value) > 10:
        raise InvalidInput({"claim_id": ["choose a claim of the case"]})
    return int(value)


@staff.post("/<number>/claims")
def case_claims(number: str) -> ResponseReturnValue:
    """Take one step of a freight claim on the case."""
    actor = require_staff()
    form = request.form
    claims = current_kit().claims
    step = form.get("do", "")
    rows: list[int] = []
    try:
        if step not in STEPS:
            raise InvalidInput({"do": ["one of " + ", ".join(STEPS)]})
        if step in ("draft", "update") and form.get("add_line"):
            # The same form again, one line more, as typed (nothing is saved).
            return _render_case(actor, number, form=form)
        if step == "draft":
            data, rows = _draft_data(form)
            claims.draft(actor, number, data)
        elif step == "update":
            data, rows = _draft_data(form)
            claims.update(actor, number, _claim_id(form), data)
        elif step == "documents":
            claims.update(actor, number, _claim_id(form), {"documents": _documents(form)})
        elif step == "file":
            claims.file(actor, number, _claim_id(form))
        elif step == "acknowledge":
            claims.acknowledge(actor, number, _claim_id(form), reference=form.get("reference", ""))
        elif step == "pay":
            claims.pay(
                actor, number, _claim_id(form), amount_paid=form.get("amount_paid", "").strip(),
                reason=form.get("reason", ""), reference=form.get("reference", ""),
            )  # fmt: skip
        elif step == "offer":
            claims.offer(
                actor, number, _claim_id(form),
                amount_offered=form.get("amount_offered", "").strip(),
                reason=form.get("reason", ""), reference=form.get("reference", ""),
            )  # fmt: skip
        elif step == "decline":
            claims.decline(
                actor, number, _claim_id(form), reason=form.get("reason", ""),
                reference=form.get("reference", ""),
            )  # fmt: skip
        elif step == "accept_offer":
            claims.accept_offer(actor, number, _claim_id(form))
        elif step == "reject_offer":
            claims.reject_offer(actor, number, _claim_id(form), reason=form.get("reason", ""))
        else:
            claims.withdraw(actor, number, _claim_id(form), reason=form.get("reason", ""))
    except InvalidInput as error:
        named = _rows_named(error, rows) if rows else error
        return _render_case(actor, number, errors=_messages(named), form=form)
    flash(_DONE[step])
    return redirect(url_for(".case_page", number=number) + "#claims-title")
