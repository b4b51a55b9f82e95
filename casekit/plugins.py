"""The plugin manager factory and the built-in plugins.

One :class:`pluggy.PluginManager` per :class:`~casekit.CaseKit`, never a
module global. Built-in plugins are registered exactly like third-party ones,
first, so that plugins registered later are asked before them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, BinaryIO

import pluggy

from casekit import hookspecs
from casekit.domain.case import CaseType
from casekit.errors import ConfigurationError

if TYPE_CHECKING:
    import datetime

    from casekit.attachments import StoredFile
    from casekit.domain.case import Case
    from casekit.domain.directory import Customer, Organization
    from casekit.domain.network import NetworkFigure
    from casekit.domain.shipment import OrderFacts, ShipmentFacts
    from casekit.mail.compose import OutgoingNotification
    from casekit.query.actions import ActionView
    from casekit.query.claims import ClaimView
    from casekit.settings import Settings

log = logging.getLogger(__name__)

PROJECT = "casekit"
ENTRY_POINT_GROUP = "casekit"

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a function or method as a casekit hook implementation."""

DEFAULT_CASE_TYPES: tuple[CaseType, ...] = (
    CaseType("general_status_update", "General Status Update"),
    CaseType("where_is_my_order", "Where Is My Order"),
    CaseType("delivery_scheduling", "Delivery Scheduling"),
    CaseType("osd_damaged", "OS&D – Damaged"),  # noqa: RUF001
    CaseType("osd_shortage", "OS&D – Shortage"),  # noqa: RUF001
    CaseType("lost", "Lost"),
    CaseType("return_to_sender", "Return to Sender"),
    CaseType("refused_by_receiver", "Refused by Receiver"),
    CaseType("address_correction", "Address Correction"),
    CaseType("cancel", "Cancel"),
    CaseType("customer_feedback", "Customer Feedback"),
    CaseType("other", "Other"),
)


class DefaultCaseTypes:
    """The standard case type catalogue shared by every account."""

    @hookimpl(tryfirst=True)
    def casekit_add_case_types(self) -> list[CaseType]:
        return list(DEFAULT_CASE_TYPES)


def builtin_plugins(settings: Settings) -> list[tuple[str, object]]:
    from casekit.attachments import FilesystemStorage
    from casekit.mail.smtp import SmtpDelivery
    from casekit.services.portal import StoredOrders

    return [
        ("casekit.case_types", DefaultCaseTypes()),
        ("casekit.filesystem_storage", FilesystemStorage(settings.attachment_dir)),
        ("casekit.smtp", SmtpDelivery(settings)),
        ("casekit.stored_orders", StoredOrders()),
    ]


def make_plugin_manager(
    settings: Settings, plugins: Sequence[object] = (), *, check: bool = True
) -> pluggy.PluginManager:
    """Build a plugin manager: built-ins, then entry points, then ``plugins``.

    Entry points load unless ``settings.load_entry_points`` is false; a
    non-empty ``plugins_allow`` loads only those names; ``plugins_block``
    never loads its names (built-ins included). ``check`` fails loudly on an
    implementation whose name matches no hook (a misspelling).
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(settings.plugins_block)
    for name in blocked:
        pm.set_blocked(name)
    for name, plugin in builtin_plugins(settings):
        _register(pm, plugin, name)
    if settings.load_entry_points:
        _load_entry_points(pm, allow=set(settings.plugins_allow), blocked=blocked)
    for plugin in plugins:
        _register(pm, plugin, None)
    if check:
        check_pending(pm)
    return pm


def _load_entry_points(pm: pluggy.PluginManager, *, allow: set[str], blocked: set[str]) -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or (allow and ep.name not in allow):
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as error:
            raise ConfigurationError(
                f"the casekit plugin {ep.name!r} ({ep.value}) failed to import: {error}; "
                f"fix it, or block it with CASEKIT_PLUGINS_BLOCK={ep.name}"
            ) from error
        _register(pm, plugin, ep.name)
        log.debug("casekit: loaded plugin %s from %s", ep.name, ep.value)


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    """Register ``plugin``; a hook implementation that does not fit its spec
    (an argument the hook does not have) is a ConfigurationError naming it."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise ConfigurationError(
            f"{error}; see casekit.hookspecs for each hook's arguments"
        ) from error


