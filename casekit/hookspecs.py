"""The plugin contract: every hook casekit calls, typed and documented.

A plugin implements any of these with :data:`casekit.hookimpl` and takes only
the arguments it needs, so a hook can gain arguments without breaking it.
casekit *asks* through hooks (their results matter); it *tells* through
:mod:`casekit.signals`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

import pluggy

if TYPE_CHECKING:
    import datetime
    from collections.abc import Mapping, Sequence

    import click

    from casekit.attachments import StoredFile
    from casekit.domain.case import Case, CaseType
    from casekit.domain.directory import Customer, Organization
    from casekit.domain.network import NetworkFigure
    from casekit.domain.shipment import OrderFacts, ShipmentFacts
    from casekit.kit import CaseKit
    from casekit.mail.compose import OutgoingNotification
    from casekit.query.actions import ActionView
    from casekit.query.claims import ClaimView

hookspec = pluggy.HookspecMarker("casekit")

# -- the kit's life ------------------------------------------------------------


@hookspec
def casekit_kit_ready(kit: CaseKit) -> None:
    """A :class:`~casekit.CaseKit` has been composed, with every plugin registered.

    Called once per kit, before any service runs. The place to connect a
    plugin's signal receivers to this kit only::

        @hookimpl
        def casekit_kit_ready(self, kit):
            signals.case_solved.connect(self.on_solved, sender=kit, weak=False)

    :param kit: the new kit.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


# -- the case catalogue ------------------------------------------------------


@hookspec
def casekit_add_case_types(kit: CaseKit) -> list[CaseType]:
    """Add case types to the catalogue.

    Every implementation's types are added; the built-in plugin supplies the
    standard list (General Status Update, Where Is My Order, ...). A code
    that is already in the catalogue keeps its first label.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :return: the case types this plugin adds.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


# -- orders and shipments ------------------------------------------------------


@hookspec(firstresult=True)
def casekit_lookup_shipment(
    kit: CaseKit, organization: Organization, reference: str
) -> ShipmentFacts | None:
    """Look up a shipment by its reference, for a case being linked to it.

    Stops at the first non-None result. casekit keeps a snapshot of the facts
    and refreshes it whenever a lookup returns newer ones.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param organization: the party organization linking the case; a plugin
        answers only for shipments that organization may see.
    :param reference: the shipment's reference as the host knows it (a
        tracking number, a BOL number, the host's shipment id).
    :return: the facts, or ``None`` when this plugin does not know it.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def casekit_lookup_order(
    kit: CaseKit, organization: Organization, number: str
) -> OrderFacts | None:
    """Look up an order by its number, for a case being linked to it.

    Stops at the first non-None result.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param organization: the shipper organization the order belongs to.
    :param number: the order number.
    :return: the facts, or ``None`` when this plugin does not know it.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def casekit_customer_orders(
    kit: CaseKit, organization: Organization, customer: Customer
) -> list[OrderFacts] | None:
    """The orders of one customer of a shipper, for the customer to pick in the portal.

    Stops at the first non-None result. The built-in implementation, asked
    last, answers from the orders casekit stores (sent to ``POST
    /api/v1/orders`` or imported), by the customer's email. casekit keeps
    only the orders whose ``customer_email`` is the customer's and whose
    ``shipper`` is ``organization`` (or unnamed), newest first by
    ``placed_at``, at most 50. The order the customer picks is then looked
    up with :func:`casekit_lookup_order` and checked again, as any order a
    customer names.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param organization: the shipper the customer buys from.
    :param customer: the signed-in customer: ``email``, ``name`` and the
        host's ``external_id``.
    :return: the customer's orders, or ``None`` to let another plugin answer.

    .. versionadded:: 0.2
    """
    raise NotImplementedError


# -- CRM -----------------------------------------------------------------------


@hookspec(firstresult=True)
def casekit_link_crm(kit: CaseKit, case: Case, organization: Organization) -> str | None:
    """Link a case to an organization's external CRM; return the CRM's case number.

    Called when a user asks to link the case. Stops at the first non-None
    result; casekit records the number for ``organization`` only.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param case: the case being linked.
    :param organization: the party organization whose CRM is asked.
    :return: the CRM's case number, or ``None`` when this plugin has no CRM
        for ``organization``.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@hookspec
