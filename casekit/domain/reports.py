"""Report settings: an organization's response and resolution targets per case type."""

from __future__ import annotations

from datetime import datetime, timedelta

from attrs import define


@define(slots=False, eq=False)
class ReportTarget:
    """How soon an organization means to answer and to solve cases of one type.

    Either target may be unset (``None``). Durations are kept in whole
    seconds; ``first_response`` and ``resolution`` give them as
    :class:`~datetime.timedelta`.
    """

    org_id: int
    case_type: str
    updated_at: datetime
    updated_by: str
    first_response_seconds: int | None = None
    resolution_seconds: int | None = None

    @property
    def first_response(self) -> timedelta | None:
        s = self.first_response_seconds
        return None if s is None else timedelta(seconds=s)

    @property
    def resolution(self) -> timedelta | None:
        s = self.resolution_seconds
        return None if s is None else timedelta(seconds=s)
