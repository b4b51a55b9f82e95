"""Shared pieces of the API's resources: problem responses, ETags, the blueprint class."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from casekit.json_input import load_json
from casekit_flask.extension import case_version, state

PROBLEM = "application/problem+json"


def limit_json_body() -> None:
    """Hold a JSON body to ``CASEKIT_API_MAX_JSON_BYTES`` (or the app's smaller
    ``MAX_CONTENT_LENGTH``): a longer one is a 413 before it is read."""
    if not request.is_json:
        return
    limit = state().api_max_json_bytes
    if request.max_content_length is not None:
        limit = min(limit, request.max_content_length)
    request.max_content_length = limit  # a body sent in chunks stops there too
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"a JSON body is at most {limit} bytes")


def json_body() -> Any:
    """The request's JSON body, read within :func:`casekit.json_input.load_json`'s
    depth; its errors name ``body``."""
    limit = state().api_max_json_bytes
    return load_json(request.get_data(cache=True), field="body", max_bytes=limit)


class ApiParser(FlaskParser):
    """webargs' parser, reading JSON bodies with :func:`json_body`."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return core.missing
        return json_body()


class ApiBlueprint(Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint of casekit's API."""

    ARGUMENTS_PARSER = ApiParser()


def problem(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    **extensions: Any,
) -> Response:
    """An RFC 9457 problem document; ``extensions`` are its extension members."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extensions)
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def etag(version: int) -> str:
    return f'"{version}"'


def if_match() -> int | None:
    """The case version the caller's If-Match names, or None without one."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    return case_version(value.strip('"'), "If-Match")