def casekit_webhook_answered(
    kit: CaseKit,
    webhook_id: int,
    org_id: int,
    description: str,
    event: str,
    payload: dict[str, Any],
    status_code: int,
    body: bytes,
) -> str | None:
    """A webhook endpoint answered a delivery with a 2xx; read what it said.

    Called by ``casekit worker`` outside any transaction, after each
    successful webhook request and before the attempt is recorded. A CRM
    linker reads the ticket number a CRM answers to ``case_opened`` and
    records it for ``org_id`` (``kit.cases.set_crm_number``), so creating the
    ticket rides the retrying outbox and its delivery log.

    :param kit: the :class:`~casekit.CaseKit` delivering.
    :param webhook_id: the subscription delivered to.
    :param org_id: the subscribed organization (the payload is its view).
    :param description: the subscription's description (a plugin marks its own).
    :param event: the webhook event, e.g. ``"case_opened"``.
    :param payload: the JSON payload that was sent.
    :param status_code: the endpoint's HTTP status (2xx).
    :param body: the first 64 KiB of the endpoint's answer.
    :return: ``None`` when all is well, or an error that turns the attempt
        into a failed one: it is recorded and the request is sent again
        later, with backoff, until ``notify_max_attempts``.

    .. versionadded:: 0.2
    """
    raise NotImplementedError


# -- carrier systems ------------------------------------------------------------


@hookspec(firstresult=True)
def casekit_disposition_decided(
    kit: CaseKit, case_number: str, disposition: ActionView, carrier: Organization
) -> str | None:
    """Hand the shipper's disposition of refused or damaged freight to the carrier's system.

    Called once per decision, after it has committed, outside any
    transaction. ``disposition`` is the carrier's view of it: the choice
    (return, reship, destroy, donate, hold, sell), who pays, the RA number
    and the shipper's note, never the shipper's internal note. Stops at the
    first non-None result, the carrier system's own reference for the
    instructions, which casekit records on the disposition
    (``carrier_reference``). An exception is logged and the decision stands;
    the ``disposition_changed`` webhook, retried through the outbox, tells
    the carrier all the same.

    :param kit: the :class:`~casekit.CaseKit` telling.
    :param case_number: the case the disposition belongs to.
    :param disposition: the decided disposition, as the carrier reads it.
    :param carrier: the carrier organization whose system is told.
    :return: the carrier system's reference, or ``None`` when this plugin
        does not speak for ``carrier``.

    .. versionadded:: 0.3
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def casekit_claim_filed(
    kit: CaseKit, case_number: str, claim: ClaimView, carrier: Organization
) -> str | None:
    """Hand a freight claim the shipper filed to the carrier's claims system.

    Called once per claim filed, after it has committed, outside any
    transaction. ``claim`` is the carrier's view of it: the claimant, the
    amount, its lines and documents, its clocks, never the shipper's
    internal valuation. Stops at the first non-None result, the carrier
    system's own claim number, which casekit records on the claim
    (``carrier_reference``). An exception is logged and the claim stays
    filed; the ``claim_changed`` webhook, retried through the outbox, tells
    the carrier all the same.

    :param kit: the :class:`~casekit.CaseKit` telling.
    :param case_number: the case the claim belongs to.
    :param claim: the filed claim, as the carrier reads it.
    :param carrier: the carrier organization whose system is told.
    :return: the carrier system's claim number, or ``None`` when this plugin
        does not speak for ``carrier``.

    .. versionadded:: 0.3
    """
    raise NotImplementedError


# -- network benchmarks ------------------------------------------------------------


@hookspec(firstresult=True)
def casekit_network_volumes(
    kit: CaseKit, period: str, start: datetime.datetime, end: datetime.datetime
) -> Mapping[str | int, int] | None:
    """Tell how many shipments each organization shipped (or carried) in a period.

    The network benchmarks job asks once per period it computes; a case rate
    is the cases per 1,000 of these shipments. Stops at the first non-None
    result. An organization without a count has no case rate (its times are
    still compared); a count that is not a whole number of at least 0 is
    logged and ignored.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param period: the month, ``YYYY-MM``.
    :param start: its first instant (UTC).
    :param end: the first instant of the next month (UTC).
    :return: shipments by organization, each keyed by its ``external_id``
        (a string) or casekit's id (an integer); ``None`` to let the next
        plugin answer.

    .. versionadded:: 0.3
    """
    raise NotImplementedError


@hookspec
def casekit_network_computed(kit: CaseKit, period: str, figures: Sequence[NetworkFigure]) -> None:
    """Export the network benchmarks of a period, once the job has put them in place.

    Called after the commit, outside any transaction, by the run that wrote
    them. ``figures`` holds each organization's own figures (``org_id``) and
    the network's (``org_id`` None); a network figure the disclosure rules
    suppress carries no value and no count of cases, only its reason. An
    exception is logged and the figures stay in place.

    :param kit: the :class:`~casekit.CaseKit` telling.
    :param period: the month, ``YYYY-MM``.
    :param figures: the :class:`~casekit.domain.network.NetworkFigure` objects written.

    .. versionadded:: 0.3
    """
    raise NotImplementedError


# -- attachments -----------------------------------------------------------------


@hookspec(firstresult=True)
def casekit_store_attachment(
    kit: CaseKit, filename: str, content_type: str, stream: BinaryIO, max_bytes: int
) -> StoredFile | None:
    """Store an attachment's bytes; return where they are.

    Stops at the first non-None result. The built-in filesystem store runs
    last. Read ``stream`` in chunks: attachments can be large. Raise
    :class:`casekit.errors.InvalidInput` when more than ``max_bytes`` arrive,
    keeping nothing.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param filename: the file's name as given (already stripped of folders).
    :param content_type: its media type.
    :param stream: the bytes, readable once.
    :param max_bytes: the largest size allowed.
    :return: the stored file, or ``None`` to let another store take it.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def casekit_open_attachment(kit: CaseKit, storage_key: str) -> BinaryIO | None:
    """Open a stored attachment for reading.

    Stops at the first non-None result.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param storage_key: the key a :func:`casekit_store_attachment` returned.
    :return: a binary file object the caller closes, or ``None`` when the key
        is not this store's.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def casekit_delete_attachment(kit: CaseKit, storage_key: str) -> bool | None:
    """Delete a stored attachment whose message was never saved.

    Stops at the first non-None result. casekit calls it when the
    transaction that stored a file rolls back (a later attachment was too
    large, the case changed meanwhile), so no file is left that no message
    refers to. It never deletes an attachment of a saved message.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param storage_key: the key a :func:`casekit_store_attachment` returned.
    :return: ``True`` once deleted (or already gone), ``None`` when the key
        is not this store's.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


