"""Scenario ``load``: a working day through a real web server, driven from another process.

``python -m benchmarks load --cases N --database-url URL [--seconds S]
[--rate R] [--processes P] [--json FILE]`` generates the data set first when
the database does not hold it (:mod:`benchmarks.generate`; 1,000,000 cases
by default), serves casekit-flask under gunicorn (``P`` sync worker
processes, 4 by default, each with its own kit and connection pool) and
drives it with locust, headless, in a process of its own: agents of the
largest shipper and the largest carrier (several users of each, each with
the cases on its first pages) pace themselves to ``R`` requests a second
in all (300 by default) for ``S`` seconds (300), after a warm-up of a
tenth of that which is not counted. The mix, as a working day has it
(:mod:`benchmarks._load_locust`):

- 50 % list pages: the built-in views, one filter, a search by case
  number, a sorted list;
- 25 % case pages;
- 15 % changes: a message to the partner or an internal note (two in
  three), a status change (one in three); each answered by the redirect to
  the case page;
- 10 % REST calls with the user's own API key of the organization: a page
  of the list, a case.

It reports the requests a second served, and per kind the requests, the
errors (any answer but the expected one, or none) and the p50/p95/p99
latency locust saw; beside them, from inside the web processes, the mean
time per request from its arrival to its response (``app ms``) and the part
of it spent in the database driver (``db ms``): their ratio shows what
casekit and Flask add to the database's floor. When PostgreSQL has
``pg_stat_statements`` loaded (``shared_preload_libraries``), the
statements' own execution time is reported too (``pg ms``); otherwise the
scenario says how to load it.

Rate limits across the processes: every API key may make
:data:`API_LIMIT` requests in :data:`API_WINDOW` seconds
(``CASEKIT_API_RATE_LIMIT``), some four times what a user's key sends at
the default rate.
Halfway through the measured run, the scenario itself sends twice the limit
with one more key as fast as it can (each asking for a case that is not
there: the limiter counts it, and its 404 costs the server little), beside
the working day and not in its figures, and reports how many the web
processes let through (``ratelimit.flood``: ``allowed``, with the limit as
its floor, and ``refused``; all within the window when ``seconds`` is below
it). With the counts in Redis (``CASEKIT_RATE_LIMIT_STORAGE_URI``
in the environment, e.g. ``redis://127.0.0.1:6379/0``; the key prefix is
the run's own) the processes together allow the limit; with ``memory://``
(the default) each process counts alone and together they allow more.

The scenario writes into the set (messages, notes, status changes, API
keys): give it a database of its own. Needs gunicorn and locust
(``pip install gunicorn locust``), and casekit-flask.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select, text

from benchmarks.common import Context, Result, backend_of, scenario
from benchmarks.generate import CASE_TYPES, Dataset, generate
from casekit.domain.actor import Actor
from casekit.kit import CaseKit
from casekit.settings import Settings
from casekit.store import tables

NAME = "load"
DEFAULT_CASES = 1_000_000
#: Users of each of the two organizations, and the cases each works on.
USERS_PER_SIDE = 8
CASES_PER_USER = 100
KINDS = ("list", "case", "change", "api")
#: Every API key's rate limit, per window (seconds): the flood's key meets it.
API_LIMIT = 150
API_WINDOW = 10
#: Requests the flood sends at once (of twice the limit in all).
FLOOD_THREADS = 8


def default_url(cases: int) -> str:
    return f"sqlite:////tmp/casekit-bench-load-{cases}.sqlite3"


@scenario(
    NAME,
    help="a working day's mix through gunicorn, driven by locust from another process",
    default_cases=DEFAULT_CASES,
    default_workers=4,
)
def run(ctx: Context) -> list[Result]:
    url = ctx.database_url or default_url(ctx.cases)
    seconds = ctx.seconds or 300.0
    rate = ctx.rate or 300.0
    missing = [tool for tool in ("gunicorn", "locust") if not _module_exists(tool)]
    if missing:
        raise ValueError(f"{NAME} needs {' and '.join(missing)}: pip install gunicorn locust")
    dataset, generated = generate(url, ctx.cases, log=ctx.log)
    results: list[Result] = []
    if generated is not None:
        results.append(Result("generate", "seconds", round(generated, 2)))
    with tempfile.TemporaryDirectory(prefix="casekit-bench-load-") as folder:
        work = Path(folder)
        plan = _plan(url, dataset, work, rate)
        pg_stats = _pg_stat_statements(url, ctx)
        port = _free_port()
        stats_dir = work / "stats"
        stats_dir.mkdir()
        ctx.log(
            f"{NAME}: {ctx.workers} gunicorn workers on :{port}; {rate:g} requests/s "
            f"for {seconds:g} s after {ctx.warmup} s of warm-up"
        )
        server = _serve(url, work, stats_dir, port, ctx.workers)
        try:
            if ctx.warmup:
                _drive(work, plan, port, ctx.warmup, ctx, csv_prefix=None)
                server = _restart_counting(server, url, work, stats_dir, port, ctx.workers)
            _reset_server_stats(url, pg_stats)
            prefix = work / "locust"
            flood = _Flood(port, json.loads(plan.read_text())["flood_key"], after=seconds / 2)
            flood.start()
            _drive(work, plan, port, seconds, ctx, csv_prefix=prefix)
            flood.join()
            pg = _read_pg_stats(url) if pg_stats else None
        finally:
            _stop(server)
        results += _results(prefix, stats_dir, pg, ctx.log)
        results += flood.results(ctx.log)
    return results


def _module_exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _plan(url: str, dataset: Dataset, work: Path, rate: float) -> Path:
    """The agents' users, their cases and their organization's API key, and the
    flood's own key (:class:`_Flood`), as JSON."""
    kit = CaseKit(
        settings=Settings(database_url=url, attachment_dir=work / "files", load_entry_points=False)
    )
    c = tables.cases.c
    users: list[dict[str, object]] = []
    flood = kit.api_keys.create(Actor.host(), org_id=dataset.largest_shipper_id, name="flood")
    try:
        # The statuses each side sets (a carrier's side has no "waiting": that
        # is about the shipper's customer).
        for org, column, statuses in (
            (dataset.largest_shipper_id, c.shipper_org_id, ["open", "waiting"]),
            (dataset.largest_carrier_id, c.carrier_org_id, ["open", "solved"]),
        ):
            with kit.engine.connect() as conn:
                numbers = list(
                    conn.scalars(
                        select(c.number)
                        .where(column == org, c.status != "solved")
                        .order_by(c.id.desc())
                        .limit(USERS_PER_SIDE * CASES_PER_USER)
                    )
                )
            for i, user_id in enumerate(list(dataset.users[org])[:USERS_PER_SIDE]):
                mine = numbers[i * CASES_PER_USER : (i + 1) * CASES_PER_USER] or numbers
                # Each user's own integration: its own key, as the rate limit counts.
                key = kit.api_keys.create(Actor.host(), org_id=org, name=f"load {i}", scope="write")
                users.append(
                    {
                        "header": f"{user_id}:{org}",
                        "cases": mine,
                        "api_key": key.token,
                        "statuses": statuses,
                    }
                )
    finally:
        kit.engine.dispose()
    path = work / "plan.json"
    agents = len(users) * 4
    path.write_text(
        json.dumps(
            {
                "users": users,
                "types": [name for name, _weight in CASE_TYPES],
                "agents": agents,
                "rate_per_user": rate / agents,
                "flood_key": flood.token,
            }
        )
    )
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(
    url: str, work: Path, stats_dir: Path, port: int, processes: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CASEKIT_DATABASE_URL": url,
        "CASEKIT_ATTACHMENT_DIR": str(work / "files"),
        "CASEKIT_LOAD_ENTRY_POINTS": "off",
        "CASEKIT_LOAD_STATS": str(stats_dir),
        "CASEKIT_API_RATE_LIMIT": str(API_LIMIT),
        "CASEKIT_API_RATE_WINDOW": str(API_WINDOW),
        "CASEKIT_RATE_LIMIT_KEY_PREFIX": f"casekit-load-{port}-{time.time_ns()}",
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent), *sys.path]),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(processes),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
            "benchmarks._load_app:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "gunicorn.log", "ab"),
    )


