"""The benchmarks run and report what they promise (behaviour, never speed).

``python -m benchmarks create`` must print a table, write JSON results of
the agreed shape, measure a floor beside casekit, and leave the cases it
opened in the database it was given.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casekit.domain.rule_starters import STARTER_RULES
from casekit.domain.workflow import Status
from casekit.store import tables
from casekit.store.database import create_casekit_engine
from casekit.testing_imap import DOVECOT

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not (ROOT / "benchmarks" / "__main__.py").is_file(), reason="no benchmarks/ beside tests/"
)

CASES = 5
WARMUP = 1
# Each case, per the scenario: the case row, 7 entries (opened, 4 messages,
# 2 status changes), 2 participants (the shipper's and the carrier's agents)
# and 3 notifications (the answer to the shipper's agent, the message to
# everyone to the carrier's agent and the customer).
ROWS_PER_CASE = 13


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def create_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict], str]:
    folder = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    out = folder / "results.json"
    result = run_cli(
        "create",
        "--cases",
        str(CASES),
        "--warmup",
        str(WARMUP),
        "--database-url",
        url,
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    return url, json.loads(out.read_text()), result.stdout


def by_key(results: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["name"], r["metric"]): r for r in results}


def test_json_is_a_list_of_named_numeric_results(create_run):
    _, results, _ = create_run
    assert isinstance(results, list)
    assert results
    for r in results:
        assert set(r) <= {"name", "metric", "value", "floor"}, r
        assert isinstance(r["name"], str)
        assert r["name"]
        assert isinstance(r["metric"], str)
        assert r["metric"]
        for field in ("value", "floor"):
            if field in r:
                assert isinstance(r[field], int | float), r
                assert not isinstance(r[field], bool), r
                assert math.isfinite(r[field]), r
                assert r[field] >= 0, r
    assert len({(r["name"], r["metric"]) for r in results}) == len(results)


def test_create_reports_casekit_beside_its_floor(create_run):
    _, results, _ = create_run
    found = by_key(results)
    for metric in ("per_s", "p50_ms", "p95_ms", "statements_per_case", "commits_per_case"):
        result = found[("create", metric)]
        assert "floor" in result, metric
        assert result["value"] > 0, result
        assert result["floor"] > 0, result
    # The services open and post in four transactions; the floor in one.
    assert found[("create", "commits_per_case")]["value"] == 4
    assert found[("create", "commits_per_case")]["floor"] == 1
    # The floor writes exactly the rows casekit wrote (the scenario checks them).
    rows = found[("create", "rows_per_case")]
    assert rows["value"] == rows["floor"] == ROWS_PER_CASE
    assert found[("create", "p95_ms")]["value"] >= found[("create", "p50_ms")]["value"]
    by_request = found[("create.by_request", "commits_per_case")]
    assert by_request["value"] == by_request["floor"] == 4


def test_the_table_is_printed(create_run):
    _, _, stdout = create_run
    assert "create on sqlite" in stdout
    assert "per_s" in stdout
    assert "statements_per_case" in stdout
    assert "floor" in stdout


def test_the_cases_are_in_the_database(create_run):
    url, _, _ = create_run
    engine = create_casekit_engine(url)
    try:
        with engine.connect() as conn:
            c = tables.cases.c
            cases = conn.execute(select(c.id, c.number, c.status, c.version)).all()
            entries = conn.execute(select(func.count()).select_from(tables.entries)).scalar_one()
            people = conn.execute(
                select(func.count()).select_from(tables.participants)
            ).scalar_one()
            queued = conn.execute(select(func.count()).select_from(tables.outbox)).scalar_one()
    finally:
        engine.dispose()
    assert len(cases) == CASES + WARMUP
    assert all(number == f"CV{case_id:06d}" for case_id, number, _, _ in cases)
    assert {status for _, _, status, _ in cases} == {Status.WAITING.value}
    assert {version for *_, version in cases} == {4}  # opened at 1, one bump per follow-up message
    assert entries == 7 * len(cases)
    assert people == 2 * len(cases)
    assert queued == 3 * len(cases)


def test_a_database_with_cases_is_refused(create_run):
    url, _, _ = create_run
    result = run_cli("create", "--cases", "1", "--database-url", url)
    assert result.returncode == 2
    assert "already holds cases" in result.stderr


def test_unknown_scenario_is_refused():
    result = run_cli("no-such-scenario")
    assert result.returncode != 0
    assert "create" in result.stderr  # the usage names the scenarios there are


def test_workers_share_the_cases(tmp_path, monkeypatch):
    """Several worker processes open the cases together; every case is written once."""
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import run_scenario

    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    run = run_scenario("create", cases=4, warmup=2, workers=2, database_url=url)
    results = by_key([result.as_json() for result in run])
    assert results[("create", "rows_per_case")]["value"] == ROWS_PER_CASE
    assert results[("create", "per_s")]["value"] > 0
    engine = create_casekit_engine(url)
    try:
        with engine.connect() as conn:
            subjects = conn.execute(select(tables.cases.c.subject)).scalars().all()
    finally:
        engine.dispose()
    assert sorted(subjects) == [f"Shipment SHP-{i:06d}" for i in range(6)]


# -- the list benchmark: generated data and the views scenario ------------------------

VIEW_CASES = 300


@pytest.fixture(scope="module")
def views_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict], str]:
    folder = tmp_path_factory.mktemp("views")
    url = f"sqlite:///{folder / 'views.sqlite3'}"
    out = folder / "views.json"
    result = run_cli("views", "--cases", str(VIEW_CASES), "--database-url", url, "--json", str(out))
    assert result.returncode == 0, result.stderr
    return url, json.loads(out.read_text()), result.stdout


@pytest.fixture
def generated_kit(views_run, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.generate import ANCHOR
    from casekit.clock import FrozenClock
    from casekit.kit import CaseKit
    from casekit.settings import Settings

    url, _, _ = views_run
    kit = CaseKit(
        settings=Settings(database_url=url, attachment_dir=tmp_path, load_entry_points=False),
        clock=FrozenClock(ANCHOR),
    )
    yield kit
    kit.engine.dispose()


def test_generated_cases_read_back_through_casekit(generated_kit):
    from benchmarks.generate import dataset_of
    from benchmarks.views import sides
    from casekit.domain.actor import Actor
    from casekit.domain.audience import Audience
    from casekit.domain.case import EntryKind, EventKind
    from casekit.query.listing import EXCERPT

    kit = generated_kit
    host = Actor.host()
    dataset = dataset_of(VIEW_CASES)
    everything = kit.views.list(host, {"view": "all_cases"}, limit=500)
    assert len(everything.rows) == VIEW_CASES
    assert {row.number for row in everything.rows} == {
        f"CV{i:06d}" for i in range(1, VIEW_CASES + 1)
    }
    for row in everything.rows[::7]:
        case = kit.cases.get(host, row.number)
        timeline = kit.cases.timeline(host, row.number)
        assert timeline[0].event is EventKind.OPENED
        assert timeline[0].new_value == case.type
        messages = [e for e in timeline if e.kind is EntryKind.MESSAGE]
        assert messages
        # Audiences as casekit allows them: the carrier's staff never write to the
        # customer, a customer writes to the shipper or everyone.
        for m in messages:
            if m.customer_id is not None:
                assert m.audience in (Audience.CUSTOMER, Audience.EVERYONE)
            elif m.org_id == case.carrier_org_id:
                assert m.audience in (Audience.INTERNAL, Audience.PARTNERS)
            elif m.audience.reaches_customer:
                assert case.customer_id is not None
        visible = [m for m in messages if m.audience is not Audience.INTERNAL]
        latest = visible[-1] if visible else None
        assert case.latest_message_at == (latest.created_at if latest else None)
        assert case.latest_message_org_id == (latest.org_id if latest else None)
        assert case.latest_message_user_id == (latest.user_id if latest else None)
        edits = (
            len(messages)
            - 1
            + sum(e.event in (EventKind.SOLVED, EventKind.OWNER_CHANGED) for e in timeline)
        )
        assert case.version == 1 + edits
        assert (case.solved_at is not None) == (case.status.value == "solved")
    # The shipper's conversation with its customer is in the data: on some
    # cases the carrier's latest message is an earlier one than the shipper's.
    from sqlalchemy import func, select

    from casekit.store import tables

    c = tables.cases.c
    with kit.engine.connect() as conn:
        apart = conn.execute(
            select(func.count()).where(c.carrier_latest_message_at < c.latest_message_at)
        ).scalar_one()
    assert apart > 0
    for side in sides(dataset):
        actor = side.actor
        counts = kit.views.counts(actor)
        assert counts["all_cases"] > 0
        page = kit.views.list(actor, {"view": "all_cases"}, limit=500)
        assert len(page.rows) == counts["all_cases"]
        for view, count in counts.items():
            assert len(kit.views.list(actor, {"view": view}, limit=500).rows) == count
        for row in page.rows[:15]:
            case = kit.cases.get(actor, row.number)
            assert side.org_id in (case.shipper_org_id, case.carrier_org_id)
            readable = [
                e for e in kit.cases.timeline(actor, row.number) if e.kind is EntryKind.MESSAGE
            ]
            assert all(
                e.audience is not Audience.INTERNAL or e.org_id == side.org_id for e in readable
            )
            # The latest message the side reads (the carrier's: not the
            # shipper's conversation with its customer), from the case row.
            shown = [e for e in readable if e.audience is not Audience.INTERNAL]
            assert case.latest_message_at == (shown[-1].created_at if shown else None)
            assert case.latest_message_org_id == (shown[-1].org_id if shown else None)
            expected = readable[-1].body if readable else None
            if expected is not None and len(expected) > EXCERPT:
                expected = expected[: EXCERPT - 1].rstrip() + "…"
            assert row.latest_message_excerpt == expected


def test_generated_clocks_are_the_ones_casekit_computes(generated_kit):
    """The generator's running clocks and the cases' due columns are those casekit's
    own recompute gives the same cases (run in a transaction that is rolled back),
    and each side's list reads its own."""
    from sqlalchemy import select

    from benchmarks.generate import dataset_of
    from benchmarks.views import sides
    from casekit.store import tables
    from casekit.store.clocks import recompute

    kit = generated_kit
    c, k = tables.cases.c, tables.clocks.c
    columns = (c.id, c.shipper_due_at, c.shipper_warn_at, c.carrier_due_at, c.carrier_warn_at)
    clock_columns = (
        k.case_id,
        k.org_id,
        k.side,
        k.kind,
        k.target_id,
        k.state,
        k.started_at,
        k.elapsed_seconds,
        k.due_at,
        k.warn_at,
        k.breached_at,
        k.time_zone,
    )
    with kit.engine.connect() as conn:
        running = conn.execute(select(c.id).where(c.shipper_due_at.is_not(None))).scalars().all()
        assert 0.05 * VIEW_CASES < len(running) < 0.5 * VIEW_CASES
        sample = running[::5]
        written = conn.execute(select(*columns).where(c.id.in_(sample)).order_by(c.id)).all()
        clocks = sorted(conn.execute(select(*clock_columns).where(k.case_id.in_(sample))).all())
        try:
            # As the generator writes them: recomputed by each case's last change.
            changed = conn.execute(select(c.id, c.updated_at).where(c.id.in_(sample))).all()
            for case_id, updated_at in changed:
                recompute(conn, [case_id], updated_at)
            again = conn.execute(select(*columns).where(c.id.in_(sample)).order_by(c.id)).all()
            recomputed = sorted(
                conn.execute(select(*clock_columns).where(k.case_id.in_(sample))).all()
            )
        finally:
            conn.rollback()
    assert again == written
    assert recomputed == clocks
    for side in sides(dataset_of(VIEW_CASES)):
        column = c[f"{side.label}_due_at"]
        rows = kit.views.list(side.actor, {"view": "all_cases"}, limit=500).rows
        with kit.engine.connect() as conn:
            found = conn.execute(select(c.id, column).where(c.id.in_([r.id for r in rows])))
            due = {row.id: row[1] for row in found}
        assert {r.id: r.due_at for r in rows} == due
        assert any(r.due_at is not None for r in rows)


