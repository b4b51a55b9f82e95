"""What every benchmark scenario shares.

- a registry of scenarios (:func:`scenario`), one module per scenario in this
  package, found by :func:`load_scenarios`;
- throwaway databases (:func:`throwaway_database`): a fresh database on a
  PostgreSQL or MySQL/MariaDB server, dropped afterwards; a temporary SQLite
  file unless the caller names one;
- a kit on a database (:func:`bench_kit`) and a small sample world;
- timing and counting (:class:`Recorder`, :class:`Report`): wall and CPU
  time, per-case latencies, statements through SQLAlchemy's
  ``before_cursor_execute`` and ``commit`` events (:class:`StatementCounter`);
- worker processes that start measuring together (:func:`run_workers`);
- results (:class:`Result`), a readable table and the JSON file.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing
import pkgutil
import statistics
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import URL, make_url

from casekit.clock import Clock
from casekit.domain.actor import Actor
from casekit.domain.directory import OrgRole
from casekit.kit import CaseKit
from casekit.settings import Settings
from casekit.store import database
from casekit.store.database import create_casekit_engine

# -- results ---------------------------------------------------------------


@dataclass
class Result:
    """One measure of one scenario: ``value`` for casekit, ``floor`` for the
    hand-written lower bound where one applies."""

    name: str
    metric: str
    value: float
    floor: float | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["floor"] is None:
            del data["floor"]
        return data


@dataclass
class Context:
    """What a scenario is run with."""

    cases: int
    database_url: str | None = None
    warmup: int = 20
    workers: int = 1
    out: TextIO | None = None
    #: How long a timed scenario runs, and the requests a second it offers
    #: (``load``); None: the scenario's own default.
    seconds: float | None = None
    rate: float | None = None

    def log(self, message: str) -> None:
        if self.out is not None:
            print(message, file=self.out, flush=True)


ScenarioFunction = Callable[[Context], list[Result]]


@dataclass(frozen=True)
class Scenario:
    name: str
    run: ScenarioFunction
    help: str = ""
    default_cases: int = 500
    default_workers: int = 1


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, *, help: str = "", default_cases: int = 500, default_workers: int = 1
) -> Callable[[ScenarioFunction], ScenarioFunction]:
    """Register a scenario under ``name``; decorate its ``run(ctx)`` function."""

    def register(run: ScenarioFunction) -> ScenarioFunction:
        if name in SCENARIOS and SCENARIOS[name].run is not run:
            raise RuntimeError(f"two benchmark scenarios are named {name!r}")
        SCENARIOS[name] = Scenario(
            name,
            run,
            help or (run.__doc__ or "").strip().split("\n")[0],
            default_cases,
            default_workers,
        )
        return run

    return register


_NOT_SCENARIOS = {"common", "__main__"}


def load_scenarios() -> dict[str, Scenario]:
    """Import every scenario module of this package (each registers itself)."""
    package = importlib.import_module(__package__ or "benchmarks")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _NOT_SCENARIOS and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return SCENARIOS


def run_scenario(
    name: str,
    *,
    cases: int,
    database_url: str | None = None,
    warmup: int = 20,
    workers: int = 1,
    out: TextIO | None = None,
    seconds: float | None = None,
    rate: float | None = None,
) -> list[Result]:
    """Run one scenario and return its results (the Python entry of the CLI)."""
    scenarios = load_scenarios()
    if name not in scenarios:
        raise KeyError(f"no benchmark scenario {name!r}; try one of {sorted(scenarios)}")
    ctx = Context(
        cases=cases,
        database_url=database_url,
        warmup=warmup,
        workers=workers,
        out=out,
        seconds=seconds,
        rate=rate,
    )
    return scenarios[name].run(ctx)


# -- databases ----------------------------------------------------------------


def backend_of(url: str | URL) -> str:
    name = make_url(url).get_backend_name()
    return "mysql" if name == "mariadb" else name


@contextlib.contextmanager
def throwaway_database(url: str | None, *, keep_sqlite: bool = True) -> Iterator[str]:
    """A fresh, empty database for one run; yields its URL.

    ``url`` names a PostgreSQL or MySQL/MariaDB *server* (any database on
    it): a new database ``casekit_bench_<random>`` is created there and
    dropped afterwards. A SQLite ``url`` is used as it is when
    ``keep_sqlite`` (so the caller can look at it afterwards); otherwise, and
    without a URL, the database is a temporary SQLite file.
    """
    if url is None or (backend_of(url) == "sqlite" and not keep_sqlite):
        with tempfile.TemporaryDirectory(prefix="casekit-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    backend = backend_of(url)
    if backend == "sqlite":
        yield url
        return
    if backend not in ("postgresql", "mysql"):
        raise ValueError(f"unsupported database {url!r}: use sqlite, postgresql or mysql")
    with database.throwaway_database(url, prefix="casekit_bench") as server_url:
        yield server_url


def require_new_database(url: str) -> None:
    """Refuse a database that already holds casekit cases: results must compare rows."""
    engine = create_casekit_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("casekit_cases"):
                return
            if conn.execute(text("SELECT COUNT(*) FROM casekit_cases")).scalar_one():
                raise ValueError(f"{url} already holds cases: name a new database file")
    finally:
        engine.dispose()


def bench_kit(database_url: str, attachment_dir: Path, *, clock: Clock | None = None) -> CaseKit:
    """A kit on ``database_url`` with its schema, no entry points, the system clock."""
    kit = CaseKit(
        settings=Settings(
            database_url=database_url,
            attachment_dir=attachment_dir,
            load_entry_points=False,
        ),
        clock=clock,
    )
    kit.create_schema()
    return kit


#: The names and addresses of :class:`People`: the shipper's agent, the
#: carrier's agent, the customer.
SAM = ("Sam Shipper", "sam@acme.test")
CAL = ("Cal Carrier", "cal@fast.test")
CASEY = ("Casey", "casey@example.test")


@dataclass(frozen=True)
class People:
    """A shipper with an agent and a customer, a carrier with an agent.

    Plain ids and actors, so worker processes can receive it. Their names and
    addresses are :data:`SAM`, :data:`CAL` and :data:`CASEY`.
    """

    shipper_id: int
    carrier_id: int
    customer_id: int
    shipper_actor: Actor
    carrier_actor: Actor

    @classmethod
    def build(cls, kit: CaseKit) -> People:
        host = Actor.host()
        d = kit.directory
        shipper = d.add_organization(host, name="Acme Goods", role=OrgRole.SHIPPER)
        carrier = d.add_organization(host, name="Fast Freight", role=OrgRole.CARRIER)
        assert shipper.id is not None
        assert carrier.id is not None
        sam = d.add_user(host, org_id=shipper.id, name=SAM[0], email=SAM[1])
        cal = d.add_user(host, org_id=carrier.id, name=CAL[0], email=CAL[1])
        casey = d.add_customer(host, shipper_org_id=shipper.id, name=CASEY[0], email=CASEY[1])
        assert casey.id is not None
        return cls(
            shipper_id=shipper.id,
            carrier_id=carrier.id,
            customer_id=casey.id,
            shipper_actor=Actor.of_user(sam),
            carrier_actor=Actor.of_user(cal),
        )


def table_rows(engine: Engine, tables: Sequence[str]) -> dict[str, int]:
    """Row counts of ``tables``."""
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in tables
        }


# -- measuring ------------------------------------------------------------------


@dataclass
class StatementCounter:
    """Counts what an engine sends to the database while :attr:`active`.

    ``statements`` counts cursor executions (one per ``execute`` and one per
    ``executemany`` batch), which includes the ``BEGIN [IMMEDIATE]`` casekit
    issues itself on SQLite. ``commits`` counts transactions committed
    through the DBAPI: their ``COMMIT`` is not a cursor execution, and the
    PostgreSQL and MySQL drivers send the ``BEGIN`` themselves, unseen here —
    on those servers each commit stands for two more round trips.
    ``checkouts`` counts connections taken from the pool; on PostgreSQL and
    MySQL casekit's engine pings one that sat idle for more than
    ``ping_after_idle`` seconds (one more round trip that no event shows),
    never one of a busy run.
    """

    statements: int = 0
    commits: int = 0
    rollbacks: int = 0
    checkouts: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    active: bool = False

    def attach(self, engine: Engine) -> StatementCounter:
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "rollback", self._on_rollback)
        event.listen(engine.pool, "checkout", self._on_checkout)
        return self

    def _on_checkout(self, *_args: Any) -> None:
        if self.active:
            self.checkouts += 1

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.active:
            self.statements += 1
            self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1

    def _on_commit(self, _conn: Any) -> None:
        if self.active:
            self.commits += 1

    def _on_rollback(self, _conn: Any) -> None:
        if self.active:
            self.rollbacks += 1


@dataclass
class Report:
    """What one worker measured (picklable, so worker processes can send it back).

    ``samples`` are the durations of the measured units (cases), ``parts``
    those of named steps within them, all in seconds; ``start`` and ``end``
    are ``time.perf_counter()`` values (one clock for every process on the
    machine); ``cpu`` is this process's CPU time while measuring.
    """

    samples: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    statements: int = 0
    commits: int = 0
    checkouts: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    cpu: float = 0.0
    start: float = 0.0
    end: float = 0.0

    @classmethod
    def merge(cls, reports: Sequence[Report]) -> Report:
        merged = cls(
            start=min(r.start for r in reports),
            end=max(r.end for r in reports),
        )
        for r in reports:
            merged.samples += r.samples
            for name, values in r.parts.items():
                merged.parts.setdefault(name, []).extend(values)
            merged.statements += r.statements
            merged.commits += r.commits
            merged.checkouts += r.checkouts
            merged.kinds.update(r.kinds)
            merged.cpu += r.cpu
        return merged

    @property
    def per_s(self) -> float:
        wall = self.end - self.start
        return len(self.samples) / wall if wall > 0 else 0.0

    def percentile_ms(self, q: float, part: str | None = None) -> float:
        return percentile_ms(self.samples if part is None else self.parts.get(part, []), q)


def percentile_ms(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 < q < 1) of durations in seconds, in milliseconds."""
    if not samples:
        return 0.0
    if len(samples) == 1:
        return samples[0] * 1000
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[round(q * 100) - 1] * 1000