def _wait_for(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on :{port} within {timeout:g} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # graceful: each worker writes its counts
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _restart_counting(
    server: subprocess.Popen[bytes], url: str, work: Path, stats_dir: Path, port: int, n: int
) -> subprocess.Popen[bytes]:
    """The warm-up's counts are not the run's: stop the server (its workers
    write theirs), forget them, and serve again (the database stays warm)."""
    _stop(server)
    for file in stats_dir.iterdir():
        file.unlink()
    fresh = _serve(url, work, stats_dir, port, n)
    _wait_for(port, fresh)
    return fresh


def _drive(
    work: Path,
    plan: Path,
    port: int,
    seconds: float,
    ctx: Context,
    *,
    csv_prefix: Path | None,
) -> None:
    agents = json.loads(plan.read_text())["agents"]
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).with_name("_load_locust.py")),
        "--headless",
        "--users",
        str(agents),
        "--spawn-rate",
        str(agents),
        "--run-time",
        f"{max(1, round(seconds))}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    if csv_prefix is not None:
        command += ["--csv", str(csv_prefix)]
    ctx.log(f"{NAME}: locust, {agents} agents, {seconds:g} s")
    subprocess.run(
        command,
        env={**os.environ, "CASEKIT_LOAD_PLAN": str(plan)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "locust.log", "ab"),  # noqa: SIM115
    )


