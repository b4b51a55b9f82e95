"""The imperative mapping of the domain classes onto casekit's tables.

casekit maps with its own :func:`~sqlalchemy.orm.registry`, so it never
touches the host's mappers (and never calls ``clear_mappers()``).
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import registry

from casekit.domain.case import Attachment, Case, CrmNumber, Entry, Participant, Watcher
from casekit.domain.directory import Customer, Organization, User
from casekit.domain.shipment import Order, Shipment
from casekit.domain.views import SavedView
from casekit.store import tables

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
        m(Shipment, tables.shipments)
        m(Order, tables.orders)
        m(Case, tables.cases, version_id_col=tables.cases.c.version)
        m(Entry, tables.entries)
        m(Attachment, tables.attachments)
        m(Watcher, tables.watchers)
        m(Participant, tables.participants)
        m(CrmNumber, tables.crm_numbers)
        m(SavedView, tables.saved_views)
        mapper_registry.configure()
        _mapped = True