def test_views_reports_every_measure_beside_its_floor(views_run):
    _, results, stdout = views_run
    assert "views on sqlite" in stdout
    found = by_key(results)
    names = {r["name"] for r in results if r["metric"] == "p95_ms"}
    for who in ("shipper", "carrier"):
        mine = {n for n in names if n.startswith(f"{who}.")}
        for view in (
            "all_active",
            "recent_responses",
            "my_active",
            "my_watched",
            "new_cases",
            "all_cases",
            "due_soon",
        ):
            assert f"{who}.page.{view}" in mine
            assert f"{who}.count.{view}" in mine
        assert len([n for n in mine if f"{who}.filter." in n]) == 13
        assert {
            f"{who}.filter.due_state_breached",
            f"{who}.filter.due_state_on_track_or_due_soon",
            f"{who}.filter.due_at_next_week",
            f"{who}.sort.due_at",
        } <= mine
        assert {f"{who}.search.{k}" for k in ("tracking", "case_number", "crm_number")} <= mine
        assert f"{who}.next_page.all_cases" in mine
    for name in names:
        for metric in ("p50_ms", "p95_ms"):
            result = found[(name, metric)]
            assert result["value"] > 0, result
            assert result["floor"] > 0, result
        assert found[(name, "same_ids")]["value"] == 1, name
        size = found.get((name, "rows")) or found[(name, "count")]
        assert size["value"] == size["floor"], name
    # The searches find the one case they look for.
    assert found[("shipper.search.case_number", "rows")]["value"] == 1
    assert found[("shipper.page.all_cases", "rows")]["value"] > 0
    # Some of each side's cases are due soon or breached.
    for who in ("shipper", "carrier"):
        assert found[(f"{who}.count.due_soon", "count")]["value"] > 0


