"""``python -m benchmarks inbound``: inbound mail end to end.

Two measures:

- **throughput**: ordinary replies of about 10 KB (a customer's answer with
  the quoted history of the thread under it), spread as real traffic is over
  many cases, each from its own customer, so that none is held by the burst
  damper (``inbound_burst_limit``), taken by
  ``kit.inbound.receive`` — spooled, parsed, matched, stored as raw mail and
  as a message on their case — in messages per second, with per-message
  latencies. The floor is the standard library's parser alone on the same
  messages: what reading them costs before casekit does anything.
- **memory**: the peak resident memory a fresh process gains while it takes
  one message with a 25 MB attachment, beside the attachment's size.
- **imap**: the same replies appended to a local Dovecot (started on
  loopback for the run) and taken by ``casekit inbound poll``'s poller
  with its default worker processes (one per CPU) — fetched in batches,
  stored, matched and filed on their cases by the workers, then moved to
  another folder — in messages per second, the workers' start included.
  Needs Debian's ``dovecot-imapd``; without it the figure is left out,
  with a note.
- **CPU per message**: the processor time (user and system) casekit's
  processes spent per message, for both paths (the IMAP path counts the
  poller and its workers; neither counts the database server's or
  Dovecot's). On a busy machine the rates drop, this much less.
- **serve memory**: the same through ``casekit inbound serve``'s SMTP server
  in a fresh process, for a 25 MB message (an 18.3 MB photo, base64) and
  for the 34 MB message of the 25 MB photo, sent over loopback by a client
  that streams it from a file.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import resource
import smtplib
import socket
import tempfile
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.common import (
    CASEY,
    Context,
    People,
    Result,
    bench_kit,
    percentile_ms,
    scenario,
    throwaway_database,
)
from casekit.domain.actor import Actor
from casekit.services.inbound import Outcome

if TYPE_CHECKING:
    from casekit import CaseKit

NAME = "inbound"
ATTACHMENT_BYTES = 25 * 1024 * 1024
#: The messages ``casekit inbound serve`` takes: (result name, attachment bytes).
#: Base64 makes a message a third larger than its attachment.
SERVED = [
    # 57 bytes make a base64 line of 76 characters and CRLF.
    ("serve_25mb_message", 25 * 1024 * 1024 * 57 // 78),
    ("serve_34mb_message", ATTACHMENT_BYTES),
]
QUOTED = (
    "> Thank you for your message. We asked the carrier for the delivery scan and\n"
    "> will come back to you as soon as we hear from them. Kind regards, Acme.\n"
)


def reply(number: str, n: int, sender: str = CASEY[1]) -> bytes:
    """A customer's reply of about 10 KB: two lines of news over the quoted thread."""
    history = QUOTED * 70
    return (
        f"From: Casey <{sender}>\r\nTo: support@acme.test\r\n"
        f"Subject: Re: [{number}] Where is my parcel?\r\n"
        f"Message-ID: <bench-{n}-{os.getpid()}@example.test>\r\n"
        f"Date: Mon, 5 Jan 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Still nothing at my door (message {n}).\r\nCan you check again?\r\n\r\n"
        f"On Mon, Jan 5, 2026 at 9:00 AM Acme Support <support@acme.test> wrote:\r\n"
        f"{history}"
    ).encode()


