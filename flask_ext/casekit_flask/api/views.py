"""Saved views and view counts."""

from __future__ import annotations

import json
from typing import Any

from casekit.domain.views import SavedView
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    ColumnsSchema,
    ColumnsUpdateSchema,
    CountsSchema,
    KnownValuesSchema,
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


@blp.route("/columns", methods=["GET"])
@blp.response(200, ColumnsSchema)
@_problems
def columns() -> dict[str, Any]:
    """The list columns the calling user chose for the built-in views (or the default)."""
    return {"columns": list(current_kit().views.columns(actor()))}


@blp.route("/columns", methods=["PUT"])
@blp.arguments(ColumnsUpdateSchema)
@blp.response(200, ColumnsSchema)
@_problems
def set_columns(data: dict[str, Any]) -> dict[str, Any]:
    """Keep the calling user's list columns for the built-in views; null resets them."""
    return {"columns": list(current_kit().views.set_columns(actor(), data["columns"]))}


@blp.route("/<int:view_id>/columns", methods=["GET"])
@blp.response(200, ColumnsSchema)
@_problems
def saved_columns(view_id: int) -> dict[str, Any]:
    """The list columns the calling user chose for one saved view they may use."""
    kit = current_kit()
    return {"columns": list(kit.views.columns(actor(), saved=_id(view_id, "view_id")))}


@blp.route("/<int:view_id>/columns", methods=["PUT"])
@blp.arguments(ColumnsUpdateSchema)
@blp.response(200, ColumnsSchema)
@_problems
def set_saved_columns(data: dict[str, Any], view_id: int) -> dict[str, Any]:
    """Keep the calling user's list columns for one saved view; null resets them."""
    chosen = current_kit().views.set_columns(
        actor(), data["columns"], saved=_id(view_id, "view_id")
    )
    return {"columns": list(chosen)}


@blp.route("/known/<field>", methods=["GET"])
@blp.response(200, KnownValuesSchema)
@_problems
def known(field: str) -> dict[str, Any]:
    """The values of `brand`, `customer_segment` or `region` on the cases the caller may see."""
    return {"field": field, "values": current_kit().views.known_values(actor(), field)}
