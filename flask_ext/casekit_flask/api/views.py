"""Saved views and view counts."""

from __future__ import annotations

import json
from typing import Any

from casekit.domain.views import SavedView
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    CountsSchema,
    ProblemSchema,
    SavedViewCreateSchema,
    SavedViewListSchema,
    SavedViewSchema,
    SavedViewUpdateSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_views",
    __name__,
    url_prefix="/views",
    description="View counts and the caller's saved views (a user's; an API key has none).",
)


def _problems(func: Any) -> Any:
    for code in (*COMMON, 409):
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _wire(view: SavedView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "shared": view.shared,
        "query": json.loads(view.definition),
        "user_id": view.user_id,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    }


@blp.route("/counts", methods=["GET"])
@blp.response(200, CountsSchema)
@_problems
def counts() -> dict[str, Any]:
    """How many cases each built-in view (and each usable saved view, `saved:<id>`) holds."""
    return {"counts": current_kit().views.counts(actor())}


@blp.route("", methods=["GET"])
@blp.response(200, SavedViewListSchema)
@_problems
def saved() -> dict[str, Any]:
    """The caller's saved views and those shared in their organization."""
    return {"views": [_wire(v) for v in current_kit().views.saved(actor())]}


@blp.route("", methods=["POST"])
@blp.arguments(SavedViewCreateSchema)
@blp.response(201, SavedViewSchema)
@_problems
def save(data: dict[str, Any]) -> Any:
    """Save a list query under a name, privately or shared with the organization."""
    view = current_kit().views.save(actor(), data["name"], data["query"], shared=data["shared"])
    return _wire(view), 201


@blp.route("/<int:view_id>", methods=["PATCH"])
@blp.arguments(SavedViewUpdateSchema)
@blp.response(200, SavedViewSchema)
@_problems
def update(data: dict[str, Any], view_id: int) -> Any:
    """Rename, redefine or (un)share one of the caller's own saved views."""
    view = current_kit().views.update(actor(), _id(view_id, "view_id"), **data)
    return _wire(view)


@blp.route("/<int:view_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def delete(view_id: int) -> Any:
    """Delete one of the caller's own saved views."""
    current_kit().views.delete(actor(), _id(view_id, "view_id"))
    return "", 204
