"""Scenario ``webhooks``: what webhooks cost the change that queues them, and
how fast the worker delivers them to an HTTP endpoint on loopback.

Set-up (not measured): a shipper and a carrier, each subscribed to every
event at a ``http.server`` endpoint on loopback, and ``--cases`` pairs of
cases between them opened by the shipper's agent (what opening queued is
delivered first).

Measured:

1. ``webhooks.post``: posting one partners message on the first case of each
   pair (four requests queued: ``message_posted`` and ``status_changed`` for
   each party, each read through the scoped layer as that party), beside the
   same post on its twin with ``queue_webhooks`` switched off (the floor).
2. ``webhooks.queue``: the time in ``queue_webhooks`` per change.
3. ``webhooks.deliver``: the worker draining every queued request — claimed,
   signed, POSTed with httpx, recorded (``per_s``) — beside a floor that POSTs
   the same number of ready-made bodies, signed both ways, over one httpx client.
"""

from __future__ import annotations

import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

import casekit.services.webhooks as webhook_service
from benchmarks.common import Context, Result, percentile_ms, scenario, throwaway_database
from casekit.domain.actor import Actor
from casekit.domain.directory import OrgRole, UserRole
from casekit.kit import CaseKit
from casekit.settings import Settings
from casekit.webhooks import WebhookEvent, new_secret, signature_header, standard_headers

NAME = "webhooks"
MESSAGE = "It left our hub this morning; delivery is planned for tomorrow 8-12."


class _Sink:
    """Counts the POSTs it receives; answers 204."""

    def __init__(self) -> None:
        self.count = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@scenario(NAME, help="webhook cost per change, and delivery throughput over HTTP")
def run(ctx: Context) -> list[Result]:
    if ctx.workers != 1:
        raise ValueError("the webhooks scenario runs one worker")
    sink = _Sink()
    try:
        with (
            throwaway_database(ctx.database_url, keep_sqlite=False) as url,
            tempfile.TemporaryDirectory(prefix="casekit-webhooks-") as tmp,
        ):
            kit = CaseKit(
                settings=Settings(
                    database_url=url,
                    attachment_dir=Path(tmp) / "attachments",
                    load_entry_points=False,
                    webhook_allow_http_loopback=True,
                    webhook_allow_private_addresses=True,
                    worker_batch_size=100,
                )
            )
            kit.create_schema()
            try:
                return _measure(ctx, kit, sink)
            finally:
                kit.close()
    finally:
        sink.stop()


def _measure(ctx: Context, kit: CaseKit, sink: _Sink) -> list[Result]:
    host = Actor.host()
    d = kit.directory
    shipper = d.add_organization(host, name="Acme Goods", role=OrgRole.SHIPPER)
    carrier = d.add_organization(host, name="Fast Freight", role=OrgRole.CARRIER)
    assert shipper.id is not None
    assert carrier.id is not None
    sam = Actor.of_user(d.add_user(host, org_id=shipper.id, name="Sam", email="sam@acme.test"))
    d.add_user(host, org_id=carrier.id, name="Max", email="max@fast.test", role=UserRole.MANAGER)
    every = [e.value for e in WebhookEvent]
    for org in (shipper.id, carrier.id):
        kit.webhooks.subscribe(host, org_id=org, url=sink.url, events=every)
    total = ctx.cases + ctx.warmup
    ctx.log(f"webhooks: opening {total} pairs of cases")
    hooked: list[str] = []
    quiet: list[str] = []
    for i in range(2 * total):
        case = kit.cases.open(sam, type="lost", carrier=carrier.id, message=f"Case {i}")
        (hooked if i % 2 == 0 else quiet).append(case.number)
    kit.notifications.deliver()
    sink.count = 0

    original = webhook_service.queue_webhooks
    queue_times: list[tuple[float, int]] = []
    queued = 0

    def timed(edit: Any, **kwargs: Any) -> int:
        nonlocal queued
        start = time.perf_counter()
        count = original(edit, **kwargs)
        queue_times.append((time.perf_counter() - start, count))
        queued += count
        return count

    def nothing(edit: Any, **kwargs: Any) -> int:
        return 0

    posts: list[float] = []
    quiet_posts: list[float] = []
    try:
        for i in range(total):
            if i == ctx.warmup:
                queue_times.clear()
            webhook_service.queue_webhooks = timed
            start = time.perf_counter()
            kit.messages.post(sam, hooked[i], MESSAGE, audience="partners")
            elapsed = time.perf_counter() - start
            webhook_service.queue_webhooks = nothing
            start = time.perf_counter()
            kit.messages.post(sam, quiet[i], MESSAGE, audience="partners")
            quiet_elapsed = time.perf_counter() - start
            if i >= ctx.warmup:
                posts.append(elapsed)
                quiet_posts.append(quiet_elapsed)
    finally:
        webhook_service.queue_webhooks = original
    measured = sum(n for _, n in queue_times)
    ctx.log(f"webhooks: {measured} requests queued by {len(queue_times)} measured changes")

    start = time.perf_counter()
    kit.notifications.deliver()
    drain = time.perf_counter() - start
    delivered = sink.count
    if delivered != queued:
        raise RuntimeError(f"only {delivered} of {queued} webhook requests reached the endpoint")
    floor_rate = _floor(sink, delivered)
    return [
        Result(
            "webhooks.post", "p50_ms", percentile_ms(posts, 0.5), percentile_ms(quiet_posts, 0.5)
        ),
        Result(
            "webhooks.post",
            "p95_ms",
            percentile_ms(posts, 0.95),
            percentile_ms(quiet_posts, 0.95),
        ),
        Result("webhooks.queue", "p50_ms", percentile_ms([t for t, _ in queue_times], 0.5)),
        Result("webhooks.queue", "p95_ms", percentile_ms([t for t, _ in queue_times], 0.95)),
        Result("webhooks.queue", "requests_per_change", measured / max(1, len(queue_times))),
        Result("webhooks.deliver", "per_s", delivered / drain if drain else 0.0, floor_rate),
    ]


def _floor(sink: _Sink, count: int) -> float:
    """Requests per second one httpx client POSTs, signed both ways, to the same endpoint."""
    body = b'{"event":"message_posted","case":{"number":"CV000001"}}'
    secret = new_secret()
    start = time.perf_counter()
    with httpx.Client() as client:
        for i in range(count):
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "X-Casekit-Signature": signature_header(secret, body, stamp),
                **standard_headers(secret, str(i), body, stamp),
            }
            client.post(sink.url, content=body, headers=headers)
    elapsed = time.perf_counter() - start
    return count / elapsed if elapsed else 0.0
