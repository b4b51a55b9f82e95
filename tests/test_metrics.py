"""casekit's Prometheus metrics: counters fed by signals, outbox gauges read at scrape."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from test_webhooks import Endpoint

from casekit import CaseKit
from casekit.metrics import CaseKitMetrics
from casekit.testing import World, make_kit


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    running = Endpoint()
    yield running
    running.stop()


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    """A kit that mails through ``sink`` and posts webhooks to loopback."""
    return mailing_kit(
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
        notify_max_attempts=2,
    )


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, parsed as Prometheus parses it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(metrics: CaseKitMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain; version=0.0.4")
    return parse(body.decode())


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_counters_and_gauges_follow_real_traffic(mkit, sink, endpoint, clock):
    world = World.build(mkit)
    metrics = CaseKitMetrics(mkit)
    before = scrape(metrics)
    assert value(before, "casekit_deliveries_total", channel="mail", outcome="sent") == 0
    assert value(before, "casekit_outbox_depth", channel="mail") == 0
    assert value(before, "casekit_outbox_oldest_age_seconds", channel="webhook") == 0
    assert value(before, "casekit_outbox_up") == 1

    endpoint.codes = [500, 404]
    mkit.webhooks.subscribe(world.shipper_manager_actor, url=endpoint.url(), events=["case_opened"])
    number = mkit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
    ).number
    mkit.messages.post(world.carrier_actor, number, "Looking into it", audience="partners")
    clock.advance(seconds=90)
    queued = scrape(metrics)
    mails = value(queued, "casekit_outbox_depth", channel="mail")
    assert mails >= 1
    assert value(queued, "casekit_outbox_depth", channel="webhook") == 1
    assert value(queued, "casekit_outbox_oldest_age_seconds", channel="mail") == 90
    assert value(queued, "casekit_outbox_lag_seconds", channel="webhook") == 90
    assert value(queued, "casekit_cases_opened_total", source="user") == 1

    mkit.notifications.deliver()  # the mail goes out; the webhook answers 500
    first = scrape(metrics)
    assert len(sink.envelopes) == mails
    assert value(first, "casekit_deliveries_total", channel="mail", outcome="sent") == mails
    assert value(first, "casekit_deliveries_total", channel="webhook", outcome="retried") == 1
    assert value(first, "casekit_webhook_failures_total", reason="http_5xx") == 1
    assert value(first, "casekit_outbox_depth", channel="mail") == 0
    assert value(first, "casekit_outbox_depth", channel="webhook") == 1
    assert value(first, "casekit_outbox_lag_seconds", channel="webhook") == 0  # not due yet
    assert value(first, "casekit_outbox_oldest_age_seconds", channel="webhook") == 90

    clock.advance(hours=1)
    mkit.notifications.deliver()  # the second and last attempt: 404
    last = scrape(metrics)
    assert value(last, "casekit_deliveries_total", channel="webhook", outcome="failed") == 1
    assert value(last, "casekit_webhook_failures_total", reason="http_4xx") == 1
    assert value(last, "casekit_outbox_depth", channel="webhook") == 0
    assert len(endpoint.requests) == 2

    mkit.inbound.receive(
        b"From: someone@else.test\r\nTo: support@acme.test\r\nSubject: hello\r\n"
        b"Message-ID: <m1@else.test>\r\n\r\nA parcel?\r\n"
    )
    mkit.inbound.receive(b"")  # no sender: rejected
    mkit.rules.sweep()
    swept = scrape(metrics)
    assert value(swept, "casekit_inbound_messages_total", outcome="triaged") == 1
    assert value(swept, "casekit_inbound_messages_total", outcome="rejected") == 1
    assert value(swept, "casekit_rule_sweep_duration_seconds_count") == 1
    body = metrics.exposition()[0].decode()
    assert number not in body  # no case data in a label


def test_each_kit_counts_its_own_and_the_default_registry_is_left_alone(
    mkit, database_url, tmp_path
):
    other = make_kit(database_url, attachment_dir=tmp_path / "o", create_schema=False)
    try:
        world = World.build(mkit)
        mine, theirs = CaseKitMetrics(mkit), CaseKitMetrics(other)
        mkit.cases.open(world.shipper_actor, type="lost")
        assert value(scrape(mine), "casekit_cases_opened_total", source="user") == 1
        assert value(scrape(theirs), "casekit_cases_opened_total", source="user") == 0
        default = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
        assert "casekit_" not in default
    finally:
        other.close()


def test_the_hosts_registry_takes_them_and_close_gives_it_back(mkit):
    registry = CollectorRegistry()
    metrics = CaseKitMetrics(mkit, registry=registry)
    assert registry.get_sample_value("casekit_outbox_depth", {"channel": "mail"}) == 0
    world = World.build(mkit)
    mkit.cases.open(world.shipper_actor, type="lost")
    assert registry.get_sample_value("casekit_cases_opened_total", {"source": "user"}) == 1
    metrics.close()
    assert registry.get_sample_value("casekit_outbox_depth", {"channel": "mail"}) is None
    mkit.cases.open(world.shipper_actor, type="lost")  # no receiver left to fail
    again = CaseKitMetrics(mkit, registry=registry)  # the names are free again
    assert registry.get_sample_value("casekit_cases_opened_total", {"source": "user"}) == 0
    again.close()


def test_the_registry_keeps_them_counting_when_the_host_keeps_no_reference(mkit):
    registry = CollectorRegistry()
    CaseKitMetrics(mkit, registry=registry)  # as the docs show it: nothing keeps the result
    gc.collect()
    world = World.build(mkit)
    mkit.cases.open(world.shipper_actor, type="lost")
    assert registry.get_sample_value("casekit_cases_opened_total", {"source": "user"}) == 1


@pytest.mark.backends("sqlite")
def test_a_database_that_does_not_answer_leaves_the_scrape_standing(tmp_path, caplog):
    kit = CaseKit(
        f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}",
        load_entry_points=False,
        attachment_dir=tmp_path,
    )
    with kit:
        samples = scrape(CaseKitMetrics(kit))
    assert value(samples, "casekit_outbox_up") == 0
    assert ("casekit_outbox_depth", (("channel", "mail"),)) not in samples
    assert value(samples, "casekit_deliveries_total", channel="mail", outcome="sent") == 0
    assert [r.name for r in caplog.records if r.levelname == "WARNING"] == ["casekit.metrics"]


@pytest.mark.backends("sqlite")
def test_multiprocess_mode_adds_up_the_processes(database_url, tmp_path, kit):
    """Two processes count, a third scrapes: prometheus-client's multiprocess mode."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "CASEKIT_LOAD_ENTRY_POINTS": "0"}
    count = textwrap.dedent(
        f"""
        from casekit import CaseKit, Actor
        from casekit.metrics import CaseKitMetrics
        from casekit.testing import World
        kit = CaseKit({database_url!r}, attachment_dir={str(tmp_path)!r})
        metrics = CaseKitMetrics(kit)
        world = World.build(kit, tag=__import__("sys").argv[1])
        kit.cases.open(world.shipper_actor, type="lost")
        """
    )
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", count, name], env=env, check=True, timeout=120)
    show = textwrap.dedent(
        f"""
        from casekit import CaseKit
        from casekit.metrics import CaseKitMetrics
        kit = CaseKit({database_url!r}, attachment_dir={str(tmp_path)!r})
        print(CaseKitMetrics(kit).exposition()[0].decode())
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", show], env=env, check=True, timeout=120, capture_output=True
    ).stdout.decode()
    samples = parse(shown)
    assert value(samples, "casekit_cases_opened_total", source="user") == 2
    assert ("casekit_outbox_depth", (("channel", "mail"),)) in samples


@pytest.mark.backends("sqlite")
def test_the_worker_command_counts_for_the_web_processes(mkit, sink, database_url, tmp_path):
    """``casekit worker --metrics`` in multiprocess mode: another process's scrape shows it."""
    world = World.build(mkit)
    number = mkit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    mkit.messages.post(world.carrier_actor, number, "Looking into it", audience="partners")
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "CASEKIT_LOAD_ENTRY_POINTS": "0",
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path),
        "CASEKIT_SMTP_HOST": sink.host,
        "CASEKIT_SMTP_PORT": str(sink.port),
    }
    command = [sys.executable, "-m", "casekit", "worker", "--once", "--metrics"]
    subprocess.run(command, env=env, check=True, timeout=120, capture_output=True)
    assert sink.envelopes
    show = textwrap.dedent(
        f"""
        from casekit import CaseKit
        from casekit.metrics import CaseKitMetrics
        kit = CaseKit({database_url!r}, attachment_dir={str(tmp_path)!r})
        print(CaseKitMetrics(kit).exposition()[0].decode())
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", show], env=env, check=True, timeout=120, capture_output=True
    ).stdout.decode()
    samples = parse(shown)
    sent = value(samples, "casekit_deliveries_total", channel="mail", outcome="sent")
    assert sent == len(sink.envelopes)
