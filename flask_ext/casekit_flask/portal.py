"""The customer portal (My Account): feedback on an order, the customer's cases, replies."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, InvalidInput, NotFound
from casekit_flask import rendering
from casekit_flask.extension import current_kit, register_error_handlers, require_actor, state
from casekit_flask.files import send_attachment

portal = Blueprint(
    "casekit_portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/casekit-static",
)
register_error_handlers(portal)
portal.record_once(lambda setup: rendering.install(setup.app))


def require_customer() -> Actor:
    actor = require_actor()
    if not actor.is_customer:
        abort(404)
    return actor


def _limited(actor: Actor) -> None:
    if not state().portal_limiter.hit(actor.customer_id):
        abort(429)


@portal.get("/")
def my_cases() -> ResponseReturnValue:
    actor = require_customer()
    kit = current_kit()
    page = kit.views.list(
        actor,
        {"view": "all_cases"},
        limit=state().page_size,
        cursor=request.args.get("cursor") or None,
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
    form = request.form if request.method == "POST" else request.args
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        _limited(actor)
        try:
            case = kit.cases.open(
                actor,
                order=(form.get("order") or "").strip() or None,
                subject=form.get("subject", ""),
                message=form.get("message", "").strip(),
            )
        except InvalidInput as error:
            errors = {k: [str(m) for m in v] for k, v in error.errors.items()}
        except NotFound as error:
            if error.kind != "order":
                raise
            errors = {"order": ["not one of your orders"]}
        else:
            flash("Thank you: your message was sent.")
            return redirect(url_for(".case_page", number=case.number))
    return render_template("casekit/portal/feedback.html", form=form, errors=errors), (
        400 if errors else 200
    )


@portal.get("/<number>")
def case_page(number: str) -> ResponseReturnValue:
    actor = require_customer()
    g.casekit_live = current_kit().live.state(actor, number)  # what live updates start from
    return _render(actor, number)


def _render(
    actor: Actor, number: str, errors: dict[str, list[str]] | None = None, form: object = None
) -> ResponseReturnValue:
    kit = current_kit()
    case = kit.cases.get(actor, number)
    facts = kit.cases.facts(actor, number)
    timeline = [entry for entry in kit.cases.timeline(actor, number) if entry.kind == "message"]
    return render_template(
        "casekit/portal/case.html",
        case=case,
        facts=facts,
        timeline=timeline,
        errors=errors or {},
        form=form or {},
    ), (400 if errors else 200)


@portal.post("/<number>/reply")
def reply(number: str) -> ResponseReturnValue:
    actor = require_customer()
    current_kit().cases.get(actor, number)  # a stranger's case is 404 before any limit
    _limited(actor)
    try:
        current_kit().messages.post(actor, number, request.form.get("body", ""))
    except InvalidInput as error:
        return _render(
            actor, number, {k: [str(m) for m in v] for k, v in error.errors.items()}, request.form
        )
    flash("Your reply was sent.")
    return redirect(url_for(".case_page", number=number))


@portal.get("/<number>/attachments/<int:attachment_id>")
def attachment(number: str, attachment_id: int) -> ResponseReturnValue:
    actor = require_customer()
    return send_attachment(actor, number, attachment_id)
