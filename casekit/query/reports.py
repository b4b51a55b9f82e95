"""The reports' SQL: counts, durations and breaches of the cases a viewer may see.

Everything starts from the viewer's :class:`~casekit.query.listing.Lister`
(and so from its :class:`~casekit.query.scoped.Scope`): the tenant rule on
the viewer's side, then the report's filters compiled exactly as the Case
Management list compiles them. A drill-down query is therefore the list
query with the same filters plus the row's own, and lists exactly the cases
the row counts.

Counting happens in the database (``GROUP BY``); days and weeks are the
viewer's (:mod:`casekit.query.timing`); medians and percentiles use window
functions (:mod:`casekit.query.percentiles`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from attrs import frozen
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.directory import OrgRole
from casekit.domain.tags import Priority
from casekit.domain.workflow import ACTIVE_STATUSES, Status
from casekit.errors import PermissionDenied
from casekit.labels import VOCABULARIES, label
from casekit.query.filters import Filter, needs_shipment
from casekit.query.listing import BuiltinView, Lister, ListQuery
from casekit.query.report_models import (
    CountRow,
    ReportQuery,
    Rest,
)
from casekit.query.tags import own_tags
from casekit.query.timing import Bucket, bucket_of, calendar_buckets
from casekit.schemas.reports import zone_of
from casekit.store import tables
from casekit.store.types import UTCDateTime

c = tables.cases.c
e = tables.entries.c
s = tables.shipments.c
ct = tables.case_tags.c

#: Age buckets: (key, label, lower bound in days, upper bound in days).
AGES: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("under_1d", "Under 1 day", None, 1),
    ("1d_3d", "1 to 3 days", 1, 3),
    ("3d_7d", "3 to 7 days", 3, 7),
    ("7d_14d", "7 to 14 days", 7, 14),
    ("over_14d", "Over 14 days", 14, None),
)
#: The dashboard's sections, in order.
SECTIONS = ("volume", "speed", "load", "aging", "targets")
#: At most this many breaching cases are listed (the counts are complete).
BREACH_LIST = 200


@frozen
class Dimension:
    """Something to count by: its column, the filter that picks one value, labels."""

    name: str
    title: str
    column: Any
    pick: Callable[[Any], Filter]
    label: Callable[[Any], str]
    shipment: bool = False
    ids: bool = False  # the values are ids (of organizations or users)


def one(field: str, value: Any) -> Filter:
    return Filter(field, "in", (value,))


def between(field: str, start: datetime | None, end: datetime | None) -> Filter:
    return Filter(field, "between", (start, end))


ACTIVE = one("category", "active")
SOLVED = one("category", "solved")


class Reporter:
    """Runs one report's statements for one viewer."""

    def __init__(
        self,
        session: Session,
        actor: Actor,
        query: ReportQuery,
        *,
        now: datetime,
        roles: dict[int, OrgRole],
        type_labels: dict[str, str],
        sections: Collection[str] = SECTIONS,
        top: int | None = None,
    ) -> None:
        if not actor.is_staff:
            raise PermissionDenied(
                "reports are an organization's: act as one of its users, or as a "
                "system actor bound to it (Actor.system_actor(..., org_id=...))"
            )
        self.session = session
        self.actor = actor
        self.query = query
        self.now = now
        self.lister = Lister(session, actor, now=now, window_months=0, roles=roles)
        role = self.lister.role()
        if role is None:
            raise PermissionDenied("the actor's organization does not exist")
        self.org_id: int = actor.org_id  # type: ignore[assignment]
        shipper_side = role is OrgRole.SHIPPER
        self.own_owner = c.shipper_owner_id if shipper_side else c.carrier_owner_id
        self.party = c.carrier_org_id if shipper_side else c.shipper_org_id
        self.party_field = "carrier" if shipper_side else "shipper"
        # The status as the viewer's side reads it: the carrier its own
        # (domain.workflow), which the shipper's talk with its customer leaves.
        self.status = c.status if shipper_side else c.carrier_status
        # When the viewer's side read the case solved: the carrier keeps its own,
        # which reopening the case with the customer does not clear.
        self.solved_at = c.solved_at if shipper_side else c.carrier_solved_at
        self.solved_by = c.solved_by if shipper_side else c.carrier_solved_by
        # The report columns of the viewer's side (see store.report_columns).
        self.first_response_at = (
            c.shipper_first_response_at if shipper_side else c.carrier_first_response_at
        )
        self.other_side_message_at = (
            c.shipper_other_side_message_at if shipper_side else c.carrier_other_side_message_at
        )
        self.type_labels = type_labels
        self.buckets: list[Bucket] = calendar_buckets(
            query.start, query.end, zone_of(query.timezone), query.granularity
        )
        self.start = self.buckets[0].start
        self.end = self.buckets[-1].end
        self._names: dict[tuple[str, Any], str] = {}
        self._counts: dict[str, dict[str, dict[Any, int]]] = {}
        self.sections = frozenset(sections)
        #: The rows a table of groups keeps (its largest), None for all.
        self.top = top

    # -- building blocks -----------------------------------------------------------
    def where(self, *extra: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        """The viewer's cases that pass the report's filters, and ``extra``."""
        return [
            self.lister.tenant_clause(),
            *(self.lister.filter_clause(f) for f in self.query.filters),
            *extra,
        ]

    def cases(self, stmt: Select[Any], *, shipment: bool = False) -> Select[Any]:
        stmt = stmt.select_from(tables.cases)
        if shipment or needs_shipment(self.query.filters):
            stmt = stmt.outerjoin(tables.shipments, s.id == c.shipment_id)
        return stmt

    def drill(self, *filters: Filter) -> ListQuery:
        """The list query of the cases a number counts: the report's filters and ``filters``."""
        return ListQuery(view=BuiltinView.ALL_CASES, filters=(*self.query.filters, *filters))

    def active(self) -> ColumnElement[bool]:
        # "One of the active statuses" rather than "not solved": an index led
        # by the organization and the status reads only the active cases.
        return self.status.in_(sorted(status.value for status in ACTIVE_STATUSES))

    def opened_in_range(self) -> ColumnElement[bool]:
        return and_(c.created_at >= self.start, c.created_at < self.end)

    def solved_in_range(self) -> ColumnElement[bool]:
        return and_(
            self.status == Status.SOLVED.value,
            self.solved_at >= self.start,
            self.solved_at < self.end,
        )

    def opened_filter(self) -> Filter:
        return between("created_at", self.start, self.end)

    def solved_filter(self) -> Filter:
        return between("closed_at", self.start, self.end)

    def at(self, moment: datetime) -> Any:
        return literal(moment, UTCDateTime())

    def first_response(self) -> Any:
        """When the viewer's organization first wrote to another party on the case.

        Its first message meant for partners or everyone after the case was
        opened (the message that opens a case answers nobody); internal
        notes are not responses. The case row keeps it for each side; every
        case a report counts has the viewer's organization on its side.
        """
        return self.first_response_at

    def other_side_latest(self) -> Any:
        """When the latest message from the other side that the viewer may read was posted.

        As :func:`~casekit.query.filters.other_side_latest` for the viewer,
        kept on the case row for each side.
        """
        return self.other_side_message_at

    # -- names -----------------------------------------------------------------------
    def names(self, kind: str, ids: Iterable[Any]) -> dict[Any, str]:
        wanted = {i for i in ids if i is not None and (kind, i) not in self._names}
        if wanted:
            table = {"user": tables.users, "tag": tables.tags}.get(kind, tables.organizations)
            rows = self.session.execute(
                select(table.c.id, table.c.name).where(table.c.id.in_(sorted(wanted)))
            )
            for row in rows:
                self._names[(kind, row.id)] = row.name
        return {i: self.name(kind, i) for i in ids if i is not None}

    def name(self, kind: str, ident: Any) -> str:
        """The name of a user or organization, looked up when not known yet."""
        found = self._names.get((kind, ident))
        if found is None:
            self.names(kind, [ident])
            found = self._names.get((kind, ident))
        return f"#{ident}" if found is None else found

    def dimensions(self) -> dict[str, Dimension]:
        party_none = "No carrier" if self.party_field == "carrier" else "No shipper"
        return {
            "status": Dimension(
                "status",
                "Status",
                self.status,
                lambda v: one("status", v),
                lambda v: Status(v).label,
            ),
            "type": Dimension(
                "type",
                "Case type",
                c.type,
                lambda v: one("type", v),
                lambda v: self.type_labels.get(v, v),
            ),
            "source": Dimension(
                "source",
                "Source",
                c.source,
                lambda v: one("source", v),
                lambda v: SOURCE_LABELS.get(str(v), str(v)),
            ),
            self.party_field: Dimension(
                self.party_field,
                self.party_field.capitalize(),
                self.party,
                lambda v: (
                    Filter(self.party_field, "empty", True)
                    if v is None
                    else one(self.party_field, v)
                ),
                lambda v: party_none if v is None else self.name("org", v),
                ids=True,
            ),
            "brand": Dimension(
                "brand",
                "Brand",
                c.brand,
                lambda v: Filter("brand", "empty", True) if v is None else one("brand", v),
                lambda v: "No brand" if v is None else str(v),
            ),
            "priority": Dimension(
                "priority",
                "Priority",
                c.priority,
                lambda v: one("priority", _priority(v).value),
                lambda v: label("priority", _priority(v)),
            ),
            "tag": Dimension(
                "tag",
                "Tag",
                ct.tag_id,
                lambda v: Filter("tag", "empty", True) if v is None else one("tag", v),
                lambda v: "No tag" if v is None else self.name("tag", v),
                ids=True,
            ),
            "owner": Dimension(
                "owner",
                "Owner",
                self.own_owner,
                lambda v: one("has_owner", "no") if v is None else one("owner", v),
                lambda v: "Unowned" if v is None else self.name("user", v),
                ids=True,
            ),
        }

    # -- counting ----------------------------------------------------------------------
    def counts(
        self,
        name: str,
        columns: dict[str, Any],
        condition: ColumnElement[bool],
        sets: Sequence[tuple[str, ...]] | None = None,
    ) -> dict[str, dict[Any, int]]:
        """The cases passing ``condition`` counted by each of ``columns`` on its own
        (or by each of ``sets`` of them: a row's key is then the tuple of their
        values, found under the names joined with commas).

        On PostgreSQL one statement counts them all (``GROUPING SETS``: one
        read of the cases, a count per set); elsewhere one statement per set.
        Kept under ``name`` for the other sections of the report.
        """
        found = self._counts.get(name)
        if found is not None:
            return found
        sets = [(key,) for key in columns] if sets is None else list(sets)
        found = {",".join(keys): {} for keys in sets}
        if not sets:
            return found
        used = [key for key in columns if any(key in keys for keys in sets)]
        inner = (
            self.cases(select(*(columns[key].label(key) for key in used)))
            .where(*self.where(condition))
            .subquery()
        )

        if self.session.get_bind().dialect.name == "postgresql":
            # GROUPING(col) is 0 for the columns a row counts by (a NULL among
            # them is then a value, not "all").
            names = used
            stmt = select(
                *inner.c, *(func.grouping(col) for col in inner.c), func.count().label("n")
            ).group_by(
                func.grouping_sets(*(tuple_(*(inner.c[key] for key in keys)) for keys in sets))
            )
            at = {key: i for i, key in enumerate(names)}
            for row in self.session.execute(stmt):
                grouped = {names[i] for i in range(len(names)) if row[len(names) + i] == 0}
                keys = next(keys for keys in sets if set(keys) == grouped)
                key = row[at[keys[0]]] if len(keys) == 1 else tuple(row[at[k]] for k in keys)
                found[",".join(keys)][key] = int(row[-1])
        else:
            for keys in sets:
                cols = [inner.c[key] for key in keys]
                stmt = select(*cols, func.count().label("n")).group_by(*cols)
                rows = self.session.execute(stmt)
                if len(keys) == 1:
                    found[keys[0]] = {row[0]: int(row[1]) for row in rows}
                else:
                    found[",".join(keys)] = {tuple(row[:-1]): int(row[-1]) for row in rows}
        self._counts[name] = found
        return found

    def wanted(self, sets: dict[tuple[str, ...], tuple[str, ...]]) -> list[tuple[str, ...]]:
        """Of ``sets`` (each with the sections that use it), those the report builds."""
        return [keys for keys, users in sets.items() if self.sections & set(users)]

    def backlog(self) -> dict[str, dict[Any, int]]:
        """The active cases by status, type, source, owner, other party and age
        (:meth:`age_bucket` of the opening), from the backlog index alone."""
        columns = {
            "status": self.status,
            "type": c.type,
            "source": c.source,
            "owner": self.own_owner,
            self.party_field: self.party,
            "age": self.age_bucket(c.created_at),
        }
        sets = self.wanted(
            {
                ("status",): ("volume",),
                ("type",): ("volume",),
                ("source",): ("volume",),
                ("owner",): ("volume", "load"),
                (self.party_field,): ("volume",),
                ("age",): ("aging",),
            }
        )
        return self.counts("backlog", columns, self.active(), sets)

    def backlog_by_brand(self) -> dict[str, dict[Any, int]]:
        """The active cases by brand and by the age of the other side's latest
        message (-1: no message yet), from the active index alone."""
        latest = self.other_side_latest()
        bucket = case((latest.is_(None), literal_column("-1")), else_=self.age_bucket(latest))
        sets = self.wanted(
            {("brand",): ("volume",), ("priority",): ("volume",), ("latest",): ("aging",)}
        )
        columns = {"brand": c.brand, "priority": c.priority, "latest": bucket}
        return self.counts("brand", columns, self.active(), sets)

    def backlog_by_tag(self) -> dict[Any, int]:
        """The active cases by each of the viewer's organization's tags (a case with
        two counts under both), and those without any under None.

        Those without a tag are the active cases (:meth:`backlog`, counted
        already) less those with one: the tagged cases are read, not every
        active case of the side.
        """

        def tagged(columns: Sequence[Any], condition: ColumnElement[bool]) -> Select[Any]:
            return (
                self.cases(select(*columns))
                .join(tables.case_tags, ct.case_id == c.id)
                .where(*self.where(self.active(), condition))
            )

        by_tag = tagged((ct.tag_id, func.count().label("n")), ct.org_id == self.actor.org_id)
        found: dict[Any, int] = {
            row.tag_id: row.n for row in self.session.execute(by_tag.group_by(ct.tag_id))
        }
        with_one = tagged((func.count(func.distinct(c.id)),), own_tags(self.actor))
        active = sum(self.backlog()["status"].values())
        found[None] = active - int(self.session.scalar(with_one) or 0)
        return found

    def age_bucket(self, column: Any) -> Any:
        """How long ago ``column`` was: 0 over 14 days ... 4 under a day (:data:`AGES`)."""
        inner_edges = [self.now - timedelta(days=d) for d in (14, 7, 3, 1)]
        return bucket_of(column, [inner_edges[0], *inner_edges, inner_edges[-1]])

    # -- volume ------------------------------------------------------------------------
    def opened(self) -> dict[str, dict[Any, int]]:
        """The cases opened in the range by day (week), by source, and by type
        with whether each was ever solved and ever reopened.

        The case row knows when it was last reopened. A case leaves "solved"
        only by being reopened (an event every time), so a case was ever
        solved when it is solved now or was ever reopened.
        """
        edges = [b.start for b in self.buckets] + [self.end]
        ever_reopened = c.reopened_at.is_not(None)
        columns = {
            "bucket": bucket_of(c.created_at, edges),
            "source": c.source,
            "type": c.type,
            "solved": case((self.status == Status.SOLVED.value, 1), (ever_reopened, 1), else_=0),
            "reopened": case((ever_reopened, 1), else_=0),
        }
        sets = self.wanted(
            {
                ("bucket",): ("volume",),
                ("source",): ("volume",),
                ("type", "solved", "reopened"): ("speed",),
            }
        )
        return self.counts("opened", columns, self.opened_in_range(), sets)

    def solved(self) -> dict[str, dict[Any, int]]:
        """The cases solved in the range by day (week) and by who solved them."""
        edges = [b.start for b in self.buckets] + [self.end]
        columns = {"bucket": bucket_of(self.solved_at, edges), "solved_by": self.solved_by}
        sets = self.wanted({("bucket",): ("volume",), ("solved_by",): ("load",)})
        return self.counts("solved", columns, self.solved_in_range(), sets)

    def series(
        self, counts: dict[Any, int], picks: Callable[[Bucket], list[Filter]]
    ) -> list[CountRow]:
        """A row per day (week) of the range, from the counts by bucket index."""
        by_index = {int(bucket): n for bucket, n in counts.items()}
        return [
            CountRow(
                key=b.label.isoformat(),
                label=b.label.isoformat(),
                count=by_index.get(i, 0),
                query=self.drill(*picks(b)),
            )
            for i, b in enumerate(self.buckets)
        ]

    def opened_series(self) -> list[CountRow]:
        return self.series(
            self.opened()["bucket"], lambda b: [between("created_at", b.start, b.end)]
        )

    def solved_series(self) -> list[CountRow]:
        return self.series(
            self.solved()["bucket"], lambda b: [SOLVED, between("closed_at", b.start, b.end)]
        )

    def opened_by_source(self) -> dict[Any, int]:
        """The cases opened in the range by source."""
        return self.opened()["source"]

    def breakdown(
        self, dim: Dimension, counts: dict[Any, int], base: Sequence[Filter]
    ) -> tuple[list[CountRow], Rest | None]:
        """A row per value of ``dim`` (its cases counted in ``counts``), most
        first; with :attr:`top`, the largest only and the rest summed."""
        if dim.name == "owner":
            self.names("user", counts)
        elif dim.name == "tag":
            self.names("tag", counts)
        elif dim.name == self.party_field:
            self.names("org", counts)
        ranked = sorted(
            ((key, n) for key, n in counts.items() if n),
            key=lambda kn: (-kn[1], dim.label(kn[0])),
        )
        kept, left = self.keep_top(ranked)
        rows = [
            CountRow(
                key=key_of(key),
                label=dim.label(key),
                count=n,
                query=self.drill(*base, dim.pick(key)),
            )
            for key, n in kept
        ]
        return rows, rest_of([n for _, n in left])

    def keep_top(self, ranked: list[T]) -> tuple[list[T], list[T]]:
        """``ranked`` split into the rows a table keeps and those it leaves out."""
        if self.top is None:
            return ranked, []
        return ranked[: self.top], ranked[self.top :]

    # -- speed ---------------------------------------------------------------------------


#: The sources of cases in report rows: casekit's words (:mod:`casekit.labels`).
SOURCE_LABELS = VOCABULARIES["source"]


T = TypeVar("T")


def _priority(value: Any) -> Priority:
    """A priority as a count's key holds it (its rank where the database read it so)."""
    return Priority.of_rank(value) if isinstance(value, int) else Priority(value)


def rest_of(counts: Sequence[int]) -> Rest | None:
    """What the rows a table left out count (``counts``, one a row); None without any."""
    return Rest(rows=len(counts), cases=sum(counts)) if counts else None


def key_of(value: Any) -> str | int | None:
    if value is None or isinstance(value, (str, int)):
        return value
    return str(getattr(value, "value", value))


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
