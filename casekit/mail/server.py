"""``casekit inbound serve``: an SMTP or LMTP receiver for an MTA to relay to.

Each message is handed to :meth:`~casekit.services.inbound.InboundService.receive`
on a worker thread, so a slow database never blocks the SMTP conversation of
other connections. The reply codes tell the relaying MTA what to do:

* ``250``: casekit has the message (whatever became of it: on a case, in
  triage, recorded as an auto-reply or a bounce, or a duplicate);
* ``552``: the message is larger than ``inbound_max_message_bytes`` (the MTA
  bounces it to its sender);
* ``451``: casekit could not take it now (the MTA queues it and tries again).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from casekit.services.inbound import InboundResult, Outcome

if TYPE_CHECKING:
    from casekit.kit import CaseKit

__all__ = ["InboundHandler", "InboundServer", "reply_code"]


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


class InboundHandler:
    """The aiosmtpd handler: every message goes to ``kit.inbound.receive``."""

    def __init__(self, kit: CaseKit, *, lmtp: bool = False) -> None:
        self.kit = kit
        self.lmtp = lmtp
        self.results: list[InboundResult] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        receive = functools.partial(
            self.kit.inbound.receive,
            content,
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
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)
