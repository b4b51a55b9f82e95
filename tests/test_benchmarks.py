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

from casekit.domain.workflow import Status
from casekit.store import tables
from casekit.store.database import create_casekit_engine

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not (ROOT / "benchmarks" / "__main__.py").is_file(), reason="no benchmarks/ beside tests/"
)

CASES = 5
WARMUP = 1
# Each case, per the scenario: the case row, 7 entries (opened, 4 messages,
# 2 status changes), 2 participants (the shipper's and the carrier's agents).
ROWS_PER_CASE = 10


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
    finally:
        engine.dispose()
    assert len(cases) == CASES + WARMUP
    assert all(number == f"CV{case_id:06d}" for case_id, number, _, _ in cases)
    assert {status for _, _, status, _ in cases} == {Status.WAITING.value}
    assert {version for *_, version in cases} == {5}
    assert entries == 7 * len(cases)
    assert people == 2 * len(cases)


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
