"""``python -m benchmarks pages`` runs end to end on a small data set."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # the repository's benchmarks/ (casekit itself stays installed)


def test_the_pages_scenario_reports_list_and_case_pages(tmp_path):
    from benchmarks.common import run_scenario

    results = run_scenario(
        "pages",
        cases=400,
        database_url=f"sqlite:///{tmp_path / 'pages.sqlite3'}",
        warmup=0,
        workers=1,
        out=None,
    )
    names = {(r.name, r.metric) for r in results}
    for page in (
        "pages.list",
        "pages.list.new_cases",
        "pages.list.filtered",
        "pages.known_values",
        "pages.case",
        "pages.live",
        "pages.dashboard",
    ):
        for side in ("shipper", "carrier"):
            assert (f"{page}.{side}", "p95_ms") in names
    assert all(r.value > 0 for r in results if r.metric == "p95_ms")
    assert all(r.floor is not None and r.floor > 0 for r in results if r.metric == "p95_ms")
