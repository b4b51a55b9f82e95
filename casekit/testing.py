"""Fakes and pytest fixtures for people who test code built on casekit.

Opt in from a ``conftest.py``::

    pytest_plugins = ["casekit.testing"]

which gives the fixtures ``casekit_clock`` (a :class:`FrozenClock`),
``casekit_kit`` (a :class:`CaseKit` on a fresh SQLite file) and
``casekit_world`` (a :class:`World` of two organizations, their users and a
customer). ``casekit_backend_kit`` and ``casekit_backend_world`` are the same
on every database the environment names: SQLite always, PostgreSQL when
``CASEKIT_TEST_POSTGRES_URL`` is set and MySQL/MariaDB when
``CASEKIT_TEST_MYSQL_URL`` is (a throwaway database on each server, migrated
once per session and emptied after every test). :class:`FakeShipments`
answers the lookup hooks from memory, and :class:`SignalRecorder` records
what casekit announced.

The fixtures live in :mod:`casekit.pytest_plugin`, which opting in to this
module loads too; this module itself imports no pytest, so that code
outside a test run (the benchmarks, a host's own tools) can use the fakes.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from email.message import EmailMessage, Message
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from blinker import NamedSignal

from casekit import signals
from casekit.clock import FrozenClock
from casekit.domain.directory import Customer, Organization
from casekit.domain.shipment import OrderFacts, ShipmentFacts
from casekit.kit import CaseKit
from casekit.mail.compose import OutgoingNotification
from casekit.plugins import hookimpl
from casekit.sample import World
from casekit.settings import Settings

if TYPE_CHECKING:
    import pytest
    from sqlalchemy.engine import Engine

    from casekit.pytest_plugin import (
        casekit_backend_kit,
        casekit_backend_world,
        casekit_clock,
        casekit_kit,
        casekit_world,
    )

__all__ = [
    "CapturedMail",
    "FakeShipments",
    "FrozenClock",
    "SignalRecorder",
    "SmtpSink",
    "World",
    "backends_under_test",
    "casekit_backend_kit",
    "casekit_backend_world",
    "casekit_clock",
    "casekit_kit",
    "casekit_world",
    "empty_tables",
    "enabled_backends",
    "make_kit",
    "run_in_terminal",
]


class FakeShipments:
    """A plugin that answers the shipment and order lookups, and a customer's orders,
    from dictionaries.

    >>> fake = FakeShipments()
    >>> facts = fake.add_shipment(ShipmentFacts(reference="SHP-1", shipper="acme", carrier="fast"))
    """

    def __init__(self) -> None:
        self.shipments: dict[str, ShipmentFacts] = {}
        self.orders: dict[str, OrderFacts] = {}
        self.lookups: list[tuple[str, str]] = []

    def add_shipment(self, facts: ShipmentFacts) -> ShipmentFacts:
        self.shipments[facts.reference] = facts
        return facts

    def add_order(self, facts: OrderFacts) -> OrderFacts:
        self.orders[facts.number] = facts
        return facts

    @hookimpl
    def casekit_lookup_shipment(
        self, organization: Organization, reference: str
    ) -> ShipmentFacts | None:
        self.lookups.append(("shipment", reference))
        facts = self.shipments.get(reference)
        if facts is None or organization.external_id not in (facts.shipper, facts.carrier):
            return None
        return facts

    @hookimpl
    def casekit_lookup_order(self, organization: Organization, number: str) -> OrderFacts | None:
        self.lookups.append(("order", number))
        facts = self.orders.get(number)
        if facts is None or facts.shipper not in (None, organization.external_id):
            return None
        return facts

    @hookimpl
    def casekit_customer_orders(
        self, organization: Organization, customer: Customer
    ) -> list[OrderFacts]:
        """The orders that name the customer's email, as a store of orders would answer
        (casekit keeps those of the shipper and the customer, whatever a plugin says)."""
        self.lookups.append(("customer_orders", customer.email))
        return [
            facts
            for facts in self.orders.values()
            if (facts.customer_email or "").lower() == customer.email.lower()
        ]


class CapturedMail:
    """A delivery plugin that keeps notifications in memory instead of sending them.

    Register it (``CaseKit(plugins=[CapturedMail()])``): it answers
    ``casekit_deliver_notification`` before the built-in SMTP plugin, so no
    mail leaves the process. A demo host can show ``outbox`` on a page.

    >>> captured = CapturedMail()
    >>> captured.messages
    []
    """

    def __init__(self) -> None:
        self.outbox: list[OutgoingNotification] = []
        #: when set, each delivery raises it instead (a mail server that is down).
        self.failure: Exception | None = None

    @property
    def messages(self) -> list[Message]:
        return [n.message for n in self.outbox]

    def to(self, email: str) -> list[OutgoingNotification]:
        """The notifications delivered to ``email``."""
        return [n for n in self.outbox if n.email.lower() == email.lower()]

    @hookimpl
    def casekit_deliver_notification(self, notification: OutgoingNotification) -> bool:
        if self.failure is not None:
            raise self.failure
        self.outbox.append(notification)
        return True


class SmtpSink:
    """A real SMTP server on loopback that keeps what it receives (needs ``aiosmtpd``).

    ::

        with SmtpSink() as sink:
            kit = make_kit(url, attachment_dir=..., smtp_host=sink.host, smtp_port=sink.port)
            ...
            kit.notifications.deliver()
            assert sink.to("cal@fast.test")

    ``stop()`` and ``start()`` take it down and bring it back on the
    same port, like a mail server that is away for a while.

    With ``stall_at=N`` the server hangs on the N-th message (counting
    from 1): its ``DATA`` gets no answer until ``release()`` (then a
    ``451``, so it is not received), as a mail server that stops answering
    in the middle of a batch; ``stalling`` (an event) is set when it starts
    to hang and ``stalled`` holds that message. A worker killed while it
    waits there has delivered nothing of it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, stall_at: int = 0) -> None:
        import socket
        import threading

        self.host = host
        if not port:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.port = port
        self.stall_at = stall_at
        #: The messages whose DATA arrived, received or not (the stalled one counts).
        self.datas = 0
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.stalled: list[EmailMessage] = []
        self.stalling = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> SmtpSink:
        import asyncio
        from email import message_from_bytes
        from email.policy import default

        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.original_content, policy=default)
                with sink._lock:
                    sink.datas += 1
                    stall = sink.datas == sink.stall_at
                if stall:
                    sink.stalled.append(message)
                    sink.stalling.set()
                    while not sink._released.is_set():
                        await asyncio.sleep(0.05)
                    return "451 4.3.0 try again later"
                with sink._lock:
                    sink.received.append(message)
                    sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 OK"

        self._controller = Controller(Handler(), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def release(self) -> None:
        """Answer the stalled message (with a ``451``): the server goes on."""
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        """Forget what was received so far."""
        with self._lock:
            self.received.clear()
            self.envelopes.clear()

    def count(self) -> int:
        """How many messages were received."""
        with self._lock:
            return len(self.received)

    def message_ids(self) -> list[str]:
        """The ``Message-ID`` of each message received, in order."""
        with self._lock:
            return [str(m["Message-ID"]) for m in self.received]

    def to(self, email: str) -> list[EmailMessage]:
        """The messages whose envelope named ``email`` as a recipient."""
        with self._lock:
            return [
                m
                for m, (_f, rcpts) in zip(self.received, self.envelopes, strict=True)
                if email.lower() in (r.lower() for r in rcpts)
            ]

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SignalRecorder:
    """Records the signals casekit sends while it is active.

    ::

        with SignalRecorder(signals.CASE_SIGNALS) as recorded:
            kit.cases.solve(actor, number)
        assert recorded.names() == ["status-changed", "case-solved", "case-updated"]

    By default it records every signal, the notification signals included.
    """

    def __init__(self, watched: Sequence[NamedSignal] = signals.ALL_SIGNALS) -> None:
        self.watched = tuple(watched)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _receiver(self, name: str) -> Any:
        def receive(sender: object, **kwargs: Any) -> None:
            self.calls.append((name, kwargs))

        return receive

    def __enter__(self) -> SignalRecorder:
        self._receivers = [(s, self._receiver(str(s.name))) for s in self.watched]
        for signal, receiver in self._receivers:
            signal.connect(receiver, weak=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, signal: NamedSignal) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == signal.name]


