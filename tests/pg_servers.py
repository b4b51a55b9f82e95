"""Private PostgreSQL servers for the replica and PgBouncer tests.

:func:`streaming_pair` makes a small primary cluster (``initdb`` in a temp
folder, on a free loopback port) and a hot standby streaming from it
(``pg_basebackup -R``), both stopped and removed afterwards. The machine's
own cluster is not copied: it holds every other database on the machine,
gigabytes a test has no use for. :func:`pgbouncer` runs Debian's PgBouncer
in transaction pooling mode in front of a server. Both run their programs as
the ``postgres`` user when the tests run as root (neither server starts as
root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: Set (as CI does) to fail instead of skip when PgBouncer or PostgreSQL's programs are missing.
REQUIRE = "CASEKIT_REQUIRE_PGBOUNCER"


def program(name: str) -> str:
    """The path of one of PostgreSQL's (newest installed) or PgBouncer's programs."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    path = found[-1] if found else shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if path is None:
        if os.environ.get(REQUIRE):
            pytest.fail(f"{name} is not installed ({REQUIRE} is set)")
        pytest.skip(f"{name} is not installed")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    subprocess.run(_as_postgres(command), check=True, capture_output=True, timeout=120)


@contextmanager
def _folder() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="casekit-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _start(data: Path, port: int, *options: str) -> None:
    settings = " ".join(
        [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={data.parent}",
            "-c fsync=off",
            "-c shared_buffers=16MB",
            "-c max_connections=40",
            *options,
        ]
    )
    _run([program("pg_ctl"), "-D", str(data), "-w", "-l", f"{data}.log", "-o", settings, "start"])


def stop(data: Path) -> None:
    """Stop the server of the data folder ``data`` (at once: a test's server)."""
    subprocess.run(
        _as_postgres([program("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
        capture_output=True,
        timeout=60,
    )


@contextmanager
def streaming_pair() -> Iterator[tuple[str, str, Path]]:
    """A primary and its hot standby: their server URLs (user ``postgres``) and
    the standby's data folder (for :func:`stop`)."""
    with _folder() as base:
        primary, standby = base / "primary", base / "standby"
        primary_port, standby_port = free_port(), free_port()
        _run([program("initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-N"])
        _start(primary, primary_port)
        try:
            _run(
                [
                    program("pg_basebackup"),
                    *("-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"),
                    *("-D", str(standby), "-R", "-X", "stream", "-N"),
                ]
            )
            _start(standby, standby_port, "-c hot_standby=on")
            try:
                yield (
                    f"postgresql://postgres@127.0.0.1:{primary_port}/postgres",
                    f"postgresql://postgres@127.0.0.1:{standby_port}/postgres",
                    standby,
                )
            finally:
                stop(standby)
        finally:
            stop(primary)


@contextmanager
def pgbouncer(host: str, port: int, *, pool_size: int = 2) -> Iterator[int]:
    """A PgBouncer in transaction pooling mode in front of ``host:port``, every
    database and user ``postgres`` let in without a password; yields its port."""
    binary = program("pgbouncer")
    with _folder() as base:
        listen = free_port()
        (base / "users.txt").write_text('"postgres" ""\n')
        (base / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={host} port={port}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {listen}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {base / 'users.txt'}",
                    "pool_mode = transaction",
                    f"default_pool_size = {pool_size}",
                    "max_client_conn = 200",
                    "ignore_startup_parameters = extra_float_digits,options",
                    f"logfile = {base / 'pgbouncer.log'}",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            for path in base.iterdir():
                shutil.chown(path, "postgres", "postgres")
        # Run as postgres itself (not through runuser), so that the signal
        # that stops it reaches it.
        as_postgres = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
        process = subprocess.Popen(
            [binary, str(base / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **as_postgres,  # type: ignore[call-overload]
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log = base / "pgbouncer.log"
                        said = log.read_text() if log.exists() else ""
                        raise RuntimeError(f"pgbouncer did not start: {said}") from None
                    time.sleep(0.05)
            yield listen
        finally:
            process.terminate()
            process.wait(timeout=20)
