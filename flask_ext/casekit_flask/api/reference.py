"""The API reference page: the OpenAPI document rendered on the server, no CDN."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from casekit.labels import vocabulary_of

#: Its stylesheet comes from casekit-flask's static files, served under the API's
#: prefix: the page needs no other blueprint, and keeps the pages' strict CSP.
blp = Blueprint(
    "casekit_api_reference",
    __name__,
    url_prefix="",
    static_folder="../static",
    static_url_path="/casekit-static",
)


@blp.after_request
def _secure(response: Any) -> Any:
    from casekit_flask.extension import secure_headers

    return secure_headers(response)


class RestConverter(PathConverter):
    """Werkzeug's ``path``, with line breaks too (``%0A`` in a path segment): so that
    no path under the API's prefix falls through to the host's HTML 404."""

    regex = "(?s:[^/].*?)"


METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    ref = schema.get("$ref")
    if ref:
        return str(ref).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_ref_name(schema.get('items'))}"
    return str(schema.get("type", "object"))


@blp.get("/")
def reference() -> Any:
    """The reference page: every operation and schema of /openapi.json."""
    from casekit_flask.extension import state

    spec = state().api.spec.to_dict()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {})
            operations.append(
                {
                    "id": f"{method}-{path}",
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or [""])[0],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []) + item.get("parameters", []),
                    "body": {ct: _ref_name(c.get("schema")) for ct, c in body.items()},
                    "responses": {
                        code: (
                            r.get("description", ""),
                            {
                                ct: _ref_name(c.get("schema"))
                                for ct, c in r.get("content", {}).items()
                            },
                        )
                        for code, r in op.get("responses", {}).items()
                    },
                }
            )
    schemas = spec.get("components", {}).get("schemas", {})
    return render_template(
        "casekit/api/reference.html",
        spec=spec,
        operations=operations,
        schemas=schemas,
        type_of=_ref_name,
        words_of=vocabulary_of,
        json_url=f"{state().api_prefix}/openapi.json",
    )


@blp.route("/<casekit_rest:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def missing(rest: str) -> Any:
    """Anything else under the API's prefix: a problem, not the host's HTML page.

    A 405 with ``Allow`` when the path exists for other methods (this
    catch-all takes every method, so routing alone never says 405 here),
    else a 404.
    """
    from casekit_flask.api.common import problem

    allowed = _allowed_methods()
    if allowed:
        response = problem(405, "Method Not Allowed", detail=f"use {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return problem(404, "Not found", detail="no such resource")


def _allowed_methods() -> list[str]:
    """The methods another route of the app answers on this request's path."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    found: set[str] = set()
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        if method == request.method:
            continue
        try:
            rule, _ = adapter.match(method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.endpoint != request.endpoint:
            found.add(method)
    if "GET" in found:
        found |= {"HEAD", "OPTIONS"}
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [m for m in order if m in found]