def make_kit(
    database_url: str,
    *,
    attachment_dir: Path,
    clock: FrozenClock | None = None,
    plugins: Sequence[object] = (),
    create_schema: bool = True,
    **settings: Any,
) -> CaseKit:
    """A kit for tests: no entry points loaded, a frozen clock, its own attachment folder."""
    kit = CaseKit(
        settings=Settings(
            database_url=database_url,
            attachment_dir=attachment_dir,
            load_entry_points=False,
            **settings,
        ),
        plugins=plugins,
        clock=clock or FrozenClock(),
    )
    if create_schema:
        kit.create_schema()
    return kit


#: The environment variable naming each database server the tests may use.
SERVER_ENV = {"postgresql": "CASEKIT_TEST_POSTGRES_URL", "mysql": "CASEKIT_TEST_MYSQL_URL"}


def backends_under_test() -> list[str]:
    """SQLite, and each server whose ``CASEKIT_TEST_*_URL`` variable is set."""
    return ["sqlite"] + [name for name, env in SERVER_ENV.items() if os.environ.get(env)]


def enabled_backends(config: pytest.Config) -> list[str]:
    """The databases of this run: ``--casekit-backends``, else :func:`backends_under_test`."""
    import pytest

    chosen = config.getoption("--casekit-backends", default=None)
    if not chosen:
        return backends_under_test()
    names = [name.strip() for name in chosen.split(",") if name.strip()]
    for name in names:
        if name == "sqlite":
            continue
        if name not in SERVER_ENV:
            raise pytest.UsageError(
                f"--casekit-backends: {name} is not sqlite, postgresql or mysql"
            )
        if not os.environ.get(SERVER_ENV[name]):
            raise pytest.UsageError(f"--casekit-backends: {name} needs {SERVER_ENV[name]}")
    return names


