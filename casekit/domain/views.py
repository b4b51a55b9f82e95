"""Saved views: a user's named filters, sort and columns."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field


@define(slots=False, eq=False)
class SavedView:
    """A named list query a user saved, privately or shared with their organization.

    ``definition`` is the query's JSON form (see ``casekit.schemas.views``).
    """

    org_id: int
    user_id: int
    name: str
    definition: str
    created_at: datetime
    updated_at: datetime
    shared: bool = False
    id: int | None = field(default=None, kw_only=True)