class _Flood(threading.Thread):
    """Twice the rate limit, sent with one API key as fast as :data:`FLOOD_THREADS`
    threads can, ``after`` seconds into the run; the answers counted by status."""

    def __init__(self, port: int, token: str, *, after: float) -> None:
        super().__init__(daemon=True)
        # A case that is not there: the limiter counts it, the answer (404) costs little.
        self.url = f"http://127.0.0.1:{port}/api/v1/cases/NO-SUCH-CASE"
        self.token = token
        self.after = after
        self.statuses: Counter[int] = Counter()
        self.seconds = 0.0

    def _one(self, _i: int) -> int:
        request = urllib.request.Request(
            self.url, headers={"Authorization": f"Bearer {self.token}", "X-Load-Kind": "flood"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    def run(self) -> None:
        time.sleep(self.after)
        started = time.monotonic()
        with ThreadPoolExecutor(FLOOD_THREADS) as pool:
            self.statuses.update(pool.map(self._one, range(2 * API_LIMIT)))
        self.seconds = time.monotonic() - started

    def results(self, log: Callable[[str], None]) -> list[Result]:
        storage = os.environ.get("CASEKIT_RATE_LIMIT_STORAGE_URI", "memory://")
        allowed, refused = self.statuses[404], self.statuses[429]
        other = sum(self.statuses.values()) - allowed - refused
        log(
            f"{NAME}: the flood's {2 * API_LIMIT} requests in {self.seconds:.1f} s: "
            f"{allowed} allowed, {refused} refused, {other} other (limit {API_LIMIT} in "
            f"{API_WINDOW} s, counted in {storage.split('://')[0]})"
        )
        return [
            Result("ratelimit.flood", "allowed", allowed, API_LIMIT),
            Result("ratelimit.flood", "refused", refused),
            Result("ratelimit.flood", "other", other),
            Result("ratelimit.flood", "seconds", round(self.seconds, 2)),
        ]


def _pg_stat_statements(url: str, ctx: Context) -> bool:
    """Whether PostgreSQL can report its statements' own time (and the extension is made)."""
    if backend_of(url) != "postgresql":
        return False
    kit_engine = CaseKit(settings=Settings(database_url=url, load_entry_points=False)).engine
    try:
        with kit_engine.connect() as conn:
            loaded = "pg_stat_statements" in str(
                conn.execute(text("SHOW shared_preload_libraries")).scalar_one()
            )
            if loaded:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
                conn.commit()
    finally:
        kit_engine.dispose()
    if not loaded:
        ctx.log(
            f"{NAME}: pg_stat_statements is not loaded, so the statements' own time is not "
            "reported: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' "
            "and restart PostgreSQL to see it"
        )
    return loaded


def _reset_server_stats(url: str, pg_stats: bool) -> None:
    if not pg_stats:
        return
    engine = CaseKit(settings=Settings(database_url=url, load_entry_points=False)).engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_statements_reset()"))
            conn.commit()
    finally:
        engine.dispose()


def _read_pg_stats(url: str) -> tuple[float, int]:
    """PostgreSQL's own execution time (seconds) and calls, this database's statements."""
    engine = CaseKit(settings=Settings(database_url=url, load_entry_points=False)).engine
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT COALESCE(SUM(total_exec_time + total_plan_time), 0) / 1000, "
                    "COALESCE(SUM(calls), 0) FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).one()
    finally:
        engine.dispose()
    return float(row[0]), int(row[1])


def _results(
    prefix: Path, stats_dir: Path, pg: tuple[float, int] | None, log: Callable[[str], None]
) -> list[Result]:
    """Locust's figures per request name and in all; the web processes' own per kind."""
    results: list[Result] = []
    with open(f"{prefix}_stats.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    with open(f"{prefix}_failures.csv", newline="") as file:
        for failure in csv.DictReader(file):
            log(f"{NAME}: {failure['Occurrences']} x {failure['Name']}: {failure['Error']}")
    for row in rows:
        name = "load.all" if row["Name"] == "Aggregated" else "load." + row["Name"]
        results.append(Result(name, "requests", float(row["Request Count"])))
        results.append(Result(name, "errors", float(row["Failure Count"])))
        for q in ("50", "95", "99"):
            results.append(Result(name, f"p{q} ms", float(row[f"{q}%"] or 0)))
        if row["Name"] == "Aggregated":
            results.append(Result(name, "requests/s", round(float(row["Requests/s"]), 1)))
    served: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for stats in stats_dir.glob("*.json"):
        for kind, counts in json.loads(stats.read_text()).items():
            for i, value in enumerate(counts):
                served[kind][i] += value
    for kind in KINDS:
        n, app, db = served[kind]
        if n:
            results.append(Result(f"load.{kind}", "app ms", round(app / n * 1000, 2)))
            results.append(Result(f"load.{kind}", "db ms", round(db / n * 1000, 2)))
            results.append(Result(f"load.{kind}", "app/db", round(app / db, 2) if db else 0.0))
    all_served = sum(v[0] for v in served.values())
    if pg is not None and all_served:
        results.append(Result("load.all", "pg ms", round(pg[0] / all_served * 1000, 2)))
        results.append(Result("load.all", "pg statements", round(pg[1] / all_served, 1)))
    return results