def empty_tables(kit: CaseKit, *, keep: Collection[str] = ()) -> None:
    """Delete every row of casekit's tables and restart their ids at 1 (the schema stays).

    Only the tables a test used are touched on a server: on PostgreSQL those
    holding rows or whose id sequence has moved, on MySQL/MariaDB those
    whose ``AUTO_INCREMENT`` has moved. Their rows are deleted and their ids
    restarted, which is several times faster than ``TRUNCATE`` of every
    table (a new file for each table and index on PostgreSQL, a table
    dropped and created again on MySQL/MariaDB), run after every test.

    ``keep`` names tables (``casekit_users``...) left as they are, rows and
    ids: a directory written once for many runs of a test, say. A table that
    refers to one emptied must be emptied too.
    """
    from sqlalchemy import text

    from casekit.store.tables import metadata

    # the referencing ones first
    tables = [t for t in reversed(metadata.sorted_tables) if t.name not in keep]
    # The tables whose ids come from a sequence / AUTO_INCREMENT, and that column.
    serial = {
        t.name: t.autoincrement_column.name for t in tables if t.autoincrement_column is not None
    }
    engine = kit.engine
    dialect = engine.dialect.name
    with engine.begin() as conn:
        used = {t.name for t in tables}
        restarts: list[str] = []
        ddl: list[str] = []
        if dialect == "postgresql":

            def sequence(name: str) -> str:
                return f"pg_get_serial_sequence('{name}', '{serial[name]}')"

            probes = [
                f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"
                + (
                    f" OR pg_sequence_last_value({sequence(t.name)}) IS NOT NULL"
                    if t.name in serial
                    else ""
                )
                for t in tables
            ]
            used = set(conn.execute(text(" UNION ALL ".join(probes))).scalars())
            restarts = [f"SELECT setval({sequence(n)}, 1, false)" for n in serial.keys() & used]
        elif dialect in ("mysql", "mariadb"):
            if not getattr(engine.dialect, "is_mariadb", False):
                # MySQL 8 caches these statistics for a day by default.
                conn.execute(text("SET SESSION information_schema_stats_expiry = 0"))
            moved = conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = DATABASE() AND auto_increment > 1"
                )
            ).scalars()
            # Restarted once the deletes are committed (an ALTER waits for them).
            ddl = [f"ALTER TABLE {n} AUTO_INCREMENT = 1" for n in sorted(serial.keys() & {*moved})]
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        try:
            for table in tables:
                if table.name in used:
                    conn.execute(table.delete())
            for statement in restarts:
                conn.execute(text(statement))
        finally:
            if dialect in ("mysql", "mariadb"):
                conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    if dialect in ("mysql", "mariadb"):
        _alter_side_by_side(engine, ddl)