# -- notifications ---------------------------------------------------------------


@hookspec(firstresult=True)
def casekit_deliver_notification(kit: CaseKit, notification: OutgoingNotification) -> bool | None:
    """Deliver one notification: send its email, or hand it to another channel.

    Stops at the first non-None result. ``casekit worker`` calls it for each
    notification it takes from the outbox, outside any transaction. The
    built-in SMTP plugin (``casekit.smtp``) runs last; a plugin registered
    after it is asked first, so a host may send through its own mailer or
    capture the mail (a demo, a test) by answering ``True``.

    Raise any exception when delivery failed: the worker records the
    attempt and tries again later, with exponential backoff, until
    ``notify_max_attempts``. Deliver each notification at most once per
    call; the worker never calls twice for one attempt.

    :param kit: the :class:`~casekit.CaseKit` asking.
    :param notification: a :class:`~casekit.mail.compose.OutgoingNotification`:
        the complete ``message`` (an ``email.message.Message``) and
        what it is about.
    :return: ``True`` once delivered (or accepted by the channel), ``None``
        to let the next plugin deliver it.

    .. versionadded:: 0.1
    """
    raise NotImplementedError


# -- command line ----------------------------------------------------------------


@hookspec
def casekit_add_cli_commands(cli: click.Group) -> None:
    """Add subcommands to the ``casekit`` command.

    :param cli: the root ``click`` group; call ``cli.add_command(...)``.

    .. versionadded:: 0.1
    """
    raise NotImplementedError