def check_pending(pm: pluggy.PluginManager) -> None:
    """Raise :class:`ConfigurationError` naming any hook implementation with no spec."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise ConfigurationError(
            f"{error}; casekit hooks are listed in casekit.hookspecs (a misspelled name?)"
        ) from error


def plugin_names(pm: pluggy.PluginManager) -> Iterable[str]:
    return [name for name, _plugin in pm.list_name_plugin() if name is not None]


def collect_case_types(pm: pluggy.PluginManager, kit: Any) -> dict[str, CaseType]:
    catalogue: dict[str, CaseType] = {}
    for batch in pm.hook.casekit_add_case_types(kit=kit):
        for case_type in batch or ():
            catalogue.setdefault(case_type.code, case_type)
    return catalogue


class PluginHooks:
    """A typed facade over the plugin manager: one method per hook, keyword arguments.

    Services call hooks through this, so every call site is type-checked and
    passes the arguments by name.
    """

    def __init__(self, pm: pluggy.PluginManager, kit: Any) -> None:
        self.pm = pm
        self._kit = kit

    def kit_ready(self) -> None:
        self.pm.hook.casekit_kit_ready(kit=self._kit)

    def add_case_types(self) -> dict[str, CaseType]:
        return collect_case_types(self.pm, self._kit)

    def lookup_shipment(
        self, *, organization: Organization, reference: str
    ) -> ShipmentFacts | None:
        result: ShipmentFacts | None = self.pm.hook.casekit_lookup_shipment(
            kit=self._kit, organization=organization, reference=reference
        )
        return result

    def lookup_order(self, *, organization: Organization, number: str) -> OrderFacts | None:
        result: OrderFacts | None = self.pm.hook.casekit_lookup_order(
            kit=self._kit, organization=organization, number=number
        )
        return result

    def customer_orders(
        self, *, organization: Organization, customer: Customer
    ) -> list[OrderFacts] | None:
        result: list[OrderFacts] | None = self.pm.hook.casekit_customer_orders(
            kit=self._kit, organization=organization, customer=customer
        )
        return result

    def link_crm(self, *, case: Case, organization: Organization) -> str | None:
        result: str | None = self.pm.hook.casekit_link_crm(
            kit=self._kit, case=case, organization=organization
        )
        return result

    def disposition_decided(
        self, *, case_number: str, disposition: ActionView, carrier: Organization
    ) -> str | None:
        result: str | None = self.pm.hook.casekit_disposition_decided(
            kit=self._kit, case_number=case_number, disposition=disposition, carrier=carrier
        )
        return result

    def claim_filed(
        self, *, case_number: str, claim: ClaimView, carrier: Organization
    ) -> str | None:
        result: str | None = self.pm.hook.casekit_claim_filed(
            kit=self._kit, case_number=case_number, claim=claim, carrier=carrier
        )
        return result

    def network_volumes(
        self, *, period: str, start: datetime.datetime, end: datetime.datetime
    ) -> Mapping[str | int, int] | None:
        result: Mapping[str | int, int] | None = self.pm.hook.casekit_network_volumes(
            kit=self._kit, period=period, start=start, end=end
        )
        return result

    def network_computed(self, *, period: str, figures: Sequence[NetworkFigure]) -> None:
        """Tell the plugins; one that fails is logged, the figures stay."""
        try:
            self.pm.hook.casekit_network_computed(kit=self._kit, period=period, figures=figures)
        except Exception:
            log.exception("a plugin failed to take the network benchmarks of %s", period)

    def webhook_answered(
        self,
        *,
        webhook_id: int,
        org_id: int,
        description: str,
        event: str,
        payload: dict[str, Any],
        status_code: int,
        body: bytes,
    ) -> str | None:
        """The first error a plugin finds in a webhook's answer, or ``None``."""
        errors: list[str | None] = self.pm.hook.casekit_webhook_answered(
            kit=self._kit,
            webhook_id=webhook_id,
            org_id=org_id,
            description=description,
            event=event,
            payload=payload,
            status_code=status_code,
            body=body,
        )
        return next((e for e in errors if e), None)

    def store_attachment(
        self, *, filename: str, content_type: str, stream: BinaryIO, max_bytes: int
    ) -> StoredFile:
        stored: StoredFile | None = self.pm.hook.casekit_store_attachment(
            kit=self._kit,
            filename=filename,
            content_type=content_type,
            stream=stream,
            max_bytes=max_bytes,
        )
        if stored is None:
            raise ConfigurationError(
                "no plugin stored the attachment: the built-in filesystem store is blocked "
                "and no other casekit_store_attachment implementation answered"
            )
        return stored

    def delete_attachment(self, *, storage_key: str) -> bool:
        """Delete a stored file; whether a store took the key."""
        deleted: bool | None = self.pm.hook.casekit_delete_attachment(
            kit=self._kit, storage_key=storage_key
        )
        return bool(deleted)

    def open_attachment(self, *, storage_key: str) -> BinaryIO:
        opened: BinaryIO | None = self.pm.hook.casekit_open_attachment(
            kit=self._kit, storage_key=storage_key
        )
        if opened is None:
            raise ConfigurationError(f"no plugin can open the attachment {storage_key!r}")
        return opened

    def deliver_notification(self, *, notification: OutgoingNotification) -> None:
        """Deliver through the first plugin that takes it; raises when none did."""
        delivered: bool | None = self.pm.hook.casekit_deliver_notification(
            kit=self._kit, notification=notification
        )
        if not delivered:
            raise ConfigurationError(
                "no plugin delivered the notification: the built-in SMTP plugin is blocked "
                "and no other casekit_deliver_notification implementation answered"
            )
