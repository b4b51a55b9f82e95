"""casekit's Prometheus metrics: ``pip install casekit[metrics]``.

::

    from casekit.metrics import CaseKitMetrics

    metrics = CaseKitMetrics(kit)          # on a registry of casekit's own
    body, content_type = metrics.exposition()

or, to add them to the host's registry::

    metrics = CaseKitMetrics(kit, registry=prometheus_client.REGISTRY)

The counters listen to casekit's signals (:data:`casekit.signals.case_opened`
and the operation signals :data:`~casekit.signals.delivery_attempted`,
:data:`~casekit.signals.mail_received` and :data:`~casekit.signals.rules_swept`)
of this kit only; no label carries case data. The outbox gauges are read
from the database when scraped, so every process reports the same.

With several processes (gunicorn workers, ``casekit worker``), set
``PROMETHEUS_MULTIPROC_DIR`` as prometheus-client's multiprocess mode asks:
the counters of every process are then written there, and
:meth:`CaseKitMetrics.exposition` adds them up.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from casekit import signals
from casekit.domain.case import Source
from casekit.errors import ConfigurationError
from casekit.health import CHANNELS, outbox_stats

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from casekit.kit import CaseKit

log = logging.getLogger(__name__)

__all__ = ["CaseKitMetrics", "OutboxCollector"]

#: The outcomes of :data:`casekit.signals.delivery_attempted`.
DELIVERY_OUTCOMES = ("sent", "retried", "failed")
#: Why a webhook attempt failed, from its endpoint's answer.
WEBHOOK_FAILURE_REASONS = ("no_answer", "http_4xx", "http_5xx", "http_other", "answer_not_handled")
#: What inbound mail became (:class:`casekit.services.inbound.Outcome` of an intake).
INBOUND_OUTCOMES = (
    "appended",
    "created",
    "duplicate",
    "auto_reply",
    "bounce",
    "triaged",
    "rejected",
)
#: The buckets of the rule sweep's duration, in seconds.
SWEEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def prometheus() -> Any:
    """The ``prometheus_client`` module, or a ConfigurationError that names the extra."""
    try:
        import prometheus_client
    except ImportError:
        raise ConfigurationError(
            "casekit's metrics need prometheus-client: pip install 'casekit[metrics]'"
        ) from None
    return prometheus_client


def multiprocess() -> bool:
    """Whether prometheus-client's multiprocess mode is on (``PROMETHEUS_MULTIPROC_DIR``)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class OutboxCollector:
    """The outbox gauges, read from the database at each scrape (one statement).

    ``casekit_outbox_depth{channel}``: notifications (``mail``) or webhook
    requests (``webhook``) queued or being sent. ``casekit_outbox_oldest_age_seconds``:
    the age of the oldest of them (0 when none). ``casekit_outbox_lag_seconds``:
    how long the longest-waiting due one has waited for a worker (0 when none
    is due). When the database does not answer, the scrape goes on without
    them (and ``casekit_outbox_up`` is 0).
    """

    def __init__(self, kit: CaseKit) -> None:
        self.kit = kit
        self.keeps: object = None

    def describe(self) -> list[Metric]:
        return list(self._families({}, up=False))

    def collect(self) -> Iterator[Metric]:
        now = self.kit.clock.now()
        try:
            with self.kit.engine.connect() as conn:
                stats = outbox_stats(conn, now)
        except Exception:  # a scrape never fails for the database; it says so instead
            log.warning("casekit: the outbox could not be read for the metrics", exc_info=True)
            yield from self._families({}, up=False)
            return
        values: dict[str, dict[str, float]] = {}
        for channel, s in stats.items():
            values[channel] = {
                "depth": s.depth,
                "age": 0.0
                if s.oldest_created_at is None
                else max(0.0, (now - s.oldest_created_at).total_seconds()),
                "lag": 0.0
                if s.oldest_due_at is None
                else max(0.0, (now - s.oldest_due_at).total_seconds()),
            }
        yield from self._families(values, up=True)

    @staticmethod
    def _families(values: dict[str, dict[str, float]], *, up: bool) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        shown = {
            "depth": GaugeMetricFamily(
                "casekit_outbox_depth",
                "Notifications (mail) and webhook requests queued or being sent.",
                labels=["channel"],
            ),
            "age": GaugeMetricFamily(
                "casekit_outbox_oldest_age_seconds",
                "Age of the oldest notification or webhook request queued or being sent.",
                labels=["channel"],
            ),
            "lag": GaugeMetricFamily(
                "casekit_outbox_lag_seconds",
                "How long the longest-waiting due delivery has waited for a worker.",
                labels=["channel"],
            ),
        }
        for channel in CHANNELS:
            for key, family in shown.items():
                if channel in values:
                    family.add_metric([channel], values[channel][key])
        yield from shown.values()
        yield GaugeMetricFamily(
            "casekit_outbox_up",
            "1 when the last scrape read the outbox from the database, 0 when it could not.",
            value=1 if up else 0,
        )


