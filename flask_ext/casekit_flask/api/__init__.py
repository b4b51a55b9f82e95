"""casekit's REST API under ``/api/v1``: resources, auth, problem errors, OpenAPI.

Every resource calls the core services with the caller's actor: the API has
no access rules of its own. A caller is an API key (``Authorization: Bearer
<token>``, checked by :meth:`kit.api_keys.authenticate
<casekit.services.apikeys.ApiKeyService.authenticate>`, its scope checked per
method) or the host's signed-in user through the extension's identity loader.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, request
from flask_smorest import Api
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped]
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from casekit import Actor, CaseMerged, Conflict, InvalidInput, NotFound, PermissionDenied
from casekit.domain.apikeys import ApiScope
from casekit.errors import InvalidApiKey
from casekit_flask.api.common import ApiBlueprint, limit_json_body, problem
from casekit_flask.csrf import check_csrf, exempt_from_host
from casekit_flask.extension import State

__all__ = ["ApiBlueprint", "init_api", "problem"]

log = logging.getLogger(__name__)

API_TITLE = "casekit"
API_VERSION = "v1"


class CaseKitApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, with errors handled on casekit's blueprints only.

    flask-smorest would register a JSON handler for every HTTP error of the
    whole app; the host's own pages keep theirs.
    """

    def _register_error_handlers(self) -> None:
        pass


