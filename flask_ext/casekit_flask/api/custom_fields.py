"""An organization's custom fields (``kit.custom_fields``): list them; managers add,
change, archive and delete them. A case's values travel in its ``custom_fields``."""

from __future__ import annotations

from typing import Any

from casekit.domain.custom_fields import CustomField
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    CustomFieldCreateSchema,
    CustomFieldDeletedSchema,
    CustomFieldListSchema,
    CustomFieldSchema,
    CustomFieldUpdateSchema,
    ProblemSchema,
    TagListArgsSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_custom_fields",
    __name__,
    url_prefix="/custom-fields",
    description="The caller's organization's own custom fields; shared ones are read by "
    "the other party of a case too.",
)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def wire(f: CustomField) -> dict[str, Any]:
    return {
        "id": f.id,
        "key": f.key,
        "label": f.label,
        "kind": f.kind.value,
        "visibility": f.visibility.value,
        "choices": list(f.choices),
        "required_for": list(f.required_for),
        "position": f.position,
        "archived": f.archived,
        "created_at": f.created_at,
        "updated_at": f.updated_at,
    }


@blp.route("", methods=["GET"])
@blp.arguments(TagListArgsSchema, location="query", as_kwargs=True)
@blp.response(200, CustomFieldListSchema)
@_problems
def list_custom_fields(archived: bool) -> Any:
    """The caller's organization's fields in order (its staff read them)."""
    found = current_kit().custom_fields.list(actor(), archived=archived)
    return {"custom_fields": [wire(f) for f in found]}


@blp.route("", methods=["POST"])
@blp.arguments(CustomFieldCreateSchema)
@blp.response(201, CustomFieldSchema)
@_problems
def create_custom_field(data: dict[str, Any]) -> Any:
    """Add a field (a manager's, or a key's). `key` and `kind` never change."""
    kit = current_kit()
    key, label, kind = data.pop("key"), data.pop("label"), data.pop("kind")
    return wire(kit.custom_fields.create(actor(), key, label, kind, **data)), 201


@blp.route("/<int:field_id>", methods=["GET"])
@blp.response(200, CustomFieldSchema)
@_problems
def custom_field(field_id: int) -> Any:
    """One of the caller's organization's fields."""
    return wire(current_kit().custom_fields.get(actor(), _id(field_id, "field_id")))


@blp.route("/<int:field_id>", methods=["PATCH"])
@blp.arguments(CustomFieldUpdateSchema)
@blp.response(200, CustomFieldSchema)
@_problems
def update_custom_field(data: dict[str, Any], field_id: int) -> Any:
    """Change a field's label, choices, required case types, visibility or place, or
    archive or restore it (a manager's, or a key's). A choice cases hold stays."""
    kit = current_kit()
    return wire(kit.custom_fields.update(actor(), _id(field_id, "field_id"), **data))


@blp.route("/<int:field_id>", methods=["DELETE"])
@blp.response(200, CustomFieldDeletedSchema)
@_problems
def delete_custom_field(field_id: int) -> Any:
    """Delete a field no case holds a value of; a field in use is archived instead
    (`deleted` false)."""
    kit, me = current_kit(), actor()
    field_id = _id(field_id, "field_id")
    deleted = kit.custom_fields.delete(me, field_id)
    return {"deleted": deleted, "custom_field": None if deleted else wire(
        kit.custom_fields.get(me, field_id)
    )}  # fmt: skip
