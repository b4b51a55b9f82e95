"""casekit's tables, on its own ``MetaData``, every name prefixed ``casekit_``.

They sit beside the host's tables without clashing; the host's Alembic can
leave them to casekit's own migrations (see docs/store.rst).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind, Source
from casekit.domain.directory import OrgRole, UserRole
from casekit.domain.workflow import Status
from casekit.store.types import EnumText, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BigInteger ids, but SQLite only auto-increments an INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAME = 200
EMAIL = 320
KEY = 200


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _fk(
    name: str, target: str, *, nullable: bool = False, ondelete: str | None = None
) -> Column[int]:
    return Column(name, Id, ForeignKey(target, ondelete=ondelete), nullable=nullable)


organizations = Table(
    "casekit_organizations",
    metadata,
    _id(),
    Column("name", String(NAME), nullable=False),
    Column("role", EnumText(OrgRole, 16), nullable=False),
    Column("external_id", String(KEY), nullable=True, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

users = Table(
    "casekit_users",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("name", String(NAME), nullable=False),
    Column("email", String(EMAIL), nullable=False, index=True),
    Column("role", EnumText(UserRole, 16), nullable=False),
    Column("external_id", String(KEY), nullable=True),
    Column("active", Boolean(), nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "external_id"),
)

customers = Table(
    "casekit_customers",
    metadata,
    _id(),
    _fk("shipper_org_id", "casekit_organizations.id"),
    Column("email", String(EMAIL), nullable=False),
    Column("name", String(NAME), nullable=False, default=""),
    Column("external_id", String(KEY), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("shipper_org_id", "external_id"),
    Index("ix_casekit_customers_shipper_email", "shipper_org_id", "email"),
)

shipments = Table(
    "casekit_shipments",
    metadata,
    _id(),
    _fk("shipper_org_id", "casekit_organizations.id"),
    _fk("carrier_org_id", "casekit_organizations.id", nullable=True),
    Column("reference", String(KEY), nullable=False),
    Column("tracking_number", String(KEY)),
    Column("bol_number", String(KEY)),
    Column("po_number", String(KEY)),
    Column("reference_number", String(KEY)),
    Column("ra_number", String(KEY)),
    Column("order_number", String(KEY)),
    Column("origin_name", String(NAME)),
    Column("origin_postal_code", String(20)),
    Column("destination_name", String(NAME)),
    Column("destination_postal_code", String(20)),
    Column("mode", String(16)),
    Column("direction", String(16)),
    Column("customer_segment", String(64)),
    Column("region", String(64)),
    Column("brand", String(NAME)),
    Column("carrier_name", String(NAME)),
    # carrier_name in lower case, kept by the mapping: the search box matches
    # carrier names whatever their case, through an index on every database.
    Column("carrier_key", String(NAME)),
    Column("status", String(64)),
    Column("promised_date", Date()),
    Column("estimated_date", Date()),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("shipper_org_id", "reference"),
    # The identifier search box looks shipments up by each of these.
    Index("ix_casekit_shipments_tracking", "tracking_number"),
    Index("ix_casekit_shipments_bol", "bol_number"),
    Index("ix_casekit_shipments_po", "po_number"),
    Index("ix_casekit_shipments_reference_number", "reference_number"),
    Index("ix_casekit_shipments_ra", "ra_number"),
    Index("ix_casekit_shipments_order_number", "order_number"),
    Index("ix_casekit_shipments_carrier_key", "carrier_key"),
)

orders = Table(
    "casekit_orders",
    metadata,
    _id(),
    _fk("shipper_org_id", "casekit_organizations.id"),
    Column("number", String(KEY), nullable=False),
    Column("customer_email", String(EMAIL)),
    Column("customer_name", String(NAME)),
    Column("brand", String(NAME)),
    Column("placed_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("shipper_org_id", "number"),
    Index("ix_casekit_orders_number", "number"),
)

cases = Table(
    "casekit_cases",
    metadata,
    _id(),
    Column("number", String(32), nullable=True, unique=True),
    Column("version", Integer(), nullable=False),
    Column("type", String(64), nullable=False),
    Column("status", EnumText(Status, 16), nullable=False),
    Column("source", EnumText(Source, 16), nullable=False),
    Column("subject", String(300), nullable=False, default=""),
    _fk("shipper_org_id", "casekit_organizations.id"),
    _fk("carrier_org_id", "casekit_organizations.id", nullable=True),
    Column("carrier_collaborating", Boolean(), nullable=False, default=True),
    _fk("customer_id", "casekit_customers.id", nullable=True),
    _fk("shipment_id", "casekit_shipments.id", nullable=True),
    _fk("order_id", "casekit_orders.id", nullable=True),
    _fk("shipper_owner_id", "casekit_users.id", nullable=True),
    _fk("carrier_owner_id", "casekit_users.id", nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("solved_at", UTCDateTime()),
    Column("solved_by", String(64)),
    Column("latest_message_at", UTCDateTime()),
    _fk("latest_message_user_id", "casekit_users.id", nullable=True),
    _fk("latest_message_org_id", "casekit_organizations.id", nullable=True),
    Column("latest_message_by_customer", Boolean(), nullable=False, default=False),
    # The Case Management list, one index per side: a shipper's cases (or a
    # carrier's) newest first, with what the built-in views test, so that a
    # page reads the index in order, a view's count reads only the index, and
    # a filter on the shipment reaches the snapshot from the index alone.
    Index(
        "ix_casekit_cases_shipper_list",
        "shipper_org_id",
        "created_at",
        "id",
        "status",
        "shipper_owner_id",
        "latest_message_org_id",
        "latest_message_at",
        "shipment_id",
    ),
    Index(
        "ix_casekit_cases_carrier_list",
        "carrier_org_id",
        "created_at",
        "id",
        "status",
        "carrier_owner_id",
        "latest_message_org_id",
        "latest_message_at",
        "shipment_id",
    ),
    Index("ix_casekit_cases_customer", "customer_id"),
    Index("ix_casekit_cases_shipment", "shipment_id"),
    Index("ix_casekit_cases_order", "order_id"),
    Index("ix_casekit_cases_shipper_owner", "shipper_owner_id"),
    Index("ix_casekit_cases_carrier_owner", "carrier_owner_id"),
)

entries = Table(
    "casekit_entries",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    Column("kind", EnumText(EntryKind, 16), nullable=False),
    Column("audience", EnumText(Audience, 16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    _fk("org_id", "casekit_organizations.id", nullable=True),
    _fk("user_id", "casekit_users.id", nullable=True),
    _fk("customer_id", "casekit_customers.id", nullable=True),
    Column("system", String(16)),
    Column("author_email", String(EMAIL)),
    Column("body", Text(), nullable=False, default=""),
    Column("event", EnumText(EventKind, 32)),
    Column("old_value", String(KEY)),
    Column("new_value", String(KEY)),
    Index("ix_casekit_entries_case", "case_id", "id"),
)

attachments = Table(
    "casekit_attachments",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("entry_id", "casekit_entries.id", ondelete="CASCADE"),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(KEY), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_casekit_attachments_entry", "entry_id"),
)

watchers = Table(
    "casekit_watchers",
    metadata,
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("user_id", "casekit_users.id"),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("case_id", "user_id"),
    Index("ix_casekit_watchers_user", "user_id"),
)

participants = Table(
    "casekit_participants",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("user_id", "casekit_users.id", nullable=True),
    _fk("customer_id", "casekit_customers.id", nullable=True),
    Column("email", String(EMAIL)),
    Column("subscribed", Boolean(), nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("case_id", "user_id"),
    UniqueConstraint("case_id", "customer_id"),
    UniqueConstraint("case_id", "email"),
)

crm_numbers = Table(
    "casekit_crm_numbers",
    metadata,
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("org_id", "casekit_organizations.id"),
    Column("number", String(KEY), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("case_id", "org_id"),
    Index("ix_casekit_crm_numbers_org_number", "org_id", "number"),
)

saved_views = Table(
    "casekit_saved_views",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    _fk("user_id", "casekit_users.id"),
    Column("name", String(100), nullable=False),
    Column("shared", Boolean(), nullable=False, default=False),
    Column("definition", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "name"),
    Index("ix_casekit_saved_views_org_shared", "org_id", "shared"),
)