def init_api(app: Flask, st: State) -> None:
    """Mount the API on ``app`` at ``CASEKIT_API_URL_PREFIX``."""
    from casekit_flask.api import (
        actions,
        canned_replies,
        case_addresses,
        cases,
        claims,
        custom_fields,
        directory,
        keys,
        network,
        reference,
        reports,
        rules,
        service_levels,
        settings,
        shipments,
        tags,
        triage,
        views,
        webhooks,
    )

    prefix = "/" + str(app.config["CASEKIT_API_URL_PREFIX"]).strip("/")
    st.api_prefix = prefix
    app.config.setdefault("CASEKIT_API_TITLE", API_TITLE)
    app.config.setdefault("CASEKIT_API_VERSION", API_VERSION)
    app.config.setdefault("CASEKIT_OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("CASEKIT_OPENAPI_URL_PREFIX", prefix)
    app.config.setdefault("CASEKIT_OPENAPI_JSON_PATH", "openapi.json")
    api = CaseKitApi(
        app,
        config_prefix="CASEKIT",
        spec_kwargs={
            "info": {
                "description": "casekit's REST API. Authenticate with "
                "`Authorization: Bearer <api key>` or the host's session."
            },
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "apiKey", {"type": "http", "scheme": "bearer", "description": "a casekit API key"}
    )
    api.spec.options["security"] = [{"apiKey": []}]
    st.api = api
    shipments.register_components(api.spec)
    app.url_map.converters.setdefault("casekit_rest", reference.RestConverter)
    for blueprint in (
        cases.blp,
        views.blp,
        canned_replies.blp,
        reports.blp,
        shipments.blp,
        triage.blp,
        rules.blp,
        keys.blp,
        case_addresses.blp,
        webhooks.blp,
        settings.blp,
        service_levels.blp,
        tags.blp,
        custom_fields.blp,
        actions.blp,
        claims.blp,
        directory.blp,
        network.blp,
        reference.blp,
    ):
        _wire(blueprint)
        if blueprint is reference.blp:
            app.register_blueprint(blueprint, url_prefix=prefix)
        else:
            api.register_blueprint(blueprint, url_prefix=prefix + (blueprint.url_prefix or ""))


def _wire(blueprint: Any) -> None:
    # The blueprints are module-level: wired once, then registered on each app.
    if getattr(blueprint, "_casekit_wired", False):
        return
    blueprint._casekit_wired = True
    blueprint.before_request(limit_json_body)
    blueprint.before_request(authenticate)
    # Checked in authenticate() for session callers; a key needs none.
    exempt_from_host(blueprint)
    blueprint.after_request(_headers)
    for error in (InvalidInput, NotFound, PermissionDenied, Conflict, HTTPException):
        blueprint.register_error_handler(error, handle_error)
    blueprint.register_error_handler(IntegrityError, _integrity)


def _integrity(error: IntegrityError) -> Response:
    """A write that clashed with a stored row (a unique key): a 409, nothing written."""
    return problem(409, "Conflict", detail="this clashes with something already stored")


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The blueprints whose writes change the organization itself: an admin-scope key's.
ADMIN_WRITES = frozenset({"casekit_api_directory", "casekit_api_case_addresses"})


def authenticate() -> Response | None:
    """Who calls: an API key's actor or the session's; a 401 or 403 problem otherwise."""
    from casekit_flask.extension import state

    g.casekit_api_scope = None
    g.casekit_api_identity = None
    if request.blueprint == "casekit_api_reference":
        return None
    header = request.headers.get("Authorization", "")
    if header:
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            _refused("an Authorization header that is not 'Bearer <api key>'")
            return _unauthorized("use Authorization: Bearer <api key>")
        try:
            identity = state().kit.api_keys.authenticate(token.strip())
        except InvalidApiKey:
            _refused(f"an API key that is invalid or revoked ({_key_id(token)})")
            return _unauthorized("the API key is invalid or revoked")
        g.casekit_actor = identity.actor
        g.casekit_api_scope = identity.scope
        g.casekit_api_identity = identity
        refused = _over_rate_limit(identity.key_id)
        if refused is not None:
            return refused
        if request.blueprint == "casekit_api_keys" or (
            request.blueprint in ADMIN_WRITES and request.method in WRITE_METHODS
        ):
            wanted = ApiScope.ADMIN
        elif request.method in WRITE_METHODS:
            wanted = ApiScope.WRITE
        else:
            wanted = ApiScope.READ
        return require_scope(wanted)
    else:
        from casekit_flask.extension import current_actor

        if current_actor() is None:
            _refused("no API key and no signed-in user")
            return _unauthorized("sign in or send an API key")
        if request.method in WRITE_METHODS:
            try:
                check_csrf()
            except CSRFError:
                return problem(403, "CSRF token missing or invalid", detail="send X-CSRFToken")
    return None


def _over_rate_limit(key_id: int) -> Response | None:
    """A 429 problem, with Retry-After, when the API key is over
    ``CASEKIT_API_RATE_LIMIT``; None when it may go on (or there is no limit)."""
    from casekit_flask.extension import state

    limiter = state().api_limiter
    if limiter is None or limiter.hit(key_id):
        return None
    wait = limiter.retry_after(key_id)
    response = problem(
        429,
        "Too many requests",
        detail=f"this API key may make {limiter.limit} requests in {limiter.window} seconds; "
        f"try again in {wait} seconds",
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _refused(why: str) -> None:
    """Log a refused caller for the operator: what it sent wrong, never its secret."""
    log.warning(
        "casekit: API request refused: %s (%s %s from %s)",
        why,
        request.method,
        request.endpoint,
        request.remote_addr,
    )


def _key_id(token: str) -> str:
    """The public part of an API key, which names the key without its secret."""
    from casekit.domain.apikeys import split_token

    parts = split_token(token)
    if parts is None:
        return "not an API key"
    public_id = parts[0]
    if not (public_id.isascii() and public_id.isalnum() and len(public_id) <= 32):
        return "not an API key"
    return f"key {public_id}"


def require_scope(wanted: ApiScope) -> Response | None:
    """None when the caller may; a 403 problem when the key's scope is too small."""
    scope: ApiScope | None = g.get("casekit_api_scope")
    if scope is None or scope.allows(wanted):
        return None
    return problem(403, "Insufficient scope", detail=f"this needs an API key with scope {wanted}")


def api_actor() -> Actor:
    actor: Actor = g.casekit_actor
    return actor


def _unauthorized(detail: str) -> Response:
    response = problem(401, "Unauthorized", detail=detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="casekit"'
    return response


def handle_error(error: Exception) -> Response:
    """casekit's errors and HTTP errors as problem documents."""
    if isinstance(error, InvalidInput):
        return problem(400, "Invalid input", errors=error.errors)
    if isinstance(error, NotFound):
        return problem(404, "Not found", detail=str(error))
    if isinstance(error, PermissionDenied):
        return problem(403, "Forbidden", detail=str(error))
    if isinstance(error, CaseMerged):
        return problem(409, "Conflict", detail=str(error), merged_into=error.merged_into)
    if isinstance(error, Conflict):
        return problem(409, "Conflict", detail=str(error))
    assert isinstance(error, HTTPException)
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _flatten(data.get("messages")) if "messages" in data else None
    if code == 422:
        code = 400
    title = "Invalid input" if errors else (error.name or "Error")
    detail = None if errors else error.description
    response = problem(code, title, detail=detail, errors=errors)
    if code == 405 and isinstance(error, HTTPException):
        allowed = error.get_headers()
        for name, value in allowed:
            if name == "Allow":
                response.headers["Allow"] = value
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' ``{"json": {"a": {"0": [...]}}}`` as ``{"a.0": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "files", "headers"):
                out.update(_flatten(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                items = value if isinstance(value, list) else [value]
                out[name] = [str(v) for v in items]
    else:
        items = messages if isinstance(messages, list) else [messages]
        out[prefix or "body"] = [str(v) for v in items]
    return out
