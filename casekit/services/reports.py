"""Reports and dashboards: volume, speed, load, aging and targets. Reach it as ``kit.reports``.

A report is an organization's: its viewer is one of the organization's
users (or a system actor bound to it), and it counts only the cases that
viewer may see, through the same scoped query layer as the Case Management
list. See docs/reports.rst for each metric's exact definition.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError

from casekit.domain.actor import Actor
from casekit.domain.reports import ReportTarget
from casekit.errors import InvalidInput
from casekit.query import report_load, report_speed, report_targets
from casekit.query.report_models import CountRow, Report, ReportQuery, Section, Table
from casekit.query.reports import ACTIVE, SOLVED, Reporter, one
from casekit.query.reports import SECTIONS as SECTIONS  # the service's too
from casekit.schemas.reports import ReportQuerySchema
from casekit.services import type_targets
from casekit.services.base import Service
from casekit.services.views import _flatten
from casekit.store.uow import UnitOfWork, set_local

ReportQueryLike = ReportQuery | Mapping[str, Any]


def parse_report_query(query: ReportQueryLike) -> ReportQuery:
    """A :class:`ReportQuery` from its JSON form (or itself); InvalidInput names bad fields."""
    if isinstance(query, ReportQuery):
        ReportQuerySchema().load(_dump(query))  # the same checks: range, time zone
        return query
    try:
        loaded: ReportQuery = ReportQuerySchema().load(dict(query))
    except ValidationError as error:
        raise InvalidInput(_flatten(error.messages)) from None
    return loaded


def _dump(query: ReportQuery) -> dict[str, Any]:
    return {
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "timezone": query.timezone,
        "granularity": query.granularity.value,
    }


class ReportService(Service):
    """The dashboard's numbers for one viewer, and the organization's targets."""

    def _reporter(
        self,
        uow: UnitOfWork,
        actor: Actor,
        query: ReportQuery,
        sections: Collection[str],
        top: int | None = None,
    ) -> Reporter:
        roles = self.__dict__.setdefault("_org_roles", {})
        labels = {code: t.label for code, t in self.kit.case_types.items()}
        return Reporter(
            uow.session,
            actor,
            query,
            now=self._now(),
            roles=roles,
            type_labels=labels,
            sections=sections,
            top=top,
        )

    def dashboard(
        self,
        actor: Actor,
        query: ReportQueryLike,
        *,
        sections: builtins.list[str] | tuple[str, ...] = SECTIONS,
        top: int | None = None,
    ) -> Report:
        """The whole dashboard (or only ``sections``) for ``actor``.

        With ``top``, each table of groups (by status, type, the other side,
        brand, owner or source) keeps its ``top`` largest rows and counts the
        others in its ``rest`` (:class:`~casekit.query.report_models.Rest`);
        the rows left out are never built. A page shows such a report; the
        JSON and CSV forms keep every row (``top`` None, the default).
        """
        if top is not None and top < 1:
            raise InvalidInput({"top": ["at least 1"]})
        try:
            parsed = parse_report_query(query)
        except ValidationError as error:
            raise InvalidInput(_flatten(error.messages)) from None
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            raise InvalidInput(
                {"sections": [f"unknown {', '.join(unknown)}; one of {', '.join(SECTIONS)}"]}
            )
        with self._uow(write=False, replica=True) as uow:
            if uow.session.get_bind().dialect.name == "postgresql":
                # The reports' correlated subqueries look costly to the planner,
                # which would then spend longer compiling them (JIT) than running them.
                set_local(uow.session, "jit", "off")
            r = self._reporter(uow, actor, parsed, sections, top)
            built = tuple(_BUILDERS[name](r) for name in SECTIONS if name in sections)
        return Report(
            query=parsed,
            generated_at=r.now,
            range_start=r.start,
            range_end=r.end,
            sections=built,
        )

    def volume(self, actor: Actor, query: ReportQueryLike) -> Section:
        """Cases opened and solved, and the active backlog."""
        return self.dashboard(actor, query, sections=["volume"]).sections[0]

    def speed(self, actor: Actor, query: ReportQueryLike) -> Section:
        """Time to first response and to solve, and the reopen rate."""
        return self.dashboard(actor, query, sections=["speed"]).sections[0]

    def load(self, actor: Actor, query: ReportQueryLike) -> Section:
        """Load per user and the unowned active cases."""
        return self.dashboard(actor, query, sections=["load"]).sections[0]

    def aging(self, actor: Actor, query: ReportQueryLike) -> Section:
        """The active backlog by age and by the other side's latest message."""
        return self.dashboard(actor, query, sections=["aging"]).sections[0]

    def breaches(self, actor: Actor, query: ReportQueryLike) -> Section:
        """The targets, their breach counts and the breaching cases (section ``targets``)."""
        return self.dashboard(actor, query, sections=["targets"]).sections[0]

    # -- targets (deprecated) ----------------------------------------------------------
    def targets(self, actor: Actor) -> builtins.list[ReportTarget]:
        """The organization's targets of one case type each, by case type.

        .. deprecated:: Unreleased
           Targets are service levels: use ``kit.service_levels.targets``.
           This reads the organization's *type targets* (a service level whose
           only condition is one case type, see
           :mod:`casekit.services.type_targets`).
        """
        warnings.warn(
            "kit.reports.targets is deprecated: targets are service levels now "
            "(kit.service_levels.targets)",
            DeprecationWarning,
            stacklevel=2,
        )
        return type_targets.type_targets(self.kit, actor)

    def set_target(
        self,
        actor: Actor,
        case_type: str,
        *,
        first_response: timedelta | int | None = None,
        resolution: timedelta | int | None = None,
    ) -> ReportTarget | None:
        """Set the first-response and resolution times of ``case_type``'s target (a
        manager's call); unsetting both removes it (and returns None).

        .. deprecated:: Unreleased
           Targets are service levels: use ``kit.service_levels.save_target``
           (conditions ``{"types": [case_type]}``). This changes the
           organization's *type target* for ``case_type``, adding one when
           there is none (:func:`casekit.services.type_targets.set_type_target`).
           Its times are working time of the organization's calendar, where
           they were 24-hour elapsed time before.
        """
        warnings.warn(
            "kit.reports.set_target is deprecated: targets are service levels now "
            "(kit.service_levels.save_target)",
            DeprecationWarning,
            stacklevel=2,
        )
        return type_targets.set_type_target(
            self.kit, actor, case_type, first_response=first_response, resolution=resolution
        )


