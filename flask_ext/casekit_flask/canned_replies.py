"""Canned replies on the pages: the settings page that keeps them (with their usage
figures), and inserting or applying one from the case page's composer. Routes of
the staff blueprint; the list's bulk action is in ``list_actions``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from casekit import Actor, Audience, InvalidInput, OrgRole, PermissionDenied, Priority
from casekit.domain.canned_replies import VARIABLES
from casekit_flask.extension import current_kit, sentence
from casekit_flask.rendering import composer_label
from casekit_flask.staff import (
    CARRIER_STATUSES,
    MANUAL_STATUSES,
    _audiences,
    _messages,
    _organization,
    _render_case,
    require_staff,
    staff,
)


def _actions(form: Any) -> dict[str, Any]:
    """The actions of a reply's form: each left alone when its field is empty."""
    actions: dict[str, Any] = {}
    for name in ("type", "status"):
        value = form.get(f"action_{name}", "").strip()
        if value:
            actions[name] = value
    owner = form.get("action_owner", "").strip()
    if owner:
        actions["owner"] = int(owner) if owner.isdigit() and len(owner) < 10 else owner
    watchers = [w.strip() for w in form.getlist("action_watchers") if w.strip()]
    if watchers:
        actions["watchers"] = [int(w) if w.isdigit() and len(w) < 10 else w for w in watchers]
    priority = form.get("action_priority", "").strip()
    if priority:
        actions["priority"] = priority
    for name in ("add_tags", "remove_tags"):
        ids = [v.strip() for v in form.getlist(f"action_{name}") if v.strip()]
        if ids:
            actions[name] = [int(v) if v.isdigit() and len(v) < 10 else v for v in ids]
    return actions


def _fields(form: Any) -> dict[str, Any]:
    return {
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "audience": form.get("audience", ""),
        "actions": _actions(form),
    }


def _form_of(reply: Any) -> MultiDict[str, str]:
    """A saved reply as its form's fields."""
    actions = reply.actions
    fields: list[tuple[str, str]] = [
        ("title", reply.title),
        ("body", reply.body),
        ("audience", reply.audience.value),
        ("action_type", actions.type or ""),
        ("action_status", actions.status.value if actions.status else ""),
        (
            "action_owner",
            "" if actions.owner is None else str(getattr(actions.owner, "value", actions.owner)),
        ),
    ]
    fields += [("action_watchers", str(getattr(w, "value", w))) for w in actions.watchers]
    fields.append(("action_priority", actions.priority.value if actions.priority else ""))
    fields += [("action_add_tags", str(i)) for i in actions.add_tags]
    fields += [("action_remove_tags", str(i)) for i in actions.remove_tags]
    return MultiDict(fields)


def _page(
    actor: Actor,
    template: str,
    *,
    form: Any,
    errors: dict[str, list[str]],
    **extra: Any,
) -> ResponseReturnValue:
    kit = current_kit()
    organization = _organization(actor)
    shipper = organization.role is OrgRole.SHIPPER
    return render_template(
        f"casekit/staff/{template}",
        actor=actor,
        organization=organization,
        form=form,
        errors=errors,
        audiences=_audiences(organization.role.value),
        side=organization.role.value,
        statuses=MANUAL_STATUSES if shipper else CARRIER_STATUSES,
        case_types=kit.case_types,
        colleagues=kit.directory.users(actor),
        priorities=list(Priority),
        reply_tags=kit.tags.list(actor, archived=True),
        variables=VARIABLES,
        **extra,
    ), (400 if errors else 200)


@staff.route("/settings/canned-replies", methods=["GET", "POST"])
def canned_replies() -> ResponseReturnValue:
    """The replies the user may use, how often each was used, and a form for a new one:
    a manager's is the organization's unless they keep it for themselves."""
    actor = require_staff()
    kit = current_kit()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        personal = not actor.is_manager or request.form.get("personal") == "on"
        try:
            reply = kit.canned_replies.save(actor, personal=personal, **_fields(request.form))
        except InvalidInput as error:
            errors = _messages(error)
        else:
            flash(f"Saved the canned reply “{reply.title}”.")
            return redirect(url_for(".canned_replies"))
    replies = kit.canned_replies.list(actor)
    return _page(
        actor,
        "canned_replies.html",
        form=request.form,
        errors=errors,
        replies=replies,
        usage={use.reply_id: use for use in kit.canned_replies.usage(actor)},
    )