class Recorder:
    """Times units and their parts and counts statements, only inside :meth:`measuring`."""

    def __init__(self, engine: Engine) -> None:
        self.counter = StatementCounter().attach(engine)
        self.report = Report()

    @contextlib.contextmanager
    def measuring(self) -> Iterator[Report]:
        report, counter = self.report, self.counter
        counter.active = True
        cpu = time.process_time()
        report.start = time.perf_counter()
        try:
            yield report
        finally:
            report.end = time.perf_counter()
            report.cpu += time.process_time() - cpu
            counter.active = False
            report.statements += counter.statements
            report.commits += counter.commits
            report.checkouts += counter.checkouts
            report.kinds.update(counter.kinds)

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """One measured unit (a case)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.counter.active:
                self.report.samples.append(time.perf_counter() - start)

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        """A named step of a unit (``open``, ``post``)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.counter.active:
                self.report.parts.setdefault(name, []).append(time.perf_counter() - start)


# -- workers ----------------------------------------------------------------------


class Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


WorkerFunction = Callable[..., Report]


def run_workers(target: WorkerFunction, jobs: Sequence[tuple[Any, ...]]) -> list[Report]:
    """Run ``target(*job, barrier=...)`` for every job and return their reports.

    One job runs in this process (``barrier`` is None). Several run in as many
    processes, like a web server's workers; each sets itself up, then waits
    at ``barrier`` so that all start measuring together. ``target`` must be a
    module-level function (it is pickled by name).
    """
    if len(jobs) == 1:
        return [target(*jobs[0], barrier=None)]
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(len(jobs))
    queue = spawn.Queue()
    processes = [
        spawn.Process(target=_worker_main, args=(target, job, barrier, queue), daemon=True)
        for job in jobs
    ]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(queue.get(timeout=3600))
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    failures = [detail for ok, detail in outcomes if not ok]
    if failures:
        raise RuntimeError("a benchmark worker failed:\n" + "\n".join(map(str, failures)))
    return [report for _, report in outcomes]


def _worker_main(target: WorkerFunction, job: tuple[Any, ...], barrier: Any, queue: Any) -> None:
    try:
        queue.put((True, target(*job, barrier=barrier)))
    except BaseException:
        barrier.abort()
        queue.put((False, traceback.format_exc()))


def split(items: range, parts: int) -> list[range]:
    """``items`` in ``parts`` interleaved slices (worker w takes every parts-th item)."""
    return [items[w::parts] for w in range(parts)]


# -- output ---------------------------------------------------------------------


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value)}"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def print_table(results: Sequence[Result], out: TextIO, *, title: str = "") -> None:
    """A readable table: casekit beside the floor, and how far apart they are."""
    rows = [("name", "metric", "casekit", "floor", "x floor")]
    for r in results:
        ratio = "-"
        if r.floor:
            # "x floor" reads as "how many times worse than the floor".
            worse = r.floor / r.value if r.metric == "per_s" and r.value else r.value / r.floor
            ratio = f"{worse:.2f}"
        rows.append((r.name, r.metric, _number(r.value), _number(r.floor), ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    if title:
        print(title, file=out)
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def write_json(results: Sequence[Result], path: Path) -> None:
    path.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")
