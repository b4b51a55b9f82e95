"""``python -m benchmarks network`` runs end to end on a small data set: the job's time
and the Benchmarks page's, beside its core call (the page needs casekit-flask)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # the repository's benchmarks/ (casekit itself stays installed)

CASES = 300


def test_the_network_scenario_times_the_job_and_the_benchmarks_page(tmp_path):
    from benchmarks.common import run_scenario

    results = run_scenario(
        "network",
        cases=CASES,
        database_url=f"sqlite:///{tmp_path / 'network.sqlite3'}",
        warmup=0,
        workers=1,
        out=None,
    )
    found = {(r.name, r.metric): r for r in results}
    assert found[("network.compute.cases", "count")].value == CASES
    assert found[("network.compute", "seconds")].value > 0
    assert found[("network.compute", "us_per_case")].value > 0
    published = found[("network.published", "count")].value
    suppressed = found[("network.suppressed", "count")].value
    # 300 cases over 200 shippers and 24 months: most groups are too small to publish.
    assert suppressed > published >= 0
    for who in ("shipper", "carrier"):
        name = f"network.page.{who}"
        p50, p95 = found[(name, "p50_ms")], found[(name, "p95_ms")]
        assert p95.value >= p50.value > 0
        assert p50.floor is not None
        assert p50.floor > 0
