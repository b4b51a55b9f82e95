"""What casekit tells the host: blinker signals on casekit's own namespace.

Connect a receiver to learn that something happened::

    from casekit import signals

    @signals.case_opened.connect
    def on_opened(kit, *, case, actor, message, **extra):
        ...

A receiver takes the signal's keyword arguments by name and accepts more
(``**extra``): one that does not accept an argument casekit sends fails, and
the failure is only logged.

Signals are sent after the change has committed. The sender is always the
:class:`~casekit.CaseKit` instance; every signal passes ``case`` (a
:class:`~casekit.CaseView` as the unrestricted host sees it) and ``actor``
(the :class:`~casekit.Actor` who did it) as keyword arguments, plus those
listed for it. Return values are ignored, and a receiver that raises is
logged and never breaks the operation that sent the signal.

The operation signals (:data:`OPERATION_SIGNALS`) are about the engine's
work, not about one case: they pass no ``case`` and no ``actor``, only
what a counter or a histogram needs (:mod:`casekit.metrics` listens to
them). They carry no case data.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import NamedSignal, Namespace

log = logging.getLogger(__name__)

casekit_signals = Namespace()

case_opened: NamedSignal = casekit_signals.signal(
    "case-opened", doc="A case was opened. Extra: ``message`` (the first message entry or None)."
)
case_updated: NamedSignal = casekit_signals.signal(
    "case-updated",
    doc="Any change to a case. "
    "Extra: ``change`` (the :class:`~casekit.EventKind`, or ``'message'``).",
)
status_changed: NamedSignal = casekit_signals.signal(
    "status-changed",
    doc="A case's status changed. Extra: ``old`` and ``new`` (:class:`~casekit.Status`).",
)
case_solved: NamedSignal = casekit_signals.signal(
    "case-solved", doc="A case was solved. No extra arguments."
)
case_reopened: NamedSignal = casekit_signals.signal(
    "case-reopened", doc="A solved case became active again. Extra: ``new`` (its status)."
)
message_posted: NamedSignal = casekit_signals.signal(
    "message-posted",
    doc="A message was posted. Extra: ``message`` (an :class:`~casekit.EntryView`).",
)
owner_changed: NamedSignal = casekit_signals.signal(
    "owner-changed",
    doc="An owner slot changed. Extra: ``side`` (:class:`~casekit.Side`), ``old`` and ``new`` "
    "(user ids or None).",
)
watcher_changed: NamedSignal = casekit_signals.signal(
    "watcher-changed",
    doc="A watcher was added or removed. Extra: ``user_id`` and ``watching`` (bool).",
)
carrier_changed: NamedSignal = casekit_signals.signal(
    "carrier-changed",
    doc="The case's carrier was named, changed or removed, or whether it collaborates was "
    "switched. Extra: ``old`` and ``new`` (carrier organization ids or None), "
    "``was_collaborating`` and ``collaborating`` (bools).",
)
priority_changed: NamedSignal = casekit_signals.signal(
    "priority-changed",
    doc="A case's priority changed. Extra: ``old`` and ``new`` (:class:`~casekit.Priority`).",
)
tags_changed: NamedSignal = casekit_signals.signal(
    "tags-changed",
    doc="An organization's tags on a case changed. Extra: ``org_id`` (whose tags), "
    "``added`` and ``removed`` (tuples of tag ids).",
)
custom_fields_changed: NamedSignal = casekit_signals.signal(
    "custom-fields-changed",
    doc="An organization's custom field values on a case changed. Extra: ``org_id`` "
    "(whose fields), ``changes`` (a dict: each field's key to ``(field, old, new)``, "
    "a :class:`~casekit.CustomField` and its JSON values).",
)

action_recorded: NamedSignal = casekit_signals.signal(
    "action-recorded",
    doc="A delivery appointment or a disposition of a case was proposed, answered, "
    "withdrawn, kept or missed. Extra: ``action`` (an :class:`~casekit.ActionView` as "
    "the host reads it, the shipper's internal note included) and ``change`` (the "
    ":class:`~casekit.EventKind`).",
)
claim_recorded: NamedSignal = casekit_signals.signal(
    "claim-recorded",
    doc="A freight claim of a case was drafted, changed, filed, acknowledged, paid, "
    "declined, withdrawn or valued. Extra: ``claim`` (a :class:`~casekit.ClaimView` as "
    "the host reads it, the shipper's valuation included) and ``change`` (the "
    ":class:`~casekit.EventKind`).",
)
notification_queued: NamedSignal = casekit_signals.signal(
    "notification-queued",
    doc="A notification was written to the outbox, with the change that caused it. "
    "Extra: ``notification`` (a :class:`~casekit.services.outbox.DeliveryView`).",
)
notification_sent: NamedSignal = casekit_signals.signal(
    "notification-sent",
    doc="A notification was delivered. ``actor`` is the email system. "
    "Extra: ``notification`` (a :class:`~casekit.services.outbox.DeliveryView`).",
)
notification_failed: NamedSignal = casekit_signals.signal(
    "notification-failed",
    doc="A notification failed its last attempt and will not be retried. ``actor`` is the "
    "email system. Extra: ``notification`` (a :class:`~casekit.services.outbox.DeliveryView`) "
    "and ``error`` (the last error, a string).",
)

webhook_queued: NamedSignal = casekit_signals.signal(
    "webhook-queued",
    doc="A webhook request was written to the outbox, with the change that caused it. "
    "Extra: ``delivery`` (a :class:`~casekit.services.webhooks.WebhookDeliveryView`).",
)

delivery_attempted: NamedSignal = casekit_signals.signal(
    "delivery-attempted",
    doc="An attempt to deliver a notification or a webhook request ended. An operation "
    "signal: no ``case`` or ``actor``. Extra: ``channel`` (``'mail'`` or ``'webhook'``), "
    "``outcome`` (``'sent'``, ``'retried'``: it will be tried again, or ``'failed'``: it "
    "will not) and ``status_code`` (the webhook endpoint's HTTP status, or None when there "
    "was no answer; always None for mail).",
)
mail_received: NamedSignal = casekit_signals.signal(
    "mail-received",
    doc="An inbound message was taken. An operation signal: no ``case`` or ``actor``. "
    "Extra: ``outcome`` (an :class:`~casekit.services.inbound.Outcome`: ``appended``, "
    "``created``, ``duplicate``, ``auto_reply``, ``bounce``, ``triaged`` or ``rejected``).",
)
rules_swept: NamedSignal = casekit_signals.signal(
    "rules-swept",
    doc="A sweep of the time rules ended. An operation signal: no ``case`` or ``actor``. "
    "Extra: ``seconds`` (how long it took) and ``opened`` (the number of cases it opened).",
)

#: The signals about changes to cases.
CASE_SIGNALS: tuple[NamedSignal, ...] = (
    case_opened,
    case_updated,
    status_changed,
    case_solved,
    case_reopened,
    message_posted,
    owner_changed,
    watcher_changed,
    carrier_changed,
    priority_changed,
    tags_changed,
    custom_fields_changed,
    action_recorded,
    claim_recorded,
)
#: The signals about the outbox: a notification queued with a change, then sent or
#: failed; a webhook request queued with a change.
NOTIFICATION_SIGNALS: tuple[NamedSignal, ...] = (
    notification_queued,
    notification_sent,
    notification_failed,
    webhook_queued,
)
#: The signals about the engine's work (deliveries, inbound mail, rule sweeps): no case.
OPERATION_SIGNALS: tuple[NamedSignal, ...] = (
    delivery_attempted,
    mail_received,
    rules_swept,
)
ALL_SIGNALS: tuple[NamedSignal, ...] = CASE_SIGNALS + NOTIFICATION_SIGNALS + OPERATION_SIGNALS


def send(signal: NamedSignal, sender: object, **kwargs: Any) -> None:
    """Send ``signal`` to each receiver; a failing receiver is logged, not raised."""
    if not signal.receivers:
        return
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception:
            log.exception("casekit: a receiver of the %r signal failed", signal.name)
