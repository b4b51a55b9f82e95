"""``casekit inbound serve``: an SMTP or LMTP receiver for an MTA to relay to.

Each message is handed to :meth:`~casekit.services.inbound.InboundService.receive`
on a worker thread, so a slow database never blocks the SMTP conversation of
other connections. The reply codes tell the relaying MTA what to do:

* ``250``: casekit has the message (whatever became of it: on a case, in
  triage, recorded as an auto-reply or a bounce, or a duplicate);
* ``552``: the message is larger than ``inbound_max_message_bytes`` (the MTA
  bounces it to its sender);
* ``451``: casekit could not take it now (the MTA queues it and tries again).

The message is written to a temporary file as its lines arrive
(:class:`SpoolingSMTP`), and ``receive`` reads it from there: a large
message is never held whole in memory.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
from typing import IO, TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, Envelope, syntax

from casekit.services.inbound import InboundResult, Outcome

if TYPE_CHECKING:
    from casekit.kit import CaseKit

__all__ = [
    "InboundHandler",
    "InboundServer",
    "SpooledEnvelope",
    "SpoolingLMTP",
    "SpoolingSMTP",
    "reply_code",
]

log = logging.getLogger(__name__)

#: A message up to this size stays in memory; a larger one goes to a temporary file.
IN_MEMORY = 1024 * 1024
#: Lines are gathered into writes of about this size.
WRITE_BYTES = 64 * 1024


def reply_code(result: InboundResult) -> str:
    """The SMTP reply for what :meth:`receive` did."""
    if result.outcome is Outcome.REJECTED:
        reason = result.reason or "rejected"
        if "larger than" in reason:
            return f"552 5.3.4 {reason}"
        if reason.startswith("could not be processed"):
            return "451 4.3.0 casekit could not take the message now; try again later"
        return f"250 2.0.0 rejected: {reason}"[:500]
    return f"250 2.0.0 {result.outcome.value}"


class SpooledEnvelope(Envelope):
    """An envelope whose message is in ``spool``, an open binary file, not in ``content``."""

    def __init__(self) -> None:
        super().__init__()
        #: The message, dot-unstuffed, positioned at its start; whoever takes it closes it.
        self.spool: IO[bytes] | None = None


class SpoolingSMTP(SMTP):
    """aiosmtpd's SMTP, except that DATA goes to a file as it arrives.

    aiosmtpd's own DATA keeps every line in a list, then joins them into
    ``envelope.content``: a 25 MB message costs several times 25 MB. Here
    each line is dot-unstuffed and written to a temporary file (in memory up
    to :data:`IN_MEMORY`), which the handler finds in ``envelope.spool``.
    The answers are aiosmtpd's: ``552`` over ``data_size_limit``, ``500`` for
    a line over the line length limit, else the handler's ``handle_DATA``
    reply. The handler must implement ``handle_DATA``; ``envelope.content``
    stays ``None``.
    """

    def _create_envelope(self) -> SpooledEnvelope:
        return SpooledEnvelope()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        envelope = self.envelope
        assert isinstance(envelope, SpooledEnvelope)
        if not envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        # Closed below, or by the handler that takes it from the envelope.
        spool: IO[bytes] | None = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        try:
            assert spool is not None
            problem = await self._receive_data(spool)
            if self.transport is None:
                return  # the connection closed during DATA: nothing to answer
            if problem is not None:
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                await self.push(problem)
                return
            spool.seek(0)
            envelope.spool, spool = spool, None
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is MISSING else status)
        finally:
            for leftover in (spool, envelope.spool):
                if leftover is not None:
                    leftover.close()

    async def _receive_data(self, spool: IO[bytes]) -> str | None:
        """Write the DATA lines to ``spool`` up to the lone dot; the error reply, if any."""
        problem: str | None = None
        limit = self.data_size_limit
        size = 0
        fragments: list[bytes] = []
        pending = bytearray()
        while self.transport is not None:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                log.info("connection lost during DATA")
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as error:
                # Drain the overlong line; answer once the data has ended (RFC 5321 4.2.5).
                problem = problem or "500 Line too long (see RFC5321 4.5.3.1.6)"
                line = await self._reader.read(error.consumed)
            if not fragments and line == b".\r\n":
                break
            size += len(line)
            if problem is None and limit and size > limit:
                problem = "552 Error: Too much mail data"
            fragments.append(line)
            if not line.endswith(b"\r\n"):
                continue
            if problem is None:
                whole = b"".join(fragments)
                if len(whole) > self.line_length_limit:
                    problem = "500 Line too long (see RFC5321 4.5.3.1.6)"
                else:
                    # Dot-unstuffing (RFC 5321 4.5.2).
                    pending += whole[1:] if whole.startswith(b".") else whole
                    if len(pending) >= WRITE_BYTES:
                        spool.write(pending)
                        pending.clear()
            fragments.clear()
        if problem is None:
            spool.write(pending)
        return problem


class SpoolingLMTP(SpoolingSMTP, LMTP):
    """:class:`SpoolingSMTP`'s DATA with aiosmtpd's LMTP greeting."""


class InboundHandler:
    """The aiosmtpd handler: every message goes to ``kit.inbound.receive``."""

    def __init__(self, kit: CaseKit, *, lmtp: bool = False) -> None:
        self.kit = kit
        self.lmtp = lmtp
        self.results: list[InboundResult] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message: IO[bytes] | bytes | None = getattr(envelope, "spool", None)
        if message is None:
            # A plain aiosmtpd server: the message is in memory.
            content = envelope.original_content or envelope.content
            message = (
                content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
            )
        else:
            # The worker thread owns the file now, and closes it when done with it.
            envelope.spool = None
        receive = functools.partial(
            _receive_and_close,
            self.kit,
            message,
            envelope_from=envelope.mail_from,
            envelope_to=list(envelope.rcpt_tos),
        )
        result = await asyncio.get_running_loop().run_in_executor(None, receive)
        self.results.append(result)
        code = reply_code(result)
        if self.lmtp:
            # LMTP answers once per recipient (RFC 2033).
            return "\r\n".join([code] * max(1, len(envelope.rcpt_tos)))
        return code


def _receive_and_close(
    kit: CaseKit, message: Any, *, envelope_from: str | None, envelope_to: list[str]
) -> InboundResult:
    """``receive`` on a worker thread, which then closes the spooled message."""
    try:
        result: InboundResult = kit.inbound.receive(
            message, envelope_from=envelope_from, envelope_to=envelope_to
        )
        return result
    finally:
        if hasattr(message, "close"):
            message.close()


class InboundServer(Controller):
    """An SMTP (or, with ``lmtp=True``, LMTP) server on a thread of its own.

    ::

        server = InboundServer(kit, hostname="127.0.0.1", port=2525)
        server.start()
        ...
        server.stop()
    """

    def __init__(
        self, kit: CaseKit, *, hostname: str = "127.0.0.1", port: int = 2525, lmtp: bool = False
    ) -> None:
        self.lmtp = lmtp
        super().__init__(
            InboundHandler(kit, lmtp=lmtp),
            hostname=hostname,
            port=port,
            data_size_limit=kit.settings.inbound_max_message_bytes,
            decode_data=False,
        )

    def factory(self) -> SMTP:
        server_class = SpoolingLMTP if self.lmtp else SpoolingSMTP
        return server_class(self.handler, **self.SMTP_kwargs)
