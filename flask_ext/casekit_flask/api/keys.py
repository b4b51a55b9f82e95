"""API keys of the caller's organization (an admin-scope key, or a manager's session)."""

from __future__ import annotations

from typing import Any

from flask import g

from casekit.domain.apikeys import ApiIdentity, ApiKey
from casekit.errors import PermissionDenied
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    ApiKeyCreatedSchema,
    ApiKeyCreateSchema,
    ApiKeyListSchema,
    ApiKeySchema,
    ProblemSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_keys",
    __name__,
    url_prefix="/api-keys",
    description="The organization's API keys: list, create (the token shown once), revoke.",
)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _org_id() -> int:
    org_id = actor().org_id
    if org_id is None or actor().is_customer:
        raise PermissionDenied("API keys belong to an organization; its managers manage them")
    return org_id


def _by_key() -> ApiIdentity | None:
    """The API key the request came with (an admin key), or None for a session."""
    identity: ApiIdentity | None = g.get("casekit_api_identity")
    return identity


@blp.route("", methods=["GET"])
@blp.response(200, ApiKeyListSchema)
@_problems
def list_keys() -> dict[str, Any]:
    """The organization's keys, newest first, revoked ones included (never a secret)."""
    return {"keys": current_kit().api_keys.list(actor(), org_id=_org_id(), by_key=_by_key())}


@blp.route("", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema)
@blp.response(201, ApiKeyCreatedSchema)
@_problems
def create_key(data: dict[str, Any]) -> Any:
    """A new key; its `token` is in this response only. An admin key creates keys of
    its organization, at most admin, and revoking it revokes them."""
    created = current_kit().api_keys.create(
        actor(), org_id=_org_id(), name=data["name"], scope=data["scope"], by_key=_by_key()
    )
    return _created(created.key, created.token), 201


def _created(key: ApiKey, token: str) -> dict[str, Any]:
    out = {name: getattr(key, name) for name in ApiKeySchema().fields}
    out["token"] = token
    return out


@blp.route("/<int:key_id>", methods=["DELETE"])
@blp.response(200, ApiKeySchema)
@_problems
def revoke_key(key_id: int) -> Any:
    """Revoke a key and the keys it created: their tokens are refused from now on."""
    return current_kit().api_keys.revoke(actor(), _id(key_id, "key_id"), by_key=_by_key())
