"""An organization's tags (``kit.tags``): list them; managers add and change them."""

from __future__ import annotations

from typing import Any

from casekit.domain.tags import Tag
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    ProblemSchema,
    TagCreateSchema,
    TagListArgsSchema,
    TagListSchema,
    TagSchema,
    TagUpdateSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_tags",
    __name__,
    url_prefix="/tags",
    description="The caller's organization's own tags, never shown to the other side.",
)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _wire(tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.id,
        "name": tag.name,
        "colour": tag.colour.value,
        "archived": tag.archived,
        "created_at": tag.created_at,
        "updated_at": tag.updated_at,
    }


@blp.route("", methods=["GET"])
@blp.arguments(TagListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, TagListSchema)
@_problems
def list_tags(archived: bool) -> Any:
    """The caller's organization's tags by name (its staff read them)."""
    return {"tags": [_wire(t) for t in current_kit().tags.list(actor(), archived=archived)]}


@blp.route("", methods=["POST"])
@blp.arguments(TagCreateSchema)
@blp.response(201, TagSchema)
@_problems
def create_tag(data: dict[str, Any]) -> Any:
    """Add a tag (a manager's, or a key's)."""
    return _wire(current_kit().tags.create(actor(), data["name"], colour=data["colour"])), 201


@blp.route("/<int:tag_id>", methods=["PATCH"])
@blp.arguments(TagUpdateSchema)
@blp.response(200, TagSchema)
@_problems
def update_tag(data: dict[str, Any], tag_id: int) -> Any:
    """Rename, recolour, archive or restore a tag (a manager's, or a key's)."""
    return _wire(current_kit().tags.update(actor(), _id(tag_id, "tag_id"), **data))
