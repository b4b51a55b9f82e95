"""casekit's own CSRF check, on casekit's blueprints only.

The host's routes stay the host's: casekit does not turn on Flask-WTF's
``CSRFProtect`` for the app. Each of casekit's page blueprints checks the
token of its own unsafe requests (:func:`check_csrf` in a ``before_request``)
with Flask-WTF's :func:`~flask_wtf.csrf.validate_csrf`, whatever the app's
``WTF_CSRF_CHECK_DEFAULT``; only ``WTF_CSRF_ENABLED = False`` (Flask-WTF's
switch for all of CSRF, e.g. in tests) turns it off. When the host has a
``CSRFProtect`` of its own, casekit's blueprints are exempt from it (casekit
checks them itself; the inbound webhook is signed instead; an API key needs
no token), whether the host set it up before or after casekit.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, request
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf  # type: ignore[import-untyped]
from wtforms import ValidationError  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Where casekit's blueprints are defined: each is exempt from the host's CSRFProtect.
PACKAGE = "casekit_flask."


def _sent_token() -> str | None:
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = request.form.get(field)
    if token:
        return token
    for header in config.get("WTF_CSRF_HEADERS", ("X-CSRFToken", "X-CSRF-Token")):
        token = request.headers.get(header)
        if token:
            return token
    return None


def _same_origin(referrer: str, host: str) -> bool:
    try:
        found, wanted = urlsplit(referrer), urlsplit(f"https://{host}/")
        return (found.scheme, found.hostname, found.port) == (
            wanted.scheme,
            wanted.hostname,
            wanted.port,
        )
    except ValueError:
        return False


def check_csrf() -> None:
    """Refuse (:class:`~flask_wtf.csrf.CSRFError`, a 400) an unsafe request
    without a valid CSRF token, as Flask-WTF's ``CSRFProtect`` would.

    The token comes from the form's ``csrf_token`` field or an
    ``X-CSRFToken`` header; over HTTPS the referrer must be this host
    (``WTF_CSRF_SSL_STRICT``).
    """
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True):
        return
    if request.method not in config.get("WTF_CSRF_METHODS", UNSAFE_METHODS):
        return
    try:
        validate_csrf(_sent_token())
    except ValidationError as error:
        logger.info("refused %s %s: %s", request.method, request.path, error.args[0])
        raise CSRFError(error.args[0]) from None
    if request.is_secure and config.get("WTF_CSRF_SSL_STRICT", True):
        if not request.referrer:
            raise CSRFError("The referrer header is missing.")
        if not _same_origin(request.referrer, request.host):
            raise CSRFError("The referrer does not match the host.")
    g.csrf_valid = True


def _token_in_templates() -> dict[str, Any]:
    return {"csrf_token": generate_csrf}


def protect_forms(blueprint: Blueprint, *, except_endpoints: Collection[str] = ()) -> None:
    """Check the CSRF token of ``blueprint``'s unsafe requests (but those of
    ``except_endpoints``, which carry a token of their own), give its templates
    ``csrf_token()``, and exempt it from the host's ``CSRFProtect``."""
    if except_endpoints:
        skipped = frozenset(except_endpoints)

        def check() -> None:
            if request.endpoint not in skipped:
                check_csrf()

        blueprint.before_request(check)
    else:
        blueprint.before_request(check_csrf)
    blueprint.context_processor(_token_in_templates)
    exempt_from_host(blueprint)


def exempt_from_host(blueprint: Blueprint) -> None:
    """Exempt ``blueprint`` from the ``CSRFProtect`` of each app it is registered
    on that has one (casekit checks its requests itself)."""

    def exempt(setup: Any) -> None:
        host = setup.app.extensions.get("csrf")
        if host is not None:
            host.exempt(blueprint)

    blueprint.record(exempt)


def leave_to_casekit(app: Flask) -> None:
    """Exempt casekit's blueprints from a ``CSRFProtect`` the host sets up after
    ``init_app`` (at the first request, before that one's check)."""
    exempted: list[object] = []

    def exempt() -> None:
        host = app.extensions.get("csrf")
        if host is None or (exempted and exempted[0] is host):
            return
        for blueprint in app.blueprints.values():
            if blueprint.import_name.startswith(PACKAGE):
                host.exempt(blueprint)
        exempted[:] = [host]

    app.before_request(exempt)
