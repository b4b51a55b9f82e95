"""Reports and dashboards: volume, speed, load, aging and targets. Reach it as ``kit.reports``.

A report is an organization's: its viewer is one of the organization's
users (or a system actor bound to it), and it counts only the cases that
viewer may see, through the same scoped query layer as the Case Management
list. See docs/reports.rst for each metric's exact definition.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select, text

from casekit.domain.actor import Actor
from casekit.domain.reports import ReportTarget
from casekit.errors import InvalidInput, PermissionDenied
from casekit.query import report_load, report_speed, report_targets
from casekit.query.report_models import CountRow, Report, ReportQuery, Section, Table
from casekit.query.reports import ACTIVE, SOLVED, Reporter, one
from casekit.query.reports import SECTIONS as SECTIONS  # the service's too
from casekit.schemas.reports import ReportQuerySchema
from casekit.services.base import Service
from casekit.services.views import _flatten
from casekit.store import tables
from casekit.store.uow import UnitOfWork

c = tables.cases.c

ReportQueryLike = ReportQuery | Mapping[str, Any]
#: The longest target: a year.
MAX_TARGET = timedelta(days=366)


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
        with self._uow(write=False) as uow:
            if uow.session.get_bind().dialect.name == "postgresql":
                # The reports' correlated subqueries look costly to the planner,
                # which would then spend longer compiling them (JIT) than running them.
                uow.session.execute(text("SET LOCAL jit = off"))
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

    # -- targets -------------------------------------------------------------------------
    def targets(self, actor: Actor) -> builtins.list[ReportTarget]:
        """The actor's organization's targets, by case type."""
        org_id = _org(actor)
        with self._uow(write=False) as uow:
            t = tables.report_targets.c
            return list(
                uow.session.scalars(
                    select(ReportTarget).where(t.org_id == org_id).order_by(t.case_type)
                )
            )

    def set_target(
        self,
        actor: Actor,
        case_type: str,
        *,
        first_response: timedelta | int | None = None,
        resolution: timedelta | int | None = None,
    ) -> ReportTarget | None:
        """Set the organization's targets for ``case_type`` (a manager's call).

        Durations are a :class:`~datetime.timedelta` or whole seconds; None
        leaves that target unset. Unsetting both removes the setting (and
        returns None).
        """
        org_id = _org(actor)
        if not actor.is_manager:
            raise PermissionDenied("only a manager sets the organization's targets")
        errors: dict[str, list[str]] = {}
        if case_type not in self.kit.case_types:
            errors["case_type"] = [f"unknown case type {case_type!r}"]
        first = _seconds(errors, "first_response", first_response)
        resolve = _seconds(errors, "resolution", resolution)
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            found = uow.session.get(ReportTarget, (org_id, case_type))
            if first is None and resolve is None:
                if found is not None:
                    uow.session.delete(found)
                    uow.commit()
                return None
            if found is None:
                found = ReportTarget(
                    org_id=org_id,
                    case_type=case_type,
                    updated_at=self._now(),
                    updated_by=actor.describe(),
                )
                uow.session.add(found)
            found.first_response_seconds = first
            found.resolution_seconds = resolve
            found.updated_at = self._now()
            found.updated_by = actor.describe()
            uow.commit()
            return found


def _org(actor: Actor) -> int:
    if not actor.is_staff or actor.org_id is None:
        raise PermissionDenied("targets belong to an organization: act as one of its users")
    return actor.org_id


def _seconds(errors: dict[str, list[str]], name: str, value: timedelta | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (timedelta, int)):
        errors[name] = ["a duration: a timedelta or whole seconds"]
        return None
    seconds = value if isinstance(value, int) else value.total_seconds()
    if not 60 <= seconds <= MAX_TARGET.total_seconds():
        errors[name] = ["between one minute and 366 days"]
        return None
    return int(seconds)


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
    summary, listed = report_targets.breaches(r, report_targets.targets(r))
    return Section(
        name="targets",
        tables=(
            Table(name="targets", title="Targets and breaches", rows=tuple(summary)),
            Table(name="breaches", title="Cases that missed a target", rows=tuple(listed)),
        ),
    )


_BUILDERS = {
    "volume": _volume,
    "speed": _speed,
    "load": _load,
    "aging": _aging,
    "targets": _targets,
}
