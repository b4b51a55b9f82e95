"""The unsubscribe pages: a notification's link, one click (RFC 8058) or a page.

Every notification carries ``List-Unsubscribe: <https://host/unsubscribe/TOKEN>``
and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (when the kit's
``unsubscribe_url`` is set, which :func:`fill_unsubscribe_url` does from the
app's config or the first request's host), and a link to the same URL in
its text.

- ``POST /unsubscribe/TOKEN`` with ``List-Unsubscribe=One-Click`` is the mail
  client's one click: it unsubscribes at once. It carries the token, not a
  session, so it is the one route here that is exempt from CSRF.
- ``GET /unsubscribe/TOKEN`` never changes anything (mail scanners open
  links): it shows the case number, the recipient's own address and buttons
  to unsubscribe, to leave every case of the shipper, or to subscribe again.
- ``POST /unsubscribe/TOKEN/change`` is that page's form, CSRF-protected like
  casekit's other forms.

A malformed or forged token is a 400 page, a case or recipient that is gone a
404 page; the token is the only authority and no session is needed.
"""

from __future__ import annotations

import logging

import attrs
from flask import Blueprint, Flask, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import CaseKit
from casekit.mail.tokens import InvalidReplyToken
from casekit.services.unsubscribe import SubscriptionState
from casekit_flask.extension import current_kit, error_page, register_error_handlers, state

log = logging.getLogger(__name__)

unsubscribe = Blueprint("casekit_unsubscribe", __name__)
# The page's form carries a CSRF token; a mail client's one-click unsubscribe
# (RFC 8058) carries the signed token in its URL, and no session.
register_error_handlers(unsubscribe, csrf_except={"casekit_unsubscribe.one_click"})

#: The longest token worth verifying (a token is at most 57 characters).
MAX_TOKEN = 100


@unsubscribe.errorhandler(InvalidReplyToken)
def _bad_token(error: InvalidReplyToken) -> ResponseReturnValue:
    return error_page(
        400,
        "This link does not work",
        "The unsubscribe link is incomplete or was changed. Open it from the email again, "
        "or copy the whole link.",
    )


def _token(token: str) -> str:
    if len(token) > MAX_TOKEN:
        raise InvalidReplyToken("the token is too long")
    return token


def _page(state: SubscriptionState, token: str, *, done: str = "") -> ResponseReturnValue:
    return render_template("casekit/unsubscribe/page.html", state=state, token=token, done=done)


@unsubscribe.get("/<token>")
def page(token: str) -> ResponseReturnValue:
    """The recipient's choices for the case; changes nothing."""
    return _page(current_kit().unsubscribe.state(_token(token)), token)


@unsubscribe.post("/<token>")
def one_click(token: str) -> ResponseReturnValue:
    """RFC 8058's one-click unsubscribe, posted by the recipient's mail client."""
    state = current_kit().unsubscribe.unsubscribe(_token(token))
    return _page(state, token, done="unsubscribed")


@unsubscribe.post("/<token>/change")
def change(token: str) -> ResponseReturnValue:
    """The page's form: ``action`` is ``unsubscribe``, ``unsubscribe_all`` or ``resubscribe``."""
    service = current_kit().unsubscribe
    action = request.form.get("action", "")
    if action == "unsubscribe":
        state = service.unsubscribe(_token(token))
    elif action == "unsubscribe_all":
        state = service.unsubscribe(_token(token), all_cases=True)
    elif action == "resubscribe":
        state = service.resubscribe(_token(token))
    else:
        return error_page(
            400,
            "Please check your input",
            "action: one of unsubscribe, unsubscribe_all, resubscribe",
        )
    return _page(state, token, done=action)


def fill_unsubscribe_url(app: Flask) -> None:
    """Give the kit's ``unsubscribe_url`` a value when the host set none.

    The kit's own setting (``CASEKIT_UNSUBSCRIBE_URL``, read like every core
    setting) wins; else ``CASEKIT_BASE_URL`` and the blueprint's prefix make
    it; else, with ``SERVER_NAME`` set, the URL is built from it; else the
    first request's host fills it in (a worker in another process then needs
    the setting: see docs/flask.rst).
    """
    kit = app.extensions["casekit"].kit
    if kit.settings.unsubscribe_url:
        return
    base = app.config.get("CASEKIT_BASE_URL")
    if base:
        prefix = app.config["CASEKIT_UNSUBSCRIBE_URL_PREFIX"].strip("/")
        _set(kit, f"{base.rstrip('/')}/{prefix}/{{token}}")
        return
    if app.config.get("SERVER_NAME"):
        with app.app_context():
            _set(kit, _url(external=True))
        return

    def from_request() -> None:
        found = state().kit
        if not found.settings.unsubscribe_url and request.host:
            _set(found, _url(external=True))

    app.before_request(from_request)


def _url(*, external: bool) -> str:
    marker = "TOKEN-PLACEHOLDER"
    built = url_for("casekit_unsubscribe.page", token=marker, _external=external)
    return built.replace(marker, "{token}")


def _set(kit: CaseKit, url: str) -> None:
    kit.settings = attrs.evolve(kit.settings, unsubscribe_url=url)
    log.info("notifications link to %s to unsubscribe", url)
