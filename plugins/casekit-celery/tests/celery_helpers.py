"""Helpers of casekit-celery's tests: brokers, mail servers, waiting (see conftest.py)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RABBITMQ_URL = os.environ.get("CASEKIT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def missing(what: str) -> None:
    """Skip the test for want of ``what``, or fail it under CASEKIT_REQUIRE_BROKERS."""
    if os.environ.get("CASEKIT_REQUIRE_BROKERS"):
        pytest.fail(f"{what} (CASEKIT_REQUIRE_BROKERS is set)")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(what: str, done: Callable[[], Any], timeout: float) -> None:
    """Poll ``done()`` every 50 ms; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class RedisServer:
    """A ``redis-server`` of the test's own on a loopback port, keeping nothing on disk."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        assert self.process is None, "the server runs already"
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until("the private redis-server", self._ping, 10)

    def stop(self) -> None:
        """Kill it: what it held (the queued tasks) is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def length(self, queue: str) -> int:
        import redis

        client = redis.Redis(port=self.port)
        try:
            return int(client.llen(queue))
        finally:
            client.close()


class TcpProxy:
    """A TCP forwarder on a loopback port to ``target``, whose connections the test
    can cut (:meth:`cut`): a network that drops what the client keeps open.
    ``latency`` seconds pass before each chunk is passed on (a slow network)."""

    def __init__(self, target: tuple[str, int], *, latency: float = 0.0) -> None:
        self.target = target
        self.latency = latency
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if self.latency:
                    time.sleep(self.latency)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Close every connection open through the proxy (new ones still go through)."""
        with self._lock:
            cut, self._open = self._open, []
        for s in cut:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()
