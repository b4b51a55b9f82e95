"""``python -m benchmarks SCENARIO [--cases N] [--database-url URL] [--json FILE]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import backend_of, load_scenarios, print_table, run_scenario, write_json


def main(argv: Sequence[str] | None = None) -> int:
    scenarios = load_scenarios()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run a casekit benchmark scenario beside its hand-written floor.",
        epilog="scenarios: "
        + "; ".join(
            f"{s.name}: {s.help}" for s in sorted(scenarios.values(), key=lambda s: s.name)
        ),
    )
    parser.add_argument("scenario", choices=sorted(scenarios), help="what to measure")
    parser.add_argument(
        "--cases",
        type=int,
        default=None,
        help="cases to measure (default 500; 1,000,000 for generate and views)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="cases run before measuring, not counted in the figures (default 20; "
        "load: seconds of warm-up)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes sharing the cases, like a web server's workers (default 1; "
        "load: gunicorn's worker processes, 4)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="how long a timed scenario drives its load (load: 300)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="the requests a second a load scenario offers (load: 300)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL or MySQL/MariaDB server (a throwaway database is created on it "
        "and dropped), or a SQLite file to keep; default: a temporary SQLite file",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.cases is None:
        args.cases = scenarios[args.scenario].default_cases
    if args.workers is None:
        args.workers = scenarios[args.scenario].default_workers
    if args.cases < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--cases and --workers must be at least 1, --warmup at least 0")
    if (args.seconds is not None and args.seconds <= 0) or (
        args.rate is not None and args.rate <= 0
    ):
        parser.error("--seconds and --rate must be more than 0")
    try:
        results = run_scenario(
            args.scenario,
            cases=args.cases,
            database_url=args.database_url,
            warmup=args.warmup,
            workers=args.workers,
            out=sys.stderr,
            seconds=args.seconds,
            rate=args.rate,
        )
    except ValueError as error:  # what the scenario refuses to measure
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    backend = backend_of(args.database_url) if args.database_url else "sqlite"
    print_table(
        results,
        sys.stdout,
        title=f"{args.scenario} on {backend}, {args.cases} cases, {args.workers} worker(s)",
    )
    if args.json is not None:
        write_json(results, args.json)
    # A run whose requests failed measured something else than the scenario.
    failed = [r.name for r in results if r.metric == "errors" and r.value]
    if failed:
        print(f"{parser.prog}: requests failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