def write_large_message(
    path: Path, number: str, attachment_bytes: int = ATTACHMENT_BYTES, *, crlf: bool = False
) -> None:
    """A reply with an ``attachment_bytes`` photo, written in chunks.

    ``crlf``: every line ends in CRLF, as SMTP sends it (no line of it starts
    with a dot, so it needs no dot-stuffing).
    """
    with path.open("wb") as out:
        out.write(
            (
                f"From: casey@example.test\r\nTo: support@acme.test\r\n"
                f"Subject: Re: [{number}] photo\r\n"
                f"Message-ID: <bench-large-{attachment_bytes}-{crlf}@example.test>\r\n"
                'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
                "--b\r\nContent-Type: text/plain\r\n\r\nThe damage, photographed.\r\n"
                "--b\r\nContent-Type: image/jpeg\r\n"
                'Content-Disposition: attachment; filename="d.jpg"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
        )
        left = attachment_bytes
        while left:
            chunk = os.urandom(min(left, 57 * 1024))
            left -= len(chunk)
            encoded = base64.encodebytes(chunk)
            out.write(encoded.replace(b"\n", b"\r\n") if crlf else encoded)
        out.write(b"--b--\r\n")


def open_cases(kit: CaseKit, people: People, replies: int) -> list[tuple[str, str]]:
    """Cases enough for ``replies`` replies none of which is a burst: (number, sender) each.

    Each case has its own customer, who sends its replies; the first case's
    customer is :data:`~benchmarks.common.CASEY`.
    """
    limit = kit.settings.inbound_burst_limit or replies
    opened = []
    for n in range(max(1, -(-replies // limit))):
        customer, sender = people.customer_id, CASEY[1]
        if n:
            sender = f"casey.{n}.{os.getpid()}@example.test"
            added = kit.directory.add_customer(
                Actor.host(), shipper_org_id=people.shipper_id, name=f"Casey {n}", email=sender
            )
            assert added.id is not None
            customer = added.id
        case = kit.cases.open(
            people.shipper_actor,
            type="where_is_my_order",
            customer=customer,
            message="We are on it.",
        )
        opened.append((case.number, sender))
    return opened


def replies(cases: list[tuple[str, str]], count: int, first: int = 0) -> list[bytes]:
    """``count`` replies, one case after the other."""
    chosen = [cases[n % len(cases)] for n in range(count)]
    return [reply(number, first + n, sender) for n, (number, sender) in enumerate(chosen)]


def cpu_seconds(*, children: bool = False) -> float:
    """The processor time (user and system) of this process, and of its ended children."""
    who = [resource.RUSAGE_SELF] + ([resource.RUSAGE_CHILDREN] if children else [])
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, who))


def measure_imap(
    database_url: str, folder: Path, cases: list[tuple[str, str]], count: int
) -> tuple[float, float, int] | None:
    """(replies per second taken from a local Dovecot into their cases, CPU ms per reply
    of the poller and its workers, workers); None without Dovecot."""
    from casekit.mail.imap import ImapPoller, Mailbox
    from casekit.mail.imap_workers import default_workers
    from casekit.testing_imap import DOVECOT, PASSWORD, Dovecot

    if not Path(DOVECOT).exists():
        return None
    messages = replies(cases, count, 1_000_000)
    with Dovecot() as server:
        server.append(*messages)
        kit = bench_kit(database_url, folder / "attachments-imap")
        try:
            box = Mailbox(
                host="127.0.0.1",
                port=server.port,
                security="none",
                username=server.users[0],
                password=PASSWORD,
                move_to="Archive",
                batch_size=200,
            )
            workers = default_workers()
            poller = ImapPoller(kit, box, workers=workers)
            cpu = cpu_seconds(children=True)
            started = time.perf_counter()
            poller.run(once=True)  # the workers end with the pass
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(children=True) - cpu
        finally:
            kit.close()
        if poller.taken != count or len(server.uids(None, "Archive")) != count:
            raise RuntimeError(f"IMAP: {poller.taken} of {count} messages taken")
    return count / elapsed, cpu / count * 1000, workers


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _memory_child(database_url: str, folder: str, message: str, number: str, queue: object) -> None:
    kit = bench_kit(database_url, Path(folder) / "attachments-memory")
    try:
        # Warm the parser, the libraries and the connection on a small message first.
        kit.inbound.receive(reply(number, -1))
        before = _peak_kb()
        with open(message, "rb") as source:
            result = kit.inbound.receive(source)
        after = _peak_kb()
        queue.put((result.outcome.value, before, after))  # type: ignore[attr-defined]
    finally:
        kit.close()


def measure_memory(database_url: str, folder: Path, number: str) -> tuple[float, float]:
    """(peak RSS of the process before, growth while taking the message), in MB."""
    message = folder / "large.eml"
    write_large_message(message, number)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(
        target=_memory_child, args=(database_url, str(folder), str(message), number, queue)
    )
    child.start()
    outcome, before, after = queue.get(timeout=600)
    child.join(timeout=60)
    message.unlink()
    if outcome != Outcome.APPENDED.value:
        raise RuntimeError(f"the large message was not appended: {outcome}")
    return before / 1024, (after - before) / 1024


def _status_kb(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _serve_child(database_url: str, folder: str, port: int, commands: object) -> None:
    """Run the SMTP server; ``mark`` resets the peak RSS, ``peak`` tells its growth in KB.

    Linux resets a process's peak resident set (``VmHWM``) to its current one
    when ``5`` is written to ``/proc/self/clear_refs``, so the growth is
    the message's alone, not hidden under the peak of start-up.
    """
    from casekit.mail.server import InboundServer

    kit = bench_kit(database_url, Path(folder) / "attachments-serve")
    server = InboundServer(kit, port=port)
    server.start()
    base = 0
    try:
        while (command := commands.recv()) != "stop":  # type: ignore[attr-defined]
            if command == "mark":
                Path("/proc/self/clear_refs").write_text("5")
                base = _status_kb("VmRSS")
                commands.send(base)  # type: ignore[attr-defined]
            else:
                commands.send(_status_kb("VmHWM") - base)  # type: ignore[attr-defined]
    finally:
        server.stop()
        kit.close()
    commands.send([r.outcome.value for r in server.handler.results])  # type: ignore[attr-defined]


def _send_file(port: int, path: Path) -> int:
    """Send ``path`` as one message's DATA, streamed in chunks; the server's reply code."""
    with smtplib.SMTP("127.0.0.1", port, timeout=600) as client:
        client.ehlo()
        client.mail("casey@example.test")
        client.rcpt("support@acme.test")
        client.docmd("DATA")
        with path.open("rb") as source:
            while chunk := source.read(256 * 1024):
                client.send(chunk)
        client.send(b".\r\n")
        return client.getreply()[0]


def measure_serve_memory(
    database_url: str, folder: Path, number: str, attachment_bytes: int
) -> tuple[float, float]:
    """(message size, peak RSS growth of the server process while taking it), in MB.

    Linux only (``/proc``), like the server's deployment.
    """
    warm = folder / "warm.eml"
    warm.write_bytes(reply(number, -2).replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
    message = folder / "serve.eml"
    write_large_message(message, number, attachment_bytes, crlf=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_child, args=(database_url, str(folder), port, theirs))
    child.start()
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # Warm the parser, the libraries and the connection on a small message first.
        if _send_file(port, warm) != 250:
            raise RuntimeError("the server refused a small reply")
        ours.send("mark")
        ours.recv()
        code = _send_file(port, message)
        ours.send("peak")
        grown_kb = ours.recv()
        ours.send("stop")
        outcomes = ours.recv()
    finally:
        child.join(timeout=60)
    size = message.stat().st_size
    message.unlink()
    if code != 250 or outcomes[-1] != Outcome.APPENDED.value:
        raise RuntimeError(f"the large message was not appended: {code} {outcomes}")
    return size / 2**20, grown_kb / 1024


@scenario(NAME, help="inbound replies per second end to end, and memory for a 25 MB attachment")
def run(ctx: Context) -> list[Result]:
    if ctx.cases < 1 or ctx.warmup < 0:
        raise ValueError("cases must be at least 1, warmup at least 0")
    if ctx.workers != 1:
        raise ValueError("the inbound scenario runs one worker")
    with (
        throwaway_database(ctx.database_url) as url,
        tempfile.TemporaryDirectory(prefix="casekit-bench-inbound-") as tmp,
    ):
        folder = Path(tmp)
        kit = bench_kit(url, folder / "attachments")
        try:
            people = People.build(kit)
            total = ctx.warmup + ctx.cases
            cases = open_cases(kit, people, total)
            # The IMAP run's replies go to cases of their own.
            imap_cases = open_cases(kit, people, ctx.cases)
            # The memory measures send Casey's two messages each (a small one
            # first) on a case of their own.
            quiet = [open_cases(kit, people, 2)[0][0] for _ in range(1 + len(SERVED))]
            messages = replies(cases, total)
            for raw in messages[: ctx.warmup]:
                kit.inbound.receive(raw)
            ctx.log(f"{NAME}: {ctx.cases} replies of {len(messages[-1])} bytes")
            latencies: list[float] = []
            cpu = cpu_seconds()
            started = time.perf_counter()
            for raw in messages[ctx.warmup :]:
                t0 = time.perf_counter()
                result = kit.inbound.receive(raw)
                latencies.append(time.perf_counter() - t0)
                if result.outcome is not Outcome.APPENDED or result.reason is not None:
                    raise RuntimeError(f"a reply was not appended as any other: {result}")
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds() - cpu
            parser = BytesParser(policy=policy.default)
            floor_started = time.perf_counter()
            for raw in messages[ctx.warmup :]:
                parser.parsebytes(raw).get_body(("plain",)).get_content()  # type: ignore[union-attr]
            floor_elapsed = time.perf_counter() - floor_started
        finally:
            kit.close()
        ctx.log(f"{NAME}: {ctx.cases} replies taken from a local IMAP server")
        imap = measure_imap(url, folder, imap_cases, ctx.cases)
        if imap is None:
            ctx.log(
                f"{NAME}: no dovecot; the IMAP figure is left out (apt-get install dovecot-imapd)"
            )
        else:
            ctx.log(f"{NAME}: the IMAP replies were taken by {imap[2]} worker processes")
        ctx.log(f"{NAME}: one message with a {ATTACHMENT_BYTES // 2**20} MB attachment")
        baseline_mb, grown_mb = measure_memory(url, folder, quiet[0])
        served = []
        for (name, attachment_bytes), number in zip(SERVED, quiet[1:], strict=True):
            message_mb, serve_mb = measure_serve_memory(url, folder, number, attachment_bytes)
            ctx.log(
                f"inbound serve peak memory for a {message_mb:.0f} MB message: "
                f"{serve_mb:.1f} MB ({serve_mb / message_mb:.1f} times the message)"
            )
            served += [
                Result(f"{NAME}.{name}", "message_mb", round(message_mb, 1)),
                Result(f"{NAME}.{name}", "peak_rss_growth_mb", round(serve_mb, 1)),
                Result(
                    f"{NAME}.{name}", "peak_rss_growth_per_message", round(serve_mb / message_mb, 3)
                ),
            ]
    attachment_mb = ATTACHMENT_BYTES / 2**20
    return [
        Result(
            f"{NAME}.reply_10kb",
            "per_s",
            round(ctx.cases / elapsed, 1),
            round(ctx.cases / floor_elapsed, 1),
        ),
        Result(f"{NAME}.reply_10kb", "p50_ms", round(percentile_ms(latencies, 0.50), 3)),
        Result(f"{NAME}.reply_10kb", "p95_ms", round(percentile_ms(latencies, 0.95), 3)),
        Result(f"{NAME}.reply_10kb", "cpu_ms_per_message", round(cpu / ctx.cases * 1000, 3)),
        *(
            [
                Result(f"{NAME}.imap_reply_10kb", "per_s", round(imap[0], 1)),
                Result(f"{NAME}.imap_reply_10kb", "cpu_ms_per_message", round(imap[1], 3)),
                Result(f"{NAME}.imap_reply_10kb", "workers", imap[2]),
            ]
            if imap
            else []
        ),
        Result(f"{NAME}.attachment_25mb", "attachment_mb", round(attachment_mb, 1)),
        Result(f"{NAME}.attachment_25mb", "baseline_rss_mb", round(baseline_mb, 1)),
        Result(f"{NAME}.attachment_25mb", "peak_rss_growth_mb", round(grown_mb, 1)),
        Result(
            f"{NAME}.attachment_25mb",
            "peak_rss_growth_per_attachment",
            round(grown_mb / attachment_mb, 3),
        ),
        *served,
    ]
