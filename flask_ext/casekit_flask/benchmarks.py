"""The Benchmarks page, beside the dashboard: the organization's figures and the network's.

Each side reads its own: a shipper its case rates, times to solve and its
carriers' response times, a carrier the same against other carriers. Only
the job's tables are read (``kit.network``); a host with benchmarks off
has no such page (404). A manager opts the organization in or out here.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import InvalidInput
from casekit.domain.network import ALL_TYPES, Metric, Side
from casekit.errors import NotFound
from casekit.services.network import Benchmarks, Comparison
from casekit_flask.dashboard import _messages, dashboard, require_staff
from casekit_flask.extension import current_kit

TITLES = {
    Metric.CASE_RATE: "Cases per 1,000 shipments",
    Metric.SOLVE_HOURS: "Median hours to solve",
    Metric.RESPONSE_HOURS: "Median hours to the carrier's first response",
}


def figure(value: float | None) -> str:
    """A figure as the page shows it: at most two decimals, a dash for none."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _sections(shown: Benchmarks) -> list[tuple[Metric, str, list[Comparison]]]:
    found = []
    for metric in Metric:
        lines = [c for c in shown.comparisons if c.metric is metric]
        if lines:
            found.append((metric, TITLES[metric], lines))
    return found


@dashboard.route("/dashboard/benchmarks", methods=["GET", "POST"])
def benchmarks() -> ResponseReturnValue:
    """The organization's figures of a month beside the network's; a manager's opt-out."""
    actor = require_staff()
    kit = current_kit()
    if not kit.settings.network_benchmarks:
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        choice = request.form.get("participating", "")
        if choice not in ("yes", "no"):
            errors = {"participating": ["choose whether to take part"]}
        else:
            kit.network.set_participation(actor, choice == "yes")
            flash(
                "The organization takes part in network benchmarks."
                if choice == "yes"
                else "The organization no longer takes part in network benchmarks."
            )
            return redirect(url_for(".benchmarks"))
    period = (request.args.get("period") or "").strip() or None
    try:
        shown = kit.network.benchmarks(actor, period)
    except InvalidInput as error:
        errors = _messages(error)
        shown = kit.network.benchmarks(actor)
    except NotFound:
        errors = {"period": [f"no benchmarks computed for {period}"]}
        shown = kit.network.benchmarks(actor)
    labels = {code: t.label for code, t in kit.case_types.items()}
    return render_template(
        "casekit/dashboard/benchmarks.html",
        actor=actor,
        shown=shown,
        sections=_sections(shown),
        errors=errors,
        figure=figure,
        type_label=lambda code: "All types" if code == ALL_TYPES else labels.get(code, code),
        carrier_side=shown.side is Side.CARRIER,
    ), (400 if errors else 200)
