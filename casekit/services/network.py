"""Network benchmarks: the job that computes them, and what each organization reads.

Reach it as ``kit.network``. The host switches benchmarks on with the
``network_benchmarks`` setting; each organization may opt out
(:meth:`NetworkService.set_participation`), and then neither contributes
nor sees. :meth:`NetworkService.compute` (``casekit network compute``) is
the job: for each period it reads the cases once
(:func:`casekit.query.network.contributions`), computes each
organization's own figures and the network's, applies the disclosure rules
(:mod:`casekit.domain.network`) and puts the figures in place of the
period's old ones. :meth:`NetworkService.benchmarks` reads only those
tables. See docs/benchmarks-network.rst.

Several processes may run the job at once: each computes from what it read
and writes in one transaction that first marks the period's row with the
moment it began reading (``as_of``); a run never writes over figures read
later than its own, so the figures in place are those of the latest read,
never a mixture.
"""

from __future__ import annotations

import builtins
import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from attrs import frozen
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from casekit.domain.actor import Actor
from casekit.domain.directory import Organization, OrgRole
from casekit.domain.network import (
    ALL_TYPES,
    DisclosureRules,
    Metric,
    NetworkFigure,
    Side,
    Suppression,
    complement_check,
    disclose,
    parse_period,
    period_bounds,
    period_of,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.network import contributions, opted_out, replace_figures, stored_figures
from casekit.services.base import Service
from casekit.store import tables

log = logging.getLogger(__name__)

p = tables.network_periods.c
o = tables.network_opt_outs.c

HOUR = 3600.0


@frozen(kw_only=True)
class Comparison:
    """One line of an organization's benchmarks: its own figure beside the network's.

    ``network`` is None when the network's figure is not published (or
    there is none); ``organizations`` is how many organizations the
    published network figure comes from.
    """

    metric: Metric
    case_type: str
    own: float | None
    own_cases: int | None
    network: float | None
    organizations: int | None


@frozen(kw_only=True)
class PartnerFigure:
    """A shipper's figure about one of its carriers (its response time), beside the network's."""

    partner_org_id: int
    partner_name: str
    metric: Metric
    value: float | None
    cases: int | None


@frozen(kw_only=True)
class Benchmarks:
    """What an organization reads: its figures of ``period`` beside the network's.

    ``participating`` is False for an organization that opted out: it then
    reads no figures. ``periods`` lists the computed periods, newest first.
    """

    org_id: int
    side: Side
    participating: bool
    period: str | None
    computed_at: datetime | None
    periods: builtins.list[str]
    comparisons: builtins.list[Comparison]
    partners: builtins.list[PartnerFigure]


@frozen(kw_only=True)
class ComputeResult:
    """What one run of the job did, per period: how many figures, or None when
    a run that read later had already written that period."""

    figures: dict[str, int | None]
    cases: int


class NetworkService(Service):
    """Network benchmarks. Reach it as ``kit.network``."""

    @property
    def rules(self) -> DisclosureRules:
        """The disclosure rules, from the settings."""
        s = self.kit.settings
        return DisclosureRules(
            min_organizations=s.network_min_organizations,
            max_share_percent=s.network_max_share_percent,
            min_cases=s.network_min_cases,
        )

    def _check_on(self) -> None:
        if not self.kit.settings.network_benchmarks:
            raise NotFound("network benchmarks", "off on this host")

    # -- taking part -------------------------------------------------------------------
    def participating(self, actor: Actor, org_id: int | None = None) -> bool:
        """Whether the organization (the actor's own by default) takes part."""
        self._check_on()
        org_id = _org(actor, org_id)
        with self._uow(write=False) as uow:
            return org_id not in opted_out(uow.session)

    def set_participation(
        self, actor: Actor, participating: bool, *, org_id: int | None = None
    ) -> bool:
        """Opt the organization in or out (its managers, or the host).

        Out, it reads no figures from now on, its own figures are deleted and
        its cases leave the network's figures at the job's next run.
        """
        self._check_on()
        org_id = _org(actor, org_id)
        if not (actor.is_unrestricted or actor.is_manager):
            raise PermissionDenied("only a manager decides whether the organization takes part")
        if not isinstance(participating, bool):
            raise InvalidInput({"participating": ["true or false"]})
        with self._uow() as uow:
            if uow.session.get(Organization, org_id) is None:
                raise NotFound("organization", org_id)
            uow.session.execute(delete(tables.network_opt_outs).where(o.org_id == org_id))
            if not participating:
                uow.session.execute(
                    insert(tables.network_opt_outs).values(
                        org_id=org_id, opted_out_at=self._now(), opted_out_by=actor.describe()
                    )
                )
                uow.session.execute(
                    delete(tables.network_figures).where(
                        (tables.network_figures.c.org_id == org_id)
                        | (tables.network_figures.c.partner_org_id == org_id)
                    )
                )
            uow.commit()
        log.info(
            "organization %s %s network benchmarks", org_id, "in" if participating else "out of"
        )
        return participating

    # -- reading ---------------------------------------------------------------------------
    def periods(self, actor: Actor) -> builtins.list[str]:
        """The computed periods, newest first (any staff member, or the host)."""
        self._check_on()
        if not (actor.is_staff or actor.is_unrestricted):
            raise PermissionDenied("benchmarks are for an organization's staff")
        with self._uow(write=False, replica=True) as uow:
            return _periods(uow.session)

    def benchmarks(self, actor: Actor, period: str | None = None) -> Benchmarks:
        """The actor's organization's figures of ``period`` (the newest computed by
        default) beside the network's published ones. Reads only the job's tables."""
        self._check_on()
        if not actor.is_staff or actor.org_id is None:
            raise PermissionDenied("benchmarks are for an organization's staff")
        if period is not None:
            period = parse_period(period)
        org_id = actor.org_id
        with self._uow(write=False, replica=True) as uow:
            session = uow.session
            org = session.get(Organization, org_id)
            if org is None:
                raise NotFound("organization", org_id)
            side = Side.CARRIER if org.role is OrgRole.CARRIER else Side.SHIPPER
            periods = _periods(session)
            if org_id in opted_out(session):
                return Benchmarks(
                    org_id=org_id,
                    side=side,
                    participating=False,
                    period=None,
                    computed_at=None,
                    periods=[],
                    comparisons=[],
                    partners=[],
                )
            if period is None:
                period = periods[0] if periods else None
            elif period not in periods:
                raise NotFound("benchmark period", period)
            comparisons: list[Comparison] = []
            partners: list[PartnerFigure] = []
            computed_at = None
            if period is not None:
                computed_at = session.scalar(select(p.computed_at).where(p.period == period))
                figures = stored_figures(session, period, side, [org_id, None])
                if side is Side.SHIPPER:
                    # The carriers' response times sit beside the carriers' network figure.
                    figures += [
                        fig
                        for fig in stored_figures(session, period, Side.CARRIER, [None])
                        if fig.metric is Metric.RESPONSE_HOURS and fig.case_type == ALL_TYPES
                    ]
                comparisons = _compare(figures, org_id)
                partners = _partners(session, figures, org_id)
        return Benchmarks(
            org_id=org_id,
            side=side,
            participating=True,
            period=period,
            computed_at=computed_at,
            periods=periods,
            comparisons=comparisons,
            partners=partners,
        )

    # -- the job ---------------------------------------------------------------------------
    def compute(
        self, actor: Actor, periods: Sequence[str] | None = None, *, months: int | None = None
    ) -> ComputeResult:
        """Compute the figures of ``periods`` (by default the ``network_months``
        latest months, this one included) and put them in place of the old.

        The host's call (an unrestricted actor). Asks the
        ``casekit_network_volumes`` hook for each organization's shipments,
        and tells ``casekit_network_computed`` what it wrote.
        """
        self._check_on()
        if not actor.is_unrestricted:
            raise PermissionDenied("the host runs the network benchmarks job")
        now = self._now()
        if periods is None:
            count = months if months is not None else self.kit.settings.network_months
            if not isinstance(count, int) or count < 1:
                raise InvalidInput({"months": ["a whole number of at least 1"]})
            periods = [period_of(now, back) for back in range(count)]
        else:
            periods = sorted({parse_period(text) for text in periods})
        result: dict[str, int | None] = {}
        cases = 0
        for period in periods:
            written, read = self._compute_period(period)
            result[period] = written
            cases += read
        return ComputeResult(figures=result, cases=cases)

    def _compute_period(self, period: str) -> tuple[int | None, int]:
        start, end = period_bounds(period)
        as_of = self._now()
        with self._uow(write=False) as uow:
            roles = {org.id: org.role for org in uow.session.scalars(select(Organization))}
            keys = {
                org.external_id: org.id
                for org in uow.session.scalars(select(Organization))
                if org.external_id
            }
            out = opted_out(uow.session)
            tally = _Tally()
            for row in contributions(uow.session, start, end):
                tally.add(*row)
        volumes = self._volumes(period, start, end, keys, roles, out)
        figures = tally.figures(period, volumes, roles, self.rules)
        self._claim(period)
        with self._uow() as uow:
            won = (
                uow.connection()
                .execute(
                    update(tables.network_periods)
                    .where(p.period == period, (p.as_of.is_(None)) | (p.as_of <= as_of))
                    .values(as_of=as_of, computed_at=self._now(), figures=len(figures))
                )
                .rowcount
            )
            if not won:
                log.info("network benchmarks of %s: a later run has written them", period)
                return None, tally.cases
            replace_figures(uow.connection(), period, figures)
            uow.commit()
        log.info(
            "network benchmarks of %s: %d figures from %d cases", period, len(figures), tally.cases
        )
        self.kit.hooks.network_computed(period=period, figures=figures)
        return len(figures), tally.cases

    def _claim(self, period: str) -> None:
        """The period's row, inserted when it is missing (by this run or another)."""
        with self._uow() as uow:
            if uow.session.scalar(select(p.period).where(p.period == period)) is not None:
                return
            try:
                uow.session.execute(insert(tables.network_periods).values(period=period))
                uow.commit()
            except IntegrityError:
                pass  # another run inserted it first

    def _volumes(
        self,
        period: str,
        start: datetime,
        end: datetime,
        keys: Mapping[str, int | None],
        roles: Mapping[int | None, OrgRole],
        out: set[int],
    ) -> dict[int, int]:
        """Shipments per organization in the period, as the host tells them."""
        told = self.kit.hooks.network_volumes(period=period, start=start, end=end) or {}
        volumes: dict[int, int] = {}
        for key, shipments in told.items():
            org_id = keys.get(key) if isinstance(key, str) else key
            if not isinstance(org_id, int) or org_id not in roles or org_id in out:
                continue
            if isinstance(shipments, bool) or not isinstance(shipments, int) or shipments < 0:
                log.warning("network volumes: %r shipments for %r ignored", shipments, key)
                continue
            volumes[org_id] = shipments
        return volumes


def _org(actor: Actor, org_id: int | None) -> int:
    if actor.is_unrestricted:
        if org_id is None:
            raise InvalidInput({"org_id": ["say which organization"]})
        return org_id
    if not actor.is_staff or actor.org_id is None:
        raise PermissionDenied("benchmarks are for an organization's staff")
    if org_id not in (None, actor.org_id):
        raise NotFound("organization", org_id)
    return actor.org_id


def _periods(session: object) -> builtins.list[str]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    return list(
        session.scalars(
            select(p.period).where(p.computed_at.is_not(None)).order_by(p.period.desc())
        )
    )


def _median_hours(values: Sequence[float]) -> float | None:
    return round(statistics.median(values) / HOUR, 2) if values else None


class _Tally:
    """The cases of a period, summed by side, organization and case type."""

    def __init__(self) -> None:
        self.cases = 0
        # side -> org -> type -> cases
        self.counts: dict[Side, dict[int, dict[str, int]]] = {s: defaultdict(dict) for s in Side}
        # (side, metric) -> org -> type -> seconds
        self.values: dict[tuple[Side, Metric], dict[int, dict[str, list[float]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        # shipper -> carrier -> seconds to the carrier's first response
        self.partners: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.types: set[str] = set()

    def add(
        self,
        shipper: int,
        carrier: int | None,
        case_type: str,
        solved: float | None,
        carrier_solved: float | None,
        response: float | None,
    ) -> None:
        self.cases += 1
        self.types.add(case_type)
        self._count(Side.SHIPPER, shipper, case_type)
        if solved is not None and solved >= 0:
            self.values[(Side.SHIPPER, Metric.SOLVE_HOURS)][shipper][case_type].append(solved)
        if carrier is None:
            return
        self._count(Side.CARRIER, carrier, case_type)
        if carrier_solved is not None and carrier_solved >= 0:
            self.values[(Side.CARRIER, Metric.SOLVE_HOURS)][carrier][case_type].append(
                carrier_solved
            )
        if response is not None and response >= 0:
            self.values[(Side.CARRIER, Metric.RESPONSE_HOURS)][carrier][case_type].append(response)
            self.partners[shipper][carrier].append(response)

    def _count(self, side: Side, org: int, case_type: str) -> None:
        by_type = self.counts[side][org]
        by_type[case_type] = by_type.get(case_type, 0) + 1

    def figures(
        self,
        period: str,
        volumes: Mapping[int, int],
        roles: Mapping[int | None, OrgRole],
        rules: DisclosureRules,
    ) -> builtins.list[NetworkFigure]:
        found: list[NetworkFigure] = []
        types = sorted(self.types)
        for side in Side:
            role = OrgRole.CARRIER if side is Side.CARRIER else OrgRole.SHIPPER
            shipping = {org: n for org, n in volumes.items() if n > 0 and roles.get(org) is role}
            found += self._rates(period, side, shipping, types, rules)
            metrics = [Metric.SOLVE_HOURS]
            if side is Side.CARRIER:
                metrics.append(Metric.RESPONSE_HOURS)
            for metric in metrics:
                found += self._medians(period, side, metric, rules)
        for shipper, carriers in sorted(self.partners.items()):
            for carrier, seconds in sorted(carriers.items()):
                found.append(
                    _own(
                        period,
                        Side.SHIPPER,
                        Metric.RESPONSE_HOURS,
                        ALL_TYPES,
                        shipper,
                        _median_hours(seconds),
                        len(seconds),
                        partner=carrier,
                    )
                )
            every = [s for values in carriers.values() for s in values]
            found.append(
                _own(
                    period,
                    Side.SHIPPER,
                    Metric.RESPONSE_HOURS,
                    ALL_TYPES,
                    shipper,
                    _median_hours(every),
                    len(every),
                )
            )
        return found

    def _rates(
        self,
        period: str,
        side: Side,
        shipping: Mapping[int, int],
        types: Sequence[str],
        rules: DisclosureRules,
    ) -> builtins.list[NetworkFigure]:
        found: list[NetworkFigure] = []
        counts = self.counts[side]
        if not shipping:
            return found
        shipments = sum(shipping.values())
        suppressed_parts: list[Mapping[int, int]] = []
        network: list[NetworkFigure] = []
        for case_type in [*types, ALL_TYPES]:
            group = {org: _cases(counts.get(org, {}), case_type) for org in shipping}
            for org, n in group.items():
                # A type without a case of the organization's is a rate of 0 (see _compare).
                if n or case_type == ALL_TYPES:
                    rate = round(n * 1000 / shipping[org], 3)
                    found.append(_own(period, side, Metric.CASE_RATE, case_type, org, rate, n))
            reason = disclose(
                {org: n for org, n in group.items() if n}, rules, organizations=len(group)
            )
            if case_type == ALL_TYPES and reason is None:
                reason = complement_check(suppressed_parts, rules)
            elif reason is not None:
                suppressed_parts.append(group)
            value = round(sum(group.values()) * 1000 / shipments, 3)
            network.append(
                _network(
                    period,
                    side,
                    Metric.CASE_RATE,
                    case_type,
                    value,
                    sum(group.values()),
                    len(group),
                    reason,
                )
            )
        return found + network

    def _medians(
        self, period: str, side: Side, metric: Metric, rules: DisclosureRules
    ) -> builtins.list[NetworkFigure]:
        found: list[NetworkFigure] = []
        by_org = self.values.get((side, metric), {})
        types = sorted({t for per_type in by_org.values() for t in per_type})
        for case_type in [*types, ALL_TYPES]:
            pooled: list[float] = []
            group: dict[int, int] = {}
            for org, per_type in sorted(by_org.items()):
                seconds = (
                    [s for values in per_type.values() for s in values]
                    if case_type == ALL_TYPES
                    else per_type.get(case_type, [])
                )
                if not seconds:
                    continue
                group[org] = len(seconds)
                pooled += seconds
                found.append(
                    _own(period, side, metric, case_type, org, _median_hours(seconds), len(seconds))
                )
            if group:
                found.append(
                    _network(
                        period,
                        side,
                        metric,
                        case_type,
                        _median_hours(pooled),
                        len(pooled),
                        len(group),
                        disclose(group, rules),
                    )
                )
        return found


def _cases(by_type: Mapping[str, int], case_type: str) -> int:
    return sum(by_type.values()) if case_type == ALL_TYPES else by_type.get(case_type, 0)


def _own(
    period: str,
    side: Side,
    metric: Metric,
    case_type: str,
    org: int,
    value: float | None,
    cases: int,
    *,
    partner: int | None = None,
) -> NetworkFigure:
    return NetworkFigure(
        period=period,
        side=side,
        metric=metric,
        case_type=case_type,
        org_id=org,
        partner_org_id=partner,
        value=value,
        cases=cases,
        organizations=None,
        suppressed=None,
    )


def _network(
    period: str,
    side: Side,
    metric: Metric,
    case_type: str,
    value: float | None,
    cases: int,
    organizations: int,
    reason: Suppression | None,
) -> NetworkFigure:
    """A network figure; a suppressed one keeps neither its value nor its cases."""
    return NetworkFigure(
        period=period,
        side=side,
        metric=metric,
        case_type=case_type,
        org_id=None,
        partner_org_id=None,
        value=None if reason else value,
        cases=None if reason else cases,
        organizations=organizations,
        suppressed=reason,
    )


def _compare(figures: Iterable[NetworkFigure], org_id: int) -> builtins.list[Comparison]:
    own: dict[tuple[Metric, str], NetworkFigure] = {}
    network: dict[tuple[Metric, str], NetworkFigure] = {}
    for fig in figures:
        key = (fig.metric, fig.case_type)
        if fig.org_id == org_id and fig.partner_org_id is None:
            own[key] = fig
        elif fig.org_id is None:
            network[key] = fig
    # An organization with shipments (its rate of all types) and no case of a type has
    # a rate of 0 for it: the job stores no row for it.
    shipping = (Metric.CASE_RATE, ALL_TYPES) in own
    lines = []
    for key in sorted(
        own.keys() | network.keys(),
        key=lambda k: (list(Metric).index(k[0]), k[1] != ALL_TYPES, k[1]),
    ):
        mine, theirs = own.get(key), network.get(key)
        published = theirs is not None and theirs.published
        none = shipping and key[0] is Metric.CASE_RATE and mine is None
        lines.append(
            Comparison(
                metric=key[0],
                case_type=key[1],
                own=mine.value if mine else (0.0 if none else None),
                own_cases=mine.cases if mine else (0 if none else None),
                network=theirs.value if published and theirs else None,
                organizations=theirs.organizations if published and theirs else None,
            )
        )
    return lines


def _partners(
    session: object, figures: Iterable[NetworkFigure], org_id: int
) -> builtins.list[PartnerFigure]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    mine = [f for f in figures if f.org_id == org_id and f.partner_org_id is not None]
    if not mine:
        return []
    rows = session.execute(
        select(tables.organizations.c.id, tables.organizations.c.name).where(
            tables.organizations.c.id.in_(sorted({f.partner_org_id for f in mine}))
        )
    )
    names: dict[int | None, str] = {row.id: row.name for row in rows}
    return sorted(
        (
            PartnerFigure(
                partner_org_id=f.partner_org_id,
                partner_name=names.get(f.partner_org_id, ""),
                metric=f.metric,
                value=f.value,
                cases=f.cases,
            )
            for f in mine
            if f.partner_org_id is not None
        ),
        key=lambda pf: (pf.partner_name.lower(), pf.partner_org_id),
    )
