"""Live updates on the pages: the poll endpoint, who is writing, the list's unread marks.

An open case page (staff or portal) runs ``casekit/live.js``, which asks
``<number>/live`` every ``CASEKIT_LIVE_POLL_SECONDS`` while the tab is
visible. The answer is the actor's :class:`~casekit.query.live.LiveState`:
when its signal moves, the script reads the case page again and inserts the
entries it does not show yet (rendered by the page's own template), and tells
a person writing in the composer. Everything is in the database, so any web
process answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, abort, jsonify, request
from flask.typing import ResponseReturnValue

from casekit import InvalidInput
from casekit.query.live import LiveState
from casekit_flask.extension import current_actor, current_kit
from casekit_flask.portal import portal, require_customer
from casekit_flask.staff import require_staff, staff


def _answer(found: LiveState, *, staff_side: bool) -> Response:
    body: dict[str, Any] = {
        "number": found.number,
        "signal": found.signal,
        "latest_entry_id": found.latest_entry_id,
        "entries": found.entries,
    }
    if staff_side:
        body["unread"] = found.unread
        body["writing"] = list(found.writing)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@staff.get("/<number>/live")
def live_state(number: str) -> ResponseReturnValue:
    """The case's live state as the user may know it (JSON): its signal, the newest
    entry they may read, whether they have unread entries, and which colleagues write."""
    actor = require_staff()
    return _answer(current_kit().live.state(actor, number), staff_side=True)


@staff.post("/<number>/writing")
def writing(number: str) -> ResponseReturnValue:
    """Say the user writes on the case now (``active=1``) or no longer (``active=0``)."""
    actor = require_staff()
    raw = request.form.get("active", "1")
    if raw not in ("0", "1"):
        raise InvalidInput({"active": ["1 (writing) or 0 (no longer)"]})
    current_kit().live.writing(actor, number, active=raw == "1")
    return Response(status=204)


@portal.get("/<number>/live", endpoint="live_state")
def portal_live_state(number: str) -> ResponseReturnValue:
    """The customer's case's live state (JSON): its signal and the newest entry they read."""
    actor = require_customer()
    return _answer(current_kit().live.state(actor, number), staff_side=False)


def unread_ids(rows: Iterable[Any]) -> frozenset[int]:
    """The ids of ``rows`` (the list's) with entries the current user has not read."""
    actor = current_actor()
    if actor is None:
        abort(401)
    ids = [row.id for row in rows]
    return frozenset(current_kit().live.unread(actor, ids))


def install(setup: Any) -> None:
    setup.app.jinja_env.globals.setdefault("casekit_unread", unread_ids)


staff.record_once(install)