def test_generating_again_keeps_the_data_set(views_run):
    url, _, _ = views_run
    result = run_cli("generate", "--cases", str(VIEW_CASES), "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "already there" in result.stderr


# -- the inbound benchmark ------------------------------------------------------------


def test_inbound_reports_throughput_and_memory(tmp_path: Path) -> None:
    out = tmp_path / "inbound.json"
    result = run_cli("inbound", "--cases", "5", "--warmup", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "inbound on sqlite" in result.stdout
    measured = {(r["name"], r["metric"]): r for r in json.loads(out.read_text())}
    throughput = measured[("inbound.reply_10kb", "per_s")]
    assert throughput["value"] > 0
    assert throughput["floor"] > 0
    # The IMAP path needs Dovecot (.ci/run installs it); without, a note says it is left out.
    if Path(DOVECOT).exists():
        assert measured[("inbound.imap_reply_10kb", "per_s")]["value"] > 0
    else:
        assert "no dovecot; the IMAP figure is left out" in result.stderr
    assert measured[("inbound.attachment_25mb", "attachment_mb")]["value"] == 25
    growth = measured[("inbound.attachment_25mb", "peak_rss_growth_mb")]["value"]
    assert math.isfinite(growth)
    assert growth >= 0
    assert round(measured[("inbound.serve_25mb_message", "message_mb")]["value"]) == 25
    for name in ("inbound.serve_25mb_message", "inbound.serve_34mb_message"):
        served = measured[(name, "peak_rss_growth_mb")]["value"]
        assert math.isfinite(served)
        assert served >= 0
    assert "inbound serve peak memory for a 25 MB message: " in result.stderr


# -- rules and the order feed ----------------------------------------------------------------


def test_rules_scenario_measures_events_and_the_sweep(tmp_path):
    out = tmp_path / "rules.json"
    result = run_cli("rules", "--cases", "200", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "rules on sqlite" in result.stdout
    found = by_key(json.loads(out.read_text()))
    assert found[("events", "per_s")]["value"] > 0
    assert found[("sweep", "open_shipments")]["value"] == 1000  # five per event
    # The starters' time rules, each installed and counted by the sweep.
    timed = [starter for starter in STARTER_RULES if starter.get("time_condition")]
    assert found[("sweep", "time_rules")]["value"] == len(timed)
    assert found[("sweep.first", "seconds")]["value"] > 0
    assert found[("sweep.again", "seconds")]["value"] > 0


def test_calendars_scenario_times_the_arithmetic_and_checks_every_clock(tmp_path):
    out = tmp_path / "calendars.json"
    result = run_cli("calendars", "--cases", "200", "--warmup", "10", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "calendars" in result.stdout
    found = by_key(json.loads(out.read_text()))
    for name in ("calendars.add", "calendars.working_seconds"):
        for metric in ("p50_ms", "p95_ms"):
            assert found[(name, metric)]["value"] > 0
            assert found[(name, metric)]["floor"] > 0
    assert found[("calendars.sweep", "per_s")]["value"] > 0
    assert found[("calendars.check", "agree")]["value"] == 1


def test_orderfeed_scenario_imports_an_export(tmp_path):
    # tox's py env installs casekit-orderfeed for this test (commands_pre).
    try:
        import casekit_orderfeed  # noqa: F401
    except ImportError:
        pytest.fail("the orderfeed scenario needs: pip install adapters/casekit-orderfeed")
    out = tmp_path / "orderfeed.json"
    result = run_cli("orderfeed", "--cases", "300", "--json", str(out))
    assert result.returncode == 0, result.stderr
    found = by_key(json.loads(out.read_text()))
    assert found[("import", "per_s")]["value"] > 0
    assert found[("import.again", "seconds")]["value"] > 0


def test_orderfeed_scenario_without_the_adapter_names_what_it_needs(tmp_path):
    hidden = (
        "import runpy, sys; sys.modules['casekit_orderfeed'] = None; "
        "sys.argv[0] = 'benchmarks'; runpy.run_module('benchmarks', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", hidden, "orderfeed", "--cases", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install -e adapters/casekit-orderfeed" in result.stderr


# -- the reports benchmark ---------------------------------------------------------------


def test_reports_times_every_section_and_checks_numbers_against_the_list(views_run, tmp_path):
    url, _, _ = views_run
    out = tmp_path / "reports.json"
    result = run_cli(
        "reports", "--cases", str(VIEW_CASES), "--database-url", url, "--json", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "reports on sqlite" in result.stdout
    found = by_key(json.loads(out.read_text()))
    for who in ("shipper", "carrier"):
        for measure in (
            "dashboard.30d",
            "dashboard.90d_weeks",
            "volume.30d",
            "speed.30d",
            "load.30d",
            "aging.30d",
            "breaches.30d",
        ):
            name = f"{who}.{measure}"
            assert found[(name, "p95_ms")]["value"] >= found[(name, "p50_ms")]["value"] > 0
            assert found[(name, "cpu_p50_ms")]["value"] > 0
            assert found[(name, "statements")]["value"] >= 1
        checks = ["opened", "active", "first_day"]
        checks += [
            f"{kind}.{n}"
            for kind in ("first_response", "resolution")
            for n in ("clocks", "breached")
        ]
        for check in checks:
            assert found[(f"{who}.check.{check}", "same_count")]["value"] == 1
        assert found[(f"{who}.check.active", "count")]["value"] > 0
        assert found[(f"{who}.check.resolution.clocks", "count")]["value"] > 0
    assert found[("service_levels.clocks", "count")]["value"] > 0


# -- the sla benchmark -------------------------------------------------------------------


def test_sla_sweeps_the_clocks_it_lays_out_and_leaves_the_data_set_as_it_was(views_run, tmp_path):
    url, _, _ = views_run
    due_columns = [tables.cases.c[n] for n in tables.DUE_COLUMNS]

    def the_data_set() -> tuple[list[tuple[object, ...]], ...]:
        engine = create_casekit_engine(url)
        try:
            with engine.connect() as conn:
                return (
                    sorted(tuple(r) for r in conn.execute(select(tables.clocks))),
                    sorted(tuple(r) for r in conn.execute(select(tables.sla_targets))),
                    sorted(tuple(r) for r in conn.execute(select(tables.cases.c.id, *due_columns))),
                )
        finally:
            engine.dispose()

    before = the_data_set()
    out = tmp_path / "sla.json"
    result = run_cli("sla", "--cases", str(VIEW_CASES), "--database-url", url, "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "sla on sqlite" in result.stdout
    found = by_key(json.loads(out.read_text()))
    assert found[("sweep", "open_clocks")]["value"] == VIEW_CASES // 5
    # Two of every 200 clocks owe a due-soon warning, one a breach warning: the first
    # clocks one of each.
    assert found[("sweep", "due_soon")]["value"] == 1
    assert found[("sweep", "breached")]["value"] == 1
    assert found[("sweep", "clocks_warned")]["value"] == 2
    assert found[("sweep", "notifications")]["value"] >= 2
    assert found[("sweep", "seconds")]["value"] > 0
    for side in ("shipper", "carrier"):
        assert found[(f"due_soon.{side}", "p95_ms")]["value"] > 0
        # The built-in Due Soon view's first page: the statement's cases, in its order.
        view = found[(f"due_soon_view.{side}", "p95_ms")]
        assert view["value"] > 0
        assert view["floor"] == found[(f"due_soon.{side}", "p95_ms")]["value"]
        assert found[(f"due_soon_view.{side}", "rows")]["value"] > 0
        assert found[(f"due_soon_view.{side}", "same_ids")]["value"] == 1
    assert the_data_set() == before


# -- the notify benchmark ----------------------------------------------------------------


def test_notify_measures_the_queueing_cost_and_the_drain(tmp_path):
    out = tmp_path / "notify.json"
    result = run_cli("notify", "--cases", "5", "--warmup", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    found = by_key(json.loads(out.read_text()))
    assert found[("notify.queue", "recipients_per_change")]["value"] == 4
    assert found[("notify.queue", "per_recipient_ms")]["value"] > 0
    post = found[("notify.post", "p50_ms")]
    assert post["value"] > 0
    assert post["floor"] > 0
    deliver = found[("notify.deliver", "per_s")]
    assert deliver["value"] > 0
    assert deliver["floor"] > 0
    # Per mail the worker claims (in batches), then records its attempt: few statements.
    assert 1 < found[("notify.deliver", "statements_per_mail")]["value"] < 5
    assert "notify on sqlite" in result.stdout


# -- the webhooks benchmark --------------------------------------------------------------


def test_webhooks_measures_the_queueing_cost_and_the_drain(tmp_path):
    out = tmp_path / "webhooks.json"
    result = run_cli("webhooks", "--cases", "4", "--warmup", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    found = by_key(json.loads(out.read_text()))
    # The shipper's first partners message on a new case moves its status too:
    # message_posted and status_changed, for each of the two subscribed parties.
    assert found[("webhooks.queue", "requests_per_change")]["value"] == 4
    assert found[("webhooks.queue", "p50_ms")]["value"] > 0
    post = found[("webhooks.post", "p50_ms")]
    assert post["value"] > 0
    assert post["floor"] > 0
    deliver = found[("webhooks.deliver", "per_s")]
    assert deliver["value"] > 0
    assert deliver["floor"] > 0
    assert "webhooks on sqlite" in result.stdout


#: Run before the benchmarks in a subprocess: pytest cannot be imported, as
#: in an install without the testing extra.
WITHOUT_PYTEST = """
import runpy, sys

class NoPytest:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest"):
            raise ImportError(f"{name} is not installed")
        return None

sys.meta_path.insert(0, NoPytest())
sys.argv = ["benchmarks", *sys.argv[1:]]
runpy.run_module("benchmarks", run_name="__main__", alter_sys=True)
"""


def test_the_benchmarks_run_without_pytest(tmp_path):
    def bench(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", WITHOUT_PYTEST, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )

    helped = bench("--help")
    assert helped.returncode == 0, helped.stderr
    assert "notify" in helped.stdout
    url = f"sqlite:///{tmp_path / 'notify.sqlite3'}"
    # notify delivers to casekit.testing's SmtpSink: the fakes need no pytest.
    ran = bench("notify", "--cases", "3", "--warmup", "0", "--database-url", url)
    assert ran.returncode == 0, ran.stderr
    assert "notify" in ran.stdout


def test_generate_draws_a_bar_on_a_terminal_and_logs_lines_elsewhere(tmp_path):
    import os

    from casekit.testing import run_in_terminal

    args = ["generate", "--cases", "1500", "--database-url"]
    status, shown = run_in_terminal(
        [sys.executable, "-m", "benchmarks", *args, f"sqlite:///{tmp_path / 'tty.sqlite3'}"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"},
    )
    assert status == 0, shown
    assert "  cases  [" in shown
    assert "1500/1500" in shown
    assert "  1500 cases, " not in shown  # the bar says it
    logged = run_cli(*args, f"sqlite:///{tmp_path / 'log.sqlite3'}")
    assert logged.returncode == 0, logged.stderr
    assert "  cases  [" not in logged.stderr
    assert "  1500 cases, " in logged.stderr


# -- the load scenario -------------------------------------------------------------------
# Its run (gunicorn and locust, which the SQLite run does not install) is the
# benchmark smoke run of .ci/run (tox -e bench).


def test_load_without_gunicorn_or_locust_names_what_it_needs(tmp_path):
    hidden = (
        "import runpy, sys; sys.modules['locust'] = None; "
        "sys.argv[0] = 'benchmarks'; runpy.run_module('benchmarks', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", hidden, "load", "--cases", "3", "--seconds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr
    # gunicorn is named too where it is not installed (tox's py env).
    assert "locust: pip install gunicorn locust" in result.stderr
    assert "load needs " in result.stderr


def test_a_run_whose_requests_failed_exits_with_1_after_its_table(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import __main__ as cli
    from benchmarks.common import SCENARIOS, Result, Scenario, load_scenarios

    load_scenarios()

    def failing(ctx):
        return [Result("load.all", "requests", 10), Result("load.all", "errors", 2)]

    monkeypatch.setitem(SCENARIOS, "failing", Scenario("failing", failing))
    assert cli.main(["failing", "--cases", "1"]) == 1
    out, err = capsys.readouterr()
    assert "load.all  errors          2" in out
    assert "requests failed: load.all" in err
    monkeypatch.setitem(SCENARIOS, "failing", Scenario("failing", lambda ctx: failing(ctx)[:1]))
    assert cli.main(["failing", "--cases", "1"]) == 0


def test_search_scenario_matches_its_floors(tmp_path):
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    out = tmp_path / "search.json"
    result = run_cli(
        "search", "--cases", str(VIEW_CASES), "--database-url", url, "--json", str(out)
    )
    assert result.returncode == 0, result.stderr
    found = {(r["name"], r["metric"]): r for r in json.loads(out.read_text())}
    names = {name for name, metric in found if metric == "same_ids"}
    assert names == {
        f"{who}.{what}"
        for who in ("shipper", "carrier")
        for what in (
            "words.rare",
            "words.common",
            "id.tracking_prefix",
            "id.case_digits",
            "id.crm",
        )
    }
    for name in names:
        assert found[(name, "same_ids")]["value"] == 1, name
        assert found[(name, "p95_ms")]["floor"] > 0, name
    assert found[("planted", "count")]["value"] >= 1
    # Common words find cases; a case number's digits find at least that case.
    assert found[("shipper.words.common", "rows")]["value"] > 0
    assert found[("shipper.id.case_digits", "rows")]["value"] >= 1
    # Best match first too (no floor: the order is computed in Python), the same count.
    for who in ("shipper", "carrier"):
        ranked = found[(f"{who}.words.common.relevance", "rows")]
        assert ranked["value"] == found[(f"{who}.words.common", "rows")]["value"]
        assert ranked.get("floor") is None
        assert found[(f"{who}.words.common.relevance", "p95_ms")]["value"] > 0