#: How many ALTERs :func:`empty_tables` runs at once on MySQL/MariaDB.
_ALTERS_AT_ONCE = 4


def _alter_side_by_side(engine: Engine, statements: Sequence[str]) -> None:
    """Run ``statements`` (ALTER TABLE of different tables) a few at a time.

    Each ALTER waits for the disk (MariaDB syncs its DDL log and the table's
    definition) far longer than for the CPU: side by side the waits overlap,
    some 0.3 s saved after each test that used a dozen tables. Two that lock
    the same tables through a foreign key may deadlock: what failed is run
    again, one at a time.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.exc import OperationalError

    def run(batch: Sequence[str]) -> list[str]:
        failed: list[str] = []
        with engine.connect() as conn:
            for statement in batch:
                try:
                    conn.exec_driver_sql(statement)
                except OperationalError:
                    failed.append(statement)
        return failed

    batches = [statements[i::_ALTERS_AT_ONCE] for i in range(_ALTERS_AT_ONCE)]
    with ThreadPoolExecutor(_ALTERS_AT_ONCE) as pool:
        again = [s for failed in pool.map(run, [b for b in batches if b]) for s in failed]
    with engine.connect() as conn:
        for statement in again:
            conn.exec_driver_sql(statement)


def run_in_terminal(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 120
) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its stdin, stdout and stderr.

    Returns its exit status and all it wrote, as a person at a terminal
    would see it (carriage returns included): for testing what a command
    shows on a terminal only, such as the progress bars of
    ``casekit.cli_progress``. POSIX only.
    """
    import pty
    import select
    import subprocess
    import time

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        list(args),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=dict(os.environ if env is None else env),
        close_fds=True,
    )
    os.close(follower)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the command closed the terminal: it has ended
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        else:
            raise TimeoutError(f"{args[0]} ran for more than {timeout} s")
        status = process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return status, output.decode("utf-8", "replace")


#: pytest loads the fixtures and the ``--casekit-backends`` option from here
#: when a ``conftest.py`` opts in to this module.
pytest_plugins = ["casekit.pytest_plugin"]

_FIXTURES = (
    "casekit_backend_kit",
    "casekit_backend_url",
    "casekit_backend_world",
    "casekit_clock",
    "casekit_kit",
    "casekit_world",
)


def __getattr__(name: str) -> Any:
    """The fixtures, from :mod:`casekit.pytest_plugin`: pytest is imported only for them."""
    if name in _FIXTURES:
        from casekit import pytest_plugin

        return getattr(pytest_plugin, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
