"""Shared pieces of the API's resources: problem responses, ETags, the blueprint class."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from flask_smorest import Blueprint

from casekit.errors import InvalidInput

PROBLEM = "application/problem+json"


class ApiBlueprint(Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint of casekit's API."""


def problem(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Response:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
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
    value = value.strip('"')
    if not value.isdigit() or len(value) > 10:
        raise InvalidInput({"If-Match": ["an ETag of this case, as GET returned it"]})
    return int(value)
