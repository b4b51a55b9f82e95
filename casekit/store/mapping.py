"""The imperative mapping of the domain classes onto casekit's tables.

casekit maps with its own :func:`~sqlalchemy.orm.registry`, so it never
touches the host's mappers (and never calls ``clear_mappers()``).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, event, inspect
from sqlalchemy.orm import registry

from casekit.domain.apikeys import ApiKey
from casekit.domain.canned_replies import CannedReply
from casekit.domain.case import Attachment, Case, CrmNumber, Entry, Participant, Watcher
from casekit.domain.custom_fields import CustomField
from casekit.domain.directory import Customer, Organization, User
from casekit.domain.shipment import Order, Shipment
from casekit.domain.tags import Tag
from casekit.domain.views import SavedView
from casekit.store import report_columns, tables

mapper_registry = registry(metadata=tables.metadata)
_lock = threading.Lock()
_mapped = False


def map_domain() -> None:
    """Map the domain classes once per process; safe to call repeatedly."""
    global _mapped
    with _lock:
        if _mapped:
            return
        m = mapper_registry.map_imperatively
        m(Organization, tables.organizations)
        m(User, tables.users)
        m(Customer, tables.customers)
        # The identifiers' lower-cased keys are the database's (store.tables._key).
        m(Shipment, tables.shipments, exclude_properties=tables.SHIPMENT_KEYS)
        event.listen(Shipment, "before_insert", _carrier_key)
        event.listen(Shipment, "before_update", _carrier_key)
        event.listen(Shipment, "after_update", _snapshot_to_cases)
        m(Order, tables.orders, exclude_properties=["customer_email_key", "number_key"])
        # The report and due columns are the store's (store.report_columns, store.clocks).
        m(
            Case,
            tables.cases,
            version_id_col=tables.cases.c.version,
            exclude_properties=report_columns.REPORT_COLUMNS + tables.DUE_COLUMNS,
        )
        m(Entry, tables.entries)
        m(Attachment, tables.attachments)
        m(Watcher, tables.watchers)
        m(Participant, tables.participants)
        m(CrmNumber, tables.crm_numbers, exclude_properties=["number_key"])
        m(SavedView, tables.saved_views)
        m(Tag, tables.tags)
        m(CustomField, tables.custom_fields)
        m(ApiKey, tables.api_keys)
        m(CannedReply, tables.canned_replies)
        mapper_registry.configure()
        _mapped = True


def _carrier_key(_mapper: Any, _connection: Any, shipment: Shipment) -> None:
    """Keep ``carrier_key``, the lower-case carrier name the search box looks up."""
    name = shipment.carrier_name
    key = name.lower() if name else None
    if getattr(shipment, "carrier_key", None) != key:
        shipment.carrier_key = key  # type: ignore[attr-defined]


def _snapshot_to_cases(_mapper: Any, connection: Connection, shipment: Shipment) -> None:
    """A snapshot's new brand, segment or region is copied onto its cases, in the same flush."""
    attributes = inspect(shipment).attrs
    if any(attributes[name].history.has_changes() for name in report_columns.SNAPSHOT_COLUMNS):
        report_columns.refresh_snapshot_of_shipments(connection, [shipment.id])  # type: ignore[list-item]
