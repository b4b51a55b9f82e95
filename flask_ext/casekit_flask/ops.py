"""What operators ask of a running casekit: a health check and Prometheus metrics.

``GET /casekit/health`` (``CASEKIT_OPS_URL_PREFIX``) is for load balancers:
no authentication, no case data, a few cheap queries
(:func:`casekit.health.check_health`); 200 with the checks when healthy,
503 naming the failed ones otherwise.

``GET /casekit/metrics`` exists only with ``CASEKIT_METRICS`` on (it needs
``casekit-flask[metrics]``): casekit's metrics
(:class:`casekit.metrics.CaseKitMetrics`) and the duration of every request
to casekit's pages and API, labelled by endpoint name, method and status
class, never by URL. With ``CASEKIT_METRICS_TOKEN`` set, a scrape must send
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from attrs import define
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from casekit_flask.extension import State, current_kit

log = logging.getLogger(__name__)

health = Blueprint("casekit_health", __name__)
metrics = Blueprint("casekit_metrics", __name__)

#: The buckets of the request duration histogram, in seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@define
class Ops:
    """What one app holds in ``app.extensions["casekit_ops"]``."""

    metrics: Any = None  # casekit.metrics.CaseKitMetrics
    requests: Any = None  # the request duration Histogram
    token: str | None = None


def init_ops(app: Flask, st: State) -> None:
    """Mount the health endpoint, and with ``CASEKIT_METRICS`` the metrics one."""
    prefix = "/" + str(app.config["CASEKIT_OPS_URL_PREFIX"]).strip("/")
    found = Ops(token=app.config["CASEKIT_METRICS_TOKEN"] or None)
    app.extensions["casekit_ops"] = found
    if app.config["CASEKIT_HEALTH"]:
        app.register_blueprint(health, url_prefix=prefix)
    if not app.config["CASEKIT_METRICS"]:
        return
    from casekit.metrics import CaseKitMetrics, prometheus

    found.metrics = CaseKitMetrics(st.kit, registry=app.config["CASEKIT_METRICS_REGISTRY"])
    found.requests = prometheus().Histogram(
        "casekit_http_request_duration_seconds",
        "Duration of requests to casekit's pages and API, by endpoint, method and status class.",
        ["endpoint", "method", "status"],
        buckets=REQUEST_BUCKETS,
        registry=found.metrics.registry,
    )
    app.before_request(_started)
    app.after_request(_timed)
    app.register_blueprint(metrics, url_prefix=prefix)


def _started() -> None:
    if (request.endpoint or "").startswith("casekit"):
        g.casekit_started = time.perf_counter()


def _timed(response: Response) -> Response:
    started = g.pop("casekit_started", None)
    if started is not None:
        current_app.extensions["casekit_ops"].requests.labels(
            request.endpoint, request.method, f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
    return response


@health.get("/health")
def check() -> ResponseReturnValue:
    """The health of casekit here: 200 when every check passes, 503 naming those that fail."""
    report = current_kit().health()
    response = jsonify(report.as_dict())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@metrics.get("/metrics")
def scrape() -> ResponseReturnValue:
    """casekit's metrics in Prometheus's text format (OpenMetrics when asked for)."""
    ops: Ops = current_app.extensions["casekit_ops"]
    if ops.token is not None:
        kind, _, given = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), ops.token.encode()
        ):
            log.warning(
                "casekit: metrics scrape refused from %s: %s",
                request.remote_addr,
                "no bearer token" if not given.strip() else "wrong bearer token",
            )
            return Response(
                "a bearer token is needed\n",
                401,
                {"WWW-Authenticate": 'Bearer realm="casekit metrics"', "Cache-Control": "no-store"},
                mimetype="text/plain",
            )
    body, content_type = ops.metrics.exposition(request.headers.get("Accept"))
    return Response(body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"})
