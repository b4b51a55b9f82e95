"""The customer portal (My Account): feedback on an order, the customer's cases, replies.

Written for customers: statuses in their words (:mod:`casekit.domain.portal`),
each case titled by its order and first message, their orders to pick from
(:meth:`casekit.services.portal.PortalService.orders`), photos on feedback and
replies.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, CaseMerged, InvalidInput, NotFound
from casekit.domain.portal import customer_status, portal_title
from casekit.services.messages import MAX_ATTACHMENTS
from casekit_flask import rendering
from casekit_flask.extension import current_kit, register_error_handlers, require_actor, state
from casekit_flask.files import send_attachment, uploads

portal = Blueprint(
    "casekit_portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/casekit-static",
)
register_error_handlers(portal)
portal.record_once(lambda setup: rendering.install(setup.app))

#: The portal's list shows at most this many cases a page.
PAGE_SIZE = 25


@portal.app_template_filter("casekit_customer_status")
def _customer_status(status: object) -> str:
    return customer_status(str(status)).label


def require_customer() -> Actor:
    actor = require_actor()
    if not actor.is_customer:
        abort(404)
    return actor


def _limited(actor: Actor) -> None:
    if not state().portal_limiter.hit(actor.customer_id):
        abort(429)


def _errors(error: InvalidInput) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in error.errors.items()}


@portal.get("/")
def my_cases() -> ResponseReturnValue:
    actor = require_customer()
    kit = current_kit()
    before = request.args.get("before") or None
    if before is not None and not before.isdigit():
        raise InvalidInput({"before": ["a case's place in the list (digits)"]})
    page = kit.portal.cases(
        actor,
        limit=min(state().page_size, PAGE_SIZE),
        before=int(before) if before is not None else None,
    )
    return render_template(
        "casekit/portal/list.html",
        page=page,
        portal_open=kit.directory.feedback_portal(actor),
    )


@portal.route("/feedback", methods=["GET", "POST"])
def feedback() -> ResponseReturnValue:
    actor = require_customer()
    kit = current_kit()
    if not kit.directory.feedback_portal(actor):
        abort(404)
    posted = request.method == "POST"
    if posted:
        _limited(actor)
    form = request.form if posted else request.args
    orders = kit.portal.orders(actor)
    chosen = (form.get("order") or "").strip()
    errors: dict[str, list[str]] = {}
    if orders and chosen and chosen not in {order.number for order in orders}:
        errors["order"] = ["not one of your orders"]
    if posted and not errors:
        try:
            case = kit.cases.open(
                actor,
                order=chosen or None,
                subject=form.get("subject", ""),
                message=form.get("message", "").strip(),
                attachments=uploads(),
            )
        except InvalidInput as error:
            errors = _errors(error)
        except NotFound as error:
            if error.kind != "order":
                raise
            errors = {"order": ["not one of your orders"]}
        else:
            flash("Thank you: your message was sent.")
            return redirect(url_for(".case_page", number=case.number))
    return render_template(
        "casekit/portal/feedback.html",
        form=form,
        errors=errors,
        orders=orders,
        chosen=chosen,
        posted=posted,
        max_bytes=kit.settings.max_attachment_bytes,
        max_files=MAX_ATTACHMENTS,
    ), (400 if errors else 200)


@portal.get("/<number>")
def case_page(number: str) -> ResponseReturnValue:
    actor = require_customer()
    merged = current_kit().cases.get(actor, number)
    if merged.merged_into is not None:
        # A duplicate merged away: the customer reads the original, told why.
        raise CaseMerged(merged.number, merged.merged_into)
    # What live updates start from; opening the case marks it read for the customer.
    g.casekit_live = current_kit().live.open(actor, number)
    return _render(actor, number)


def _render(
    actor: Actor, number: str, errors: dict[str, list[str]] | None = None, form: object = None
) -> ResponseReturnValue:
    kit = current_kit()
    case = kit.cases.get(actor, number)
    facts = kit.cases.facts(actor, number)
    timeline = [entry for entry in kit.cases.timeline(actor, number) if entry.kind == "message"]
    order_number = facts.order.number if facts.order else None
    title = portal_title(order_number, case.subject, timeline[0].body if timeline else None)
    return render_template(
        "casekit/portal/case.html",
        case=case,
        title=title,
        words=customer_status(case.status),
        facts=facts,
        timeline=timeline,
        errors=errors or {},
        form=form or {},
        max_bytes=kit.settings.max_attachment_bytes,
        max_files=MAX_ATTACHMENTS,
    ), (400 if errors else 200)


@portal.post("/<number>/reply")
def reply(number: str) -> ResponseReturnValue:
    actor = require_customer()
    current_kit().cases.get(actor, number)  # a stranger's case is 404 before any limit
    _limited(actor)
    try:
        current_kit().messages.post(
            actor, number, request.form.get("body", ""), attachments=uploads()
        )
    except InvalidInput as error:
        return _render(actor, number, _errors(error), request.form)
    flash("Your reply was sent.")
    return redirect(url_for(".case_page", number=number))


@portal.get("/<number>/attachments/<int:attachment_id>")
def attachment(number: str, attachment_id: int) -> ResponseReturnValue:
    """A file of a message meant for the customer; ``?inline=1`` shows a photo in place."""
    actor = require_customer()
    inline = request.args.get("inline") == "1"
    return send_attachment(actor, number, attachment_id, inline=inline)
