"""The Case Management page's forms: the column chooser and the bulk actions.

Routes of the staff blueprint. A bulk action changes each chosen case
through the same kit service as the case page does one at a time (the same
access checks, the same timeline events), so a case the user may not change
is refused on its own and the others go on; each refusal is told in plain
words. A case changed by someone else since the list was read (its version)
is left as it is and told, the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from casekit import Actor, Conflict, InvalidInput, NotFound, PermissionDenied
from casekit.domain.tags import Priority
from casekit.domain.workflow import Status
from casekit_flask.extension import current_kit, state
from casekit_flask.staff import (
    CARRIER_STATUSES,
    MANUAL_STATUSES,
    _messages,
    _organization,
    _render_list,
    require_staff,
    staff,
)

logger = logging.getLogger(__name__)

#: What a bulk action can do to each chosen case.
BULK_ACTIONS = {
    "owner": "Set owner",
    "status": "Set status",
    "watch": "Add watcher",
    "unwatch": "Remove watcher",
    "solve": "Solve",
    "reply": "Apply canned reply",
    "priority": "Set priority",
    "tag": "Add tag",
    "untag": "Remove tag",
}
#: At most this many cases per bulk action (a page holds at most 500 rows).
MAX_BULK = 500
#: The message after a bulk action names at most this many of the cases it changed.
SHOWN = 10


def _back() -> tuple[MultiDict[str, str], int | None]:
    """The list the form was sent from: its arguments (from the form's ``back``)."""
    back = request.form.get("back", "")[:4000]
    args: MultiDict[str, str] = MultiDict(parse_qsl(back, keep_blank_values=True))
    raw = args.get("saved", "")
    return args, int(raw) if raw.isdigit() else None


def _to_list(args: MultiDict[str, str]) -> ResponseReturnValue:
    query = urlencode(list(args.items(multi=True)))
    return redirect(url_for(".case_list") + (f"?{query}" if query else ""))


def _refused(actor: Actor, errors: dict[str, list[str]]) -> ResponseReturnValue:
    """The list again, with what was wrong with the form (400)."""
    args, saved = _back()
    if saved is not None:
        from casekit.schemas.views import dump_query
        from casekit_flask import listing

        args = listing.args_from_query(dump_query(current_kit().views.query_of(actor, saved)))
    return _render_list(actor, args, saved, errors)


# -- the column chooser ---------------------------------------------------------------------
@staff.post("/columns")
def set_columns() -> ResponseReturnValue:
    """Keep the user's columns for the built-in views, or for the saved view of ``saved``."""
    actor = require_staff()
    args, saved = _back()
    columns = None if request.form.get("reset") else request.form.getlist("column")
    try:
        current_kit().views.set_columns(actor, columns, saved=saved)
    except InvalidInput as error:
        return _refused(actor, _messages(error))
    flash("Columns saved." if columns is not None else "Columns set back to the default.")
    return _to_list(args)


# -- bulk actions ---------------------------------------------------------------------------
@staff.post("/bulk")
def bulk() -> ResponseReturnValue:
    """Set owner, status or priority, add or remove a watcher or a tag, solve or apply a
    canned reply to each chosen case, one by one."""
    actor = require_staff()
    errors: dict[str, list[str]] = {}
    chosen: list[tuple[str, int | None]] = []
    for raw in request.form.getlist("case"):
        number, _, seen = raw.strip().partition(":")
        if not number or (seen and not seen.isdigit()):
            errors["case"] = [f"not a case of the list: {raw[:40]!r}"]
            break
        chosen.append((number, int(seen) if seen else None))
    if not chosen and "case" not in errors:
        errors["case"] = ["choose at least one case"]
    if len(chosen) > MAX_BULK:
        errors["case"] = [f"at most {MAX_BULK} cases at a time"]
    # One choice holds the action and its value: "owner:12", "status:waiting", "solve".
    action, _, value = request.form.get("action", "").strip().partition(":")
    change: Callable[[str, int | None], object] | None = None
    if action not in BULK_ACTIONS:
        errors["action"] = [f"choose one of: {', '.join(BULK_ACTIONS.values()).lower()}"]
    else:
        change = _change(actor, action, value, errors)
    if errors or change is None:
        return _refused(actor, errors)
    done: list[str] = []
    refusals: list[str] = []
    for number, read_at in chosen:
        try:
            change(number, read_at)
        except Conflict:
            refusals.append(
                f"{number}: someone else changed it after the list was loaded, so it was "
                "left as it is. Open it to see what changed."
            )
        except NotFound:
            refusals.append(f"{number}: no such case among yours.")
        except PermissionDenied as error:
            refusals.append(f"{number}: you may not do this ({error}).")
        except InvalidInput as error:
            words = "; ".join(m for messages in _messages(error).values() for m in messages)
            refusals.append(f"{number}: not changed ({words}).")
        else:
            done.append(number)
    if refusals:
        logger.info("bulk %s by %s: %d refused", action, actor, len(refusals))
    state().counts.forget(actor)
    verb = BULK_ACTIONS[action].lower()
    if done:
        named = ", ".join(done[:SHOWN]) + (
            f" and {len(done) - SHOWN:,} more" if len(done) > SHOWN else ""
        )
        flash(f"{verb.capitalize()}: done on {_cases(len(done))} ({named}).")
    if refusals:
        flash(f"{verb.capitalize()}: not done on {_cases(len(refusals))}.")
        for refusal in refusals:
            flash(refusal)
    args, _saved = _back()
    return _to_list(args)


def _cases(count: int) -> str:
    return f"{count:,} case" + ("" if count == 1 else "s")


def _change(
    actor: Actor, action: str, value: str, errors: dict[str, list[str]]
) -> Callable[[str, int | None], object] | None:
    """What ``action`` does to one case (its number and version), or None with ``errors``."""
    cases = current_kit().cases
    if action == "reply":
        if not (value.isdigit() and len(value) < 10):
            errors["action"] = ["choose a canned reply"]
            return None
        reply_id, replies = int(value), current_kit().canned_replies
        try:
            replies.get(actor, reply_id)
        except NotFound:
            errors["action"] = ["no such canned reply among yours"]
            return None
        # Posting and its actions, each case in one step, at the version the list showed.
        return lambda number, version: replies.apply(
            actor, number=number, reply_id=reply_id, expected_version=version
        )
    if action == "solve":
        return lambda number, version: cases.solve(actor, number, expected_version=version)
    if action == "status":
        side = _organization(actor).role.value
        allowed = MANUAL_STATUSES if side == "shipper" else CARRIER_STATUSES
        if value not in {s.value for s in allowed}:
            errors["action"] = ["choose a status"]
            return None
        status = Status(value)
        return lambda number, version: cases.change(
            actor, number, {"status": status.value}, expected_version=version
        )
    if action == "priority":
        if value not in {p.value for p in Priority}:
            errors["action"] = ["choose a priority"]
            return None
        return lambda number, version: cases.change(
            actor, number, {"priority": value}, expected_version=version
        )
    if action in ("tag", "untag"):
        if not value.isdigit():
            errors["action"] = ["choose the tag"]
            return None
        key = "add_tags" if action == "tag" else "remove_tags"
        tag_id = int(value)
        # A tag takes nothing away another tab could have read: no version to check.
        return lambda number, _version: cases.change(actor, number, {key: [tag_id]})
    if action == "owner":
        if value == "me":
            return lambda number, version: cases.take(actor, number, expected_version=version)
        if value == "none":
            return lambda number, version: cases.set_owner(
                actor, number, None, expected_version=version
            )
        if not value.isdigit():
            errors["action"] = ["choose the new owner"]
            return None
        user_id = int(value)
        return lambda number, version: cases.set_owner(
            actor, number, user_id, expected_version=version
        )
    if value != "me" and not value.isdigit():
        errors["action"] = ["choose the watcher"]
        return None
    watcher = None if value == "me" else int(value)
    if action == "unwatch":
        return lambda number, version: cases.unwatch(
            actor, number, watcher, expected_version=version
        )
    # Adding a watcher takes nothing away another tab could have read: no version to check.
    return lambda number, _version: cases.watch(actor, number, watcher)
