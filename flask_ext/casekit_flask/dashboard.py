"""The dashboard blueprint: a lead's reports as a page, CSV and JSON, and the targets form.

Every number comes from ``kit.reports`` (the same scoped query layer as the
Case Management list), so a carrier's dashboard counts only its cases. Charts
are SVG drawn on the server by :mod:`casekit.charts`; each bar and number
links to the Case Management page with the filter that lists exactly the
cases it counts.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode
from zoneinfo import ZoneInfo

import attrs
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from casekit import Actor, InvalidInput, OrgRole
from casekit.charts import Bar, bar_chart, duration, line_chart
from casekit.query.listing import ListQuery
from casekit.query.report_models import (
    BreachRow,
    ClockRow,
    CountRow,
    DurationRow,
    LoadRow,
    ReopenRow,
    Report,
    Table,
)
from casekit.schemas.reports import REPORT_FILTERS, zone_of
from casekit.schemas.views import dump_query
from casekit.services.reports import SECTIONS
from casekit.services.type_targets import set_type_target, type_targets
from casekit_flask import listing, rendering
from casekit_flask.extension import (
    current_kit,
    register_error_handlers,
    require_actor,
    sharing_reads,
)

dashboard = Blueprint("casekit_dashboard", __name__, template_folder="templates")
register_error_handlers(dashboard)


@dashboard.record_once
def _install(setup: Any) -> None:
    rendering.install(setup.app)
    setup.app.jinja_env.globals["casekit_dashboard"] = True  # the staff pages link to it
    # ... and to the Benchmarks page when the host has network benchmarks on.
    setup.app.jinja_env.globals["casekit_network_benchmarks"] = _network_on


#: The range shown when none is asked for: the last 30 days, today included.
DEFAULT_DAYS = 30
#: The filters whose values are ids.
ID_FILTERS = ("carrier", "shipper", "owner")
#: The rows a table of groups shows on the page (the largest; its "All" link shows every one).
PAGE_ROWS = 25
#: The bars a chart draws (the largest) before one "Other" bar for the rest.
CHART_BARS = 10
#: What a table of groups lists, by its name's end (``backlog_by_brand``: brands).
GROUP_NOUNS = {
    "status": "statuses",
    "type": "case types",
    "carrier": "carriers",
    "shipper": "shippers",
    "brand": "brands",
    "owner": "owners",
    "source": "sources",
}
SECTION_TITLES = {
    "volume": "Volume",
    "speed": "Speed",
    "load": "Load",
    "aging": "Aging",
    "targets": "Targets",
}


def _network_on() -> bool:
    return bool(current_kit().settings.network_benchmarks)


def require_staff() -> Actor:
    actor = require_actor()
    if not actor.is_user:
        abort(404)
    return actor


# -- request arguments to a report query ----------------------------------------------------
def report_query_from_args(args: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON form of a report query (see :mod:`casekit.schemas.reports`) from GET arguments.

    ``from`` and ``to`` default to the last :data:`DEFAULT_DAYS` days in
    ``timezone`` (UTC by default); each filter is its argument repeated (or
    comma-separated). Values that are not ids stay text, so the core's
    error names the filter.
    """
    timezone = (args.get("timezone") or "UTC").strip()
    query: dict[str, Any] = {"timezone": timezone}
    start, end = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if not start or not end:
        zone = zone_of(timezone) if _zone_ok(timezone) else ZoneInfo("UTC")
        last = current_kit().clock.now().astimezone(zone).date()
        end = end or last.isoformat()
        start = start or (_day(end, last) - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    query["from"], query["to"] = start, end
    granularity = (args.get("granularity") or "").strip()
    if granularity:
        query["granularity"] = granularity
    filters: dict[str, Any] = {}
    for name in REPORT_FILTERS:
        values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
        if values:
            filters[name] = (
                [int(v) if v.isdigit() else v for v in values] if name in ID_FILTERS else values
            )
    if filters:
        query["filters"] = filters
    return query


def _zone_ok(name: str) -> bool:
    try:
        zone_of(name)
    except ValueError:
        return False
    return True


def _day(text: str, fallback: date) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return fallback


def drill_url(query: ListQuery | None) -> str | None:
    """The Case Management page's URL that lists the cases of ``query``.

    A dashboard links a number per row, two for a row that is also a bar of
    a chart (a carrier's, with its shippers and their brands, some 2,300):
    each query is written once per request, the list page's address is
    built once, and each argument is quoted once per process (the
    arguments that all the links of a report share, its range and filters,
    repeat in every link).
    """
    if query is None:
        return None
    written: dict[Any, str] = g.setdefault("casekit_drill_urls", {})
    url = written.get(query)
    if url is None:
        base = written.get(None)
        if base is None:
            base = written[None] = url_for("casekit_staff.case_list")
        args = listing.args_from_query(dump_query(query))
        url = written[query] = (
            base + "?" + "&".join(_argument(k, v) for k, v in args.items(multi=True))
        )
    return url


@functools.lru_cache(maxsize=4096)
def _argument(name: str, value: str) -> str:
    """``name=value`` in a query string, quoted as ``urllib.parse.urlencode`` quotes it."""
    return f"{quote_plus(name)}={quote_plus(value)}"


def _section_of(table: str) -> str | None:
    if table in ("opened", "solved", "opened_by_source") or table.startswith("backlog_by_"):
        return "volume"
    if table.startswith(("first_response", "resolution")) or table == "reopens":
        return "speed"
    if table == "load":
        return "load"
    if table.startswith("aging_by_"):
        return "aging"
    if table.startswith("targets") or table == "breaches":
        return "targets"
    return None


# -- charts -----------------------------------------------------------------------------------
def chart(table: Table) -> Markup | None:
    """The table's chart as inline SVG, each bar linked to its cases; None for a list.

    A chart of counts draws its :data:`CHART_BARS` largest and one "Other"
    bar for the rest (the rows the page left out included; it has no link,
    no list filter excluding many values being on offer); a chart of
    medians draws the groups with the most cases and says how many it
    leaves out (a median of the rest cannot be drawn from their medians).
    """
    rows = table.rows
    if table.name in ("opened", "solved"):
        points = [Bar(r.label, r.count, drill_url(r.query)) for r in rows]
        return Markup(line_chart(points, title=table.title))
    if not rows:
        return Markup(bar_chart([], title=table.title))
    first = rows[0]
    shown, left = rows[:CHART_BARS], rows[CHART_BARS:]
    more = len(left) + (table.rest.rows if table.rest else 0)
    if isinstance(first, CountRow):
        bars = [Bar(r.label, r.count, drill_url(r.query)) for r in shown]
        if more:
            rest = sum(r.count for r in left) + (table.rest.cases if table.rest else 0)
            bars.append(Bar(f"Other ({more} more)", rest))
        return Markup(bar_chart(bars, title=table.title))
    if isinstance(first, DurationRow):
        bars = [
            Bar(r.label, r.median_seconds, drill_url(r.query))
            for r in shown
            if r.median_seconds is not None
        ]
        title = f"{table.title}: median"
        if more:
            title += f" ({len(shown)} with the most cases; {more} more not drawn)"
        return Markup(bar_chart(bars, title=title, formatter=duration))
    if isinstance(first, LoadRow):
        bars = [Bar(r.name, r.active_owned, drill_url(r.active_query)) for r in shown]
        if more:
            bars.append(Bar(f"Other ({more} more)", sum(r.active_owned for r in left)))
        return Markup(bar_chart(bars, title=f"{table.title}: active cases owned"))
    # Reopens, the service levels (a row per group and kind of clock, seven
    # columns that want the width) and the breaching cases: numbers read better.
    return None


def group_noun(table: Table) -> str:
    """What ``table``'s rows are, plural: ``brands`` for ``backlog_by_brand``."""
    _, _, group = table.name.rpartition("_by_")
    return GROUP_NOUNS.get(group, "rows")


def row_kind(row: Any) -> str:
    for kind, cls in (
        ("count", CountRow),
        ("duration", DurationRow),
        ("reopen", ReopenRow),
        ("load", LoadRow),
        ("clock", ClockRow),
        ("breach", BreachRow),
    ):
        if isinstance(row, cls):
            return kind
    return "other"  # pragma: no cover - every row kind is above


def hours(seconds: float | None) -> str:
    """Seconds as hours for the targets form (``1.5``); empty for None."""
    if seconds is None:
        return ""
    return f"{seconds / 3600:g}"


# -- the page ----------------------------------------------------------------------------------
@dashboard.get("/dashboard")
@sharing_reads
def page() -> ResponseReturnValue:
    """The dashboard: each table of groups its :data:`PAGE_ROWS` largest rows;
    with ``?table=<name>``, that one table in full."""
    actor = require_staff()
    kit = current_kit()
    query = report_query_from_args(request.args)
    errors: dict[str, list[str]] = {}
    report: Report | None = None
    single = (request.args.get("table") or "").strip() or None
    try:
        if single is None:
            report = kit.reports.dashboard(actor, query, top=PAGE_ROWS)
        else:
            section = _section_of(single)
            if section is None:
                raise InvalidInput({"table": [f"no table {single!r} on the dashboard"]})
            report = kit.reports.dashboard(actor, query, sections=[section])
            report.table(single)
    except InvalidInput as error:
        errors = _messages(error)
        report = None
    except KeyError:
        errors = {"table": [f"no table {single!r} on the dashboard"]}
        report = None
    return render_template(
        "casekit/dashboard/dashboard.html",
        **_context(actor, query, report, errors, single),
    ), (400 if errors else 200)


def _context(
    actor: Actor,
    query: dict[str, Any],
    report: Report | None,
    errors: dict[str, list[str]],
    single: str | None = None,
) -> dict[str, Any]:
    kit = current_kit()
    assert actor.org_id is not None
    organization = kit.directory.organization(actor, actor.org_id)
    is_shipper = organization.role is OrgRole.SHIPPER
    partners = kit.directory.organizations(
        actor, OrgRole.CARRIER if is_shipper else OrgRole.SHIPPER
    )
    args = request.args
    kept = [(k, v) for k, v in args.items(multi=True) if k != "table"]
    sections = [
        (name, SECTION_TITLES[name], report.section(name))
        for name in SECTIONS
        if report and any(s.name == name for s in report.sections)
    ]
    if single is not None:
        sections = [
            (name, title, attrs.evolve(section, totals=(), tables=(section.table(single),)))
            for name, title, section in sections
            if any(t.name == single for t in section.tables)
        ]
    return {
        "actor": actor,
        "organization": organization,
        "query": query,
        "report": report,
        "errors": errors,
        "single": single,
        "sections": sections,
        "party_field": "carrier" if is_shipper else "shipper",
        "partners": partners,
        "colleagues": kit.directory.users(actor),
        "case_types": kit.case_types,
        "sources": _sources(),
        "chosen": {name: set(args.getlist(name)) for name in REPORT_FILTERS},
        "brand_text": ", ".join(args.getlist("brand")),
        "chart": chart,
        "drill_url": drill_url,
        "row_kind": row_kind,
        "group_noun": group_noun,
        "duration": duration,
        "query_string": urlencode(kept),
        "action_report": _action_report(actor, query) if report else None,
        "claim_report": _claim_report(actor, query) if report else None,
    }


def _period(query: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The report's days (UTC, both included) as ``[start, end)``; None for no period."""
    try:
        start = datetime.combine(date.fromisoformat(query["from"]), time(), tzinfo=UTC)
        end = datetime.combine(date.fromisoformat(query["to"]), time(), tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return None
    return start, end + timedelta(days=1)


def _action_report(actor: Actor, query: dict[str, Any]) -> Any:
    """Appointments kept and missed by carrier, dispositions by choice, over the
    period's days (UTC) of the cases the actor sees (``kit.actions.report``)."""
    period = _period(query)
    if period is None:
        return current_kit().actions.report(actor)
    return current_kit().actions.report(actor, start=period[0], end=period[1])


def _claim_report(actor: Actor, query: dict[str, Any]) -> Any:
    """Freight claims filed in the period's days (UTC), their recovery rate and median
    days to pay, by carrier and currency, over the claims the actor reads
    (``kit.claims.report``: a shipper its own, a carrier those filed with it)."""
    period = _period(query)
    if period is None:
        return current_kit().claims.report(actor)
    return current_kit().claims.report(actor, start=period[0], end=period[1])


def _sources() -> dict[str, str]:
    from casekit.domain.case import Source
    from casekit.query.reports import SOURCE_LABELS

    return {s.value: SOURCE_LABELS.get(s.value, s.value) for s in Source}


@dashboard.get("/dashboard.json")
def as_json() -> ResponseReturnValue:
    """The whole report as JSON: what the page shows, each number with its list query."""
    actor = require_staff()
    query = report_query_from_args(request.args)
    try:
        report = current_kit().reports.dashboard(actor, query)
    except InvalidInput as error:
        return {"errors": _messages(error)}, 400
    return report.to_json()


@dashboard.get("/dashboard/<table>.csv")
def table_csv(table: str) -> ResponseReturnValue:
    """One table of the report as CSV (a download)."""
    actor = require_staff()
    section = _section_of(table)
    if section is None:
        abort(404)
    query = report_query_from_args(request.args)
    try:
        report = current_kit().reports.dashboard(actor, query, sections=[section])
        found = report.table(table)
    except InvalidInput as error:
        lines = "\n".join(f"{k}: {'; '.join(v)}" for k, v in _messages(error).items())
        return Response(lines + "\n", status=400, mimetype="text/plain")
    except KeyError:
        abort(404)
    name = f"{table}-{report.query.start.isoformat()}-{report.query.end.isoformat()}.csv"
    return Response(
        found.csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- targets ---------------------------------------------------------------------------------------
@dashboard.route("/dashboard/targets", methods=["GET", "POST"])
def targets() -> ResponseReturnValue:
    """Each case type's first-response and resolution target; a manager changes them.

    Each is the organization's service level of that one case type
    (:mod:`casekit.services.type_targets`), the shape the dashboard's targets
    had before service levels; the service-level settings set every other.
    """
    actor = require_staff()
    kit = current_kit()
    errors: dict[str, list[str]] = {}
    form: Any = {}
    if request.method == "POST":
        form = request.form
        case_type = form.get("case_type", "")
        values: dict[str, int | None] = {}
        for name in ("first_response", "resolution"):
            raw = (form.get(name) or "").strip()
            if not raw:
                values[name] = None
                continue
            try:
                number = float(raw)
            except ValueError:
                errors[name] = ["a number of hours, like 4 or 1.5"]
                continue
            if not 0 < number < 1e6:
                errors[name] = ["between one minute and 366 days"]
                continue
            values[name] = round(number * 3600)
        if not errors:
            try:
                set_type_target(
                    kit,
                    actor,
                    case_type,
                    first_response=values["first_response"],
                    resolution=values["resolution"],
                )
            except InvalidInput as error:
                errors = _messages(error)
            else:
                label = kit.case_types[case_type].label
                flash(f"Saved the targets for {label}.")
                return redirect(url_for(".targets"))
    current = {t.case_type: t for t in type_targets(kit, actor)}
    return render_template(
        "casekit/dashboard/targets.html",
        actor=actor,
        case_types=kit.case_types,
        current=current,
        errors=errors,
        form=form,
        hours=hours,
    ), (400 if errors else 200)


def _messages(error: InvalidInput) -> dict[str, list[str]]:
    return {k: [str(m) for m in v] for k, v in error.errors.items()}


from casekit_flask import benchmarks as _benchmark_routes  # noqa: E402, F401
