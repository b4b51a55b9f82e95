"""The report targets of old: an organization's response and resolution targets per case type.

They are service levels now (:mod:`casekit.domain.sla`); a
:class:`ReportTarget` is what the deprecated ``kit.reports.targets`` and
``kit.reports.set_target`` answer, read from the organization's target of
that one case type (:mod:`casekit.services.type_targets`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from attrs import define


@define(slots=False, eq=False)
class ReportTarget:
    """How soon an organization means to answer and to solve cases of one type.

    Either target may be unset (``None``). Durations are whole seconds of
    working time; ``first_response`` and ``resolution`` give them as
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