class CaseKitMetrics:
    """casekit's metrics for one kit, on a ``CollectorRegistry``.

    :param kit: the kit whose signals feed the counters and whose database
        the outbox gauges read.
    :param registry: where the metrics go: a new registry of casekit's own by
        default (the host's default registry is left alone); pass the host's
        to scrape both at one endpoint. One ``CaseKitMetrics`` per registry.

    Counters (each ``_total``): ``casekit_cases_opened{source}``,
    ``casekit_deliveries{channel,outcome}`` (every attempt: ``sent``,
    ``retried``, ``failed`` for good), ``casekit_webhook_failures{reason}``,
    ``casekit_inbound_messages{outcome}``; the histogram
    ``casekit_rule_sweep_duration_seconds``; and the gauges of
    :class:`OutboxCollector`. casekit-flask adds
    ``casekit_http_request_duration_seconds{endpoint,method,status}``.
    """

    def __init__(self, kit: CaseKit, *, registry: CollectorRegistry | None = None) -> None:
        prom = prometheus()
        self.kit = kit
        self.registry: CollectorRegistry = (
            registry if registry is not None else prom.CollectorRegistry()
        )
        on = {"registry": self.registry}
        self.cases_opened = prom.Counter(
            "casekit_cases_opened", "Cases opened, by source.", ["source"], **on
        )
        self.deliveries = prom.Counter(
            "casekit_deliveries",
            "Delivery attempts of notifications (mail) and webhook requests, by outcome.",
            ["channel", "outcome"],
            **on,
        )
        self.webhook_failures = prom.Counter(
            "casekit_webhook_failures",
            "Failed webhook delivery attempts, by what the endpoint answered.",
            ["reason"],
            **on,
        )
        self.inbound = prom.Counter(
            "casekit_inbound_messages", "Inbound messages taken, by outcome.", ["outcome"], **on
        )
        self.rule_sweep = prom.Histogram(
            "casekit_rule_sweep_duration_seconds",
            "How long a sweep of the time rules took.",
            buckets=SWEEP_BUCKETS,
            **on,
        )
        # Every series from the start, at 0: a rate over a series that appears late is wrong.
        for source in Source:
            self.cases_opened.labels(source.value)
        for channel in CHANNELS:
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(channel, outcome)
        for reason in WEBHOOK_FAILURE_REASONS:
            self.webhook_failures.labels(reason)
        for outcome in INBOUND_OUTCOMES:
            self.inbound.labels(outcome)
        self.outbox = OutboxCollector(kit)
        # The registry keeps this object (and so its receivers, weakly connected) alive
        # through the collector, for a host that does not keep it: until close().
        self.outbox.keeps = self
        self.registry.register(self.outbox)
        self._receivers = (
            (signals.case_opened, self._case_opened),
            (signals.delivery_attempted, self._delivery_attempted),
            (signals.mail_received, self._mail_received),
            (signals.rules_swept, self._rules_swept),
        )
        for signal, receiver in self._receivers:
            signal.connect(receiver, sender=kit)

    # -- receivers ---------------------------------------------------------------------

    def _case_opened(self, _kit: object, *, case: Any, **_extra: Any) -> None:
        self.cases_opened.labels(str(case.source)).inc()

    def _delivery_attempted(
        self, _kit: object, *, channel: str, outcome: str, status_code: int | None, **_extra: Any
    ) -> None:
        self.deliveries.labels(channel, outcome).inc()
        if channel == "webhook" and outcome != "sent":
            self.webhook_failures.labels(_reason(status_code)).inc()

    def _mail_received(self, _kit: object, *, outcome: str, **_extra: Any) -> None:
        self.inbound.labels(outcome).inc()

    def _rules_swept(self, _kit: object, *, seconds: float, **_extra: Any) -> None:
        self.rule_sweep.observe(seconds)

    # -- exposition --------------------------------------------------------------------

    def scrape_registry(self) -> CollectorRegistry:
        """The registry to expose: this one, or in multiprocess mode a fresh one that adds
        up every process's files, with the outbox gauges."""
        if not multiprocess():
            return self.registry
        prom = prometheus()
        from prometheus_client import multiprocess as mp

        registry = prom.CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self.outbox)
        return registry  # type: ignore[no-any-return]

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics in Prometheus's text format (or OpenMetrics when ``accept`` asks
        for it): ``(body, content type)``."""
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.scrape_registry()), content_type

    def close(self) -> None:
        """Stop counting and take the metrics off the registry."""
        self.outbox.keeps = None
        for signal, receiver in self._receivers:
            signal.disconnect(receiver, sender=self.kit)
        for collector in (
            self.cases_opened,
            self.deliveries,
            self.webhook_failures,
            self.inbound,
            self.rule_sweep,
            self.outbox,
        ):
            with contextlib.suppress(KeyError):  # closed before
                self.registry.unregister(collector)


def _reason(status_code: int | None) -> str:
    if status_code is None:
        return "no_answer"
    if 400 <= status_code < 500:
        return "http_4xx"
    if 500 <= status_code < 600:
        return "http_5xx"
    if 200 <= status_code < 300:
        return "answer_not_handled"
    return "http_other"