@staff.route("/settings/canned-replies/<int:reply_id>", methods=["GET", "POST"])
def canned_reply(reply_id: int) -> ResponseReturnValue:
    """One reply: change or remove it (the organization's: its managers)."""
    actor = require_staff()
    kit = current_kit()
    reply = kit.canned_replies.get(actor, reply_id)
    errors: dict[str, list[str]] = {}
    form: Any = _form_of(reply)
    if request.method == "POST":
        if request.form.get("action") == "remove":
            kit.canned_replies.remove(actor, reply_id)
            flash(f"Removed the canned reply “{reply.title}”.")
            return redirect(url_for(".canned_replies"))
        form = request.form
        try:
            kit.canned_replies.save(actor, reply_id, **_fields(form))
        except InvalidInput as error:
            errors = _messages(error)
        else:
            flash(f"Saved the canned reply “{form.get('title', '').strip()}”.")
            return redirect(url_for(".canned_replies"))
    return _page(
        actor,
        "canned_reply.html",
        form=form,
        errors=errors,
        reply=reply,
        may_change=reply.personal or actor.is_manager,
    )


@staff.post("/<number>/canned-replies")
def use_canned_reply(number: str) -> ResponseReturnValue:
    """The composer's canned reply: ``insert`` it into the message (the case page again,
    the reply after what was typed, its audience chosen), or ``apply`` it: post it, or
    what was typed, and run its actions."""
    actor = require_staff()
    kit = current_kit()
    raw = request.form.get("canned_reply", "").strip()
    if not (raw.isdigit() and len(raw) < 10):
        errors = {"canned_reply": ["choose a canned reply"]}
        return _render_case(actor, number, errors=errors, form=request.form)
    reply_id = int(raw)
    typed = request.form.get("body", "").strip()
    try:
        if request.form.get("canned_action") == "apply":
            done = kit.canned_replies.apply(
                actor,
                reply_id,
                number,
                body=typed or None,
                audience=(request.form.get("audience") or None) if typed else None,
            )
            flash("Posted, and the reply's actions done.")
            return redirect(url_for(".case_page", number=number) + f"#entry-{done.entry.id}")
        audience, note = _insert_audience(actor, reply_id, number)
        rendered = kit.canned_replies.render(actor, reply_id, number, audience=audience)
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    except PermissionDenied as error:
        errors = {"canned_reply": [sentence(str(error))]}
        return _render_case(actor, number, errors=errors, form=request.form)
    form = MultiDict(request.form)
    form["body"] = f"{typed}\n\n{rendered.body}" if typed else rendered.body
    form["audience"] = rendered.audience.value
    flash(f"Inserted “{rendered.title}”: edit it if you like, then post it.{note}")
    return _render_case(actor, number, form=form)


def _insert_audience(actor: Actor, reply_id: int, number: str) -> tuple[Audience, str]:
    """Whom an inserted reply is written for: its audience where the case has it, else
    the audience chosen in the composer (or the case's default), rendered for that one,
    and a word saying so."""
    kit = current_kit()
    reply = kit.canned_replies.get(actor, reply_id)
    allowed = kit.cases.allowed(actor, number)
    if reply.audience in allowed.audiences:
        return reply.audience, ""
    chosen = request.form.get("audience", "")
    open_here = {a.value: a for a in allowed.audiences}
    audience = open_here.get(chosen) or allowed.default_audience or allowed.audiences[0]
    side = "shipper" if actor.org_id == kit.cases.get(actor, number).shipper_org_id else "carrier"
    return audience, (
        f" It is for {composer_label(reply.audience, side).lower()}, which this case has not:"
        f" written for {composer_label(audience, side).lower()} here."
    )