# -- the sections ------------------------------------------------------------------------


def _volume(r: Reporter) -> Section:
    dims = r.dimensions()
    opened = r.opened_filter()
    tables_: list[Table] = [
        Table(name="opened", title="Cases opened", rows=tuple(r.opened_series())),
        Table(name="solved", title="Cases solved", rows=tuple(r.solved_series())),
    ]
    backlog = {**r.backlog(), **r.backlog_by_brand()}
    for name in ("status", "type", r.party_field, "brand", "owner", "source"):
        dim = dims[name]
        rows, rest = r.breakdown(dim, backlog[name], [ACTIVE])
        tables_.append(
            Table(
                name=f"backlog_by_{name}",
                title=f"Active cases by {dim.title.lower()}",
                rows=tuple(rows),
                rest=rest,
            )
        )
    for name, counts in (("priority", backlog["priority"]), ("tag", r.backlog_by_tag())):
        dim = dims[name]
        rows, rest = r.breakdown(dim, counts, [ACTIVE])
        tables_.append(
            Table(
                name=f"backlog_by_{name}",
                title=f"Active cases by {dim.title.lower()}",
                rows=tuple(rows),
                rest=rest,
            )
        )
    rows, rest = r.breakdown(dims["source"], r.opened_by_source(), [opened])
    tables_.append(
        Table(name="opened_by_source", title="Cases opened by source", rows=tuple(rows), rest=rest)
    )
    totals = (
        CountRow(
            key="opened",
            label="Opened",
            count=sum(row.count for row in tables_[0].rows),
            query=r.drill(opened),
        ),
        CountRow(
            key="solved",
            label="Solved",
            count=sum(row.count for row in tables_[1].rows),
            query=r.drill(SOLVED, r.solved_filter()),
        ),
        CountRow(
            key="active",
            label="Active",
            count=sum(backlog["status"].values()),
            query=r.drill(ACTIVE),
        ),
    )
    return Section(name="volume", tables=tuple(tables_), totals=totals)


def _speed(r: Reporter) -> Section:
    dims = r.dimensions()
    grouped = [dims["type"], dims[r.party_field], dims["owner"]]
    opened, solved = r.opened_filter(), r.solved_filter()
    measures = (
        ("First response", "first_response", r.opened_in_range(), r.first_response(), [opened]),
        ("Time to solve", "resolution", r.solved_in_range(), r.solved_at, [SOLVED, solved]),
    )
    tables_: list[Table] = []
    for label, name, condition, done, base in measures:
        overall, split = report_speed.durations(r, grouped, condition, done, base)
        tables_.append(Table(name=name, title=label, rows=tuple(overall)))
        for dim in grouped:
            rows, rest = split[dim.name]
            tables_.append(
                Table(
                    name=f"{name}_by_{dim.name}",
                    title=f"{label} by {dim.title.lower()}",
                    rows=tuple(rows),
                    rest=rest,
                )
            )
    tables_.append(
        Table(name="reopens", title="Reopened cases", rows=tuple(report_speed.reopens(r)))
    )
    return Section(name="speed", tables=tuple(tables_))


def _load(r: Reporter) -> Section:
    rows, unowned = report_load.load(r)
    totals = (
        CountRow(
            key="unowned",
            label="Unowned active cases",
            count=unowned,
            query=r.drill(ACTIVE, one("has_owner", "no")),
        ),
    )
    return Section(
        name="load",
        tables=(Table(name="load", title="Load per user", rows=tuple(rows)),),
        totals=totals,
    )


def _aging(r: Reporter) -> Section:
    return Section(
        name="aging",
        tables=(
            Table(
                name="aging_by_age",
                title="Active cases by age",
                rows=tuple(report_load.aging(r, "created_at")),
            ),
            Table(
                name="aging_by_other_side_message",
                title="Active cases by time since the other side's latest message",
                rows=tuple(report_load.aging(r, "other_side_message_at")),
            ),
        ),
    )


def _targets(r: Reporter) -> Section:
    dims = r.dimensions()
    grouped = [dims["type"], dims[r.party_field], dims["owner"]]
    overall, split, listed = report_targets.clock_tables(r, grouped)
    tables_ = [Table(name="targets", title="Service levels", rows=tuple(overall))]
    for dim in grouped:
        rows, rest = split[dim.name]
        tables_.append(
            Table(
                name=f"targets_by_{dim.name}",
                title=f"Service levels by {dim.title.lower()}",
                rows=tuple(rows),
                rest=rest,
            )
        )
    tables_.append(Table(name="breaches", title="Cases that missed a target", rows=tuple(listed)))
    return Section(name="targets", tables=tuple(tables_))


_BUILDERS = {
    "volume": _volume,
    "speed": _speed,
    "load": _load,
    "aging": _aging,
    "targets": _targets,
}
