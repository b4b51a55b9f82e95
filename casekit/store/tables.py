"""casekit's tables, on its own ``MetaData``, every name prefixed ``casekit_``.

They sit beside the host's tables without clashing; the host's Alembic can
leave them to casekit's own migrations (see docs/store.rst).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from casekit.domain.apikeys import ApiScope
from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind, Side, Source
from casekit.domain.custom_fields import FieldKind, FieldVisibility
from casekit.domain.directory import OrgRole, UserRole
from casekit.domain.tags import TagColour
from casekit.domain.workflow import Status
from casekit.store.types import EnumText, PriorityRank, TextList, UTCDateTime

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
PHONE = 32
#: The collation of identifier columns on MySQL and MariaDB (see :func:`_ident`).
MYSQL_BINARY = "utf8mb4_bin"


def _ident(length: int) -> TypeEngine[str]:
    """A string compared byte for byte everywhere: an identifier or a unique name.

    MySQL and MariaDB compare text case-insensitively by default, so
    ``"ACME"`` would clash with ``"acme"`` in a unique index there and nowhere
    else; ``utf8mb4_bin`` makes them behave like PostgreSQL and SQLite.
    """
    return String(length).with_variant(String(length, collation=MYSQL_BINARY), "mysql", "mariadb")


def _key(source: str) -> Column[str]:
    """``source`` lower-cased, kept by the database, compared byte for byte.

    The search box looks identifiers up by prefix, whatever their case
    (casekit.query.search): a range ``key >= 'nw-50' AND key < 'nw-51'`` on
    an index of this column. Byte order (``C`` on PostgreSQL, ``utf8mb4_bin``
    on MariaDB, SQLite's own) makes the range exactly the strings with the
    prefix. A stored generated column (virtual on SQLite, whose index stores
    the values all the same) because MariaDB has no index on an expression.
    """
    kind = (
        String(KEY)
        .with_variant(String(KEY, collation="C"), "postgresql")
        .with_variant(String(KEY, collation=MYSQL_BINARY), "mysql", "mariadb")
    )
    return Column(f"{source}_key", kind, Computed(f"lower({source})", persisted=True))


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
    Column("external_id", _ident(KEY), nullable=True, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # A shipper's customers may open cases from the host's portal: off until enabled.
    Column("feedback_portal", Boolean(), nullable=False, default=False),
)

users = Table(
    "casekit_users",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("name", String(NAME), nullable=False),
    Column("email", String(EMAIL), nullable=False, index=True),
    Column("role", EnumText(UserRole, 16), nullable=False),
    Column("external_id", _ident(KEY), nullable=True),
    Column("active", Boolean(), nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # Since when a user who left is deactivated; NULL while active.
    Column("deactivated_at", UTCDateTime(), nullable=True),
    UniqueConstraint("org_id", "external_id"),
)

customers = Table(
    "casekit_customers",
    metadata,
    _id(),
    _fk("shipper_org_id", "casekit_organizations.id"),
    Column("email", String(EMAIL), nullable=False),
    Column("name", String(NAME), nullable=False, default=""),
    Column("external_id", _ident(KEY), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("phone", String(PHONE), nullable=True),
    UniqueConstraint("shipper_org_id", "external_id"),
    Index("ix_casekit_customers_shipper_email", "shipper_org_id", "email"),
)

#: The shipment's identifiers the search box looks up (each with its ``_key``).
SHIPMENT_IDENTIFIERS: tuple[str, ...] = (
    "tracking_number",
    "bol_number",
    "po_number",
    "reference_number",
    "ra_number",
    "order_number",
    "reference",
)
#: Their keys' columns.
SHIPMENT_KEYS: tuple[str, ...] = tuple(f"{name}_key" for name in SHIPMENT_IDENTIFIERS)

shipments = Table(
    "casekit_shipments",
    metadata,
    _id(),
    _fk("shipper_org_id", "casekit_organizations.id"),
    _fk("carrier_org_id", "casekit_organizations.id", nullable=True),
    Column("reference", _ident(KEY), nullable=False),
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
    # The normalised tracking state (see casekit.domain.shipment.ShipmentStatus).
    Column("shipment_status", String(32)),
    Column("exception", String(32)),
    Column("status_at", UTCDateTime()),
    Column("appointment_at", UTCDateTime()),
    # The delivery appointment both sides accepted (casekit.domain.actions),
    # its window in UTC and the destination's time zone it was agreed in.
    Column("delivery_window_start", UTCDateTime()),
    Column("delivery_window_end", UTCDateTime()),
    Column("delivery_time_zone", String(64)),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The identifiers lower-cased (see _key), never written, not mapped.
    *(_key(name) for name in SHIPMENT_IDENTIFIERS),
    UniqueConstraint("shipper_org_id", "reference"),
    # The rules' sweep reads a shipper's shipments still on their way.
    Index("ix_casekit_shipments_shipper_status", "shipper_org_id", "shipment_status"),
    # The search box looks shipments up by a prefix of each identifier, any case.
    Index("ix_casekit_shipments_tracking", "tracking_number_key"),
    Index("ix_casekit_shipments_bol", "bol_number_key"),
    Index("ix_casekit_shipments_po", "po_number_key"),
    Index("ix_casekit_shipments_reference_number", "reference_number_key"),
    Index("ix_casekit_shipments_ra", "ra_number_key"),
    Index("ix_casekit_shipments_order_number", "order_number_key"),
    Index("ix_casekit_shipments_reference", "reference_key"),
    Index("ix_casekit_shipments_carrier_key", "carrier_key"),
    # Filters: the cases whose shipment has a delivery appointment on a date.
    Index("ix_casekit_shipments_delivery_window", "delivery_window_start"),
)

orders = Table(
    "casekit_orders",
    metadata,
    _id(),
    _fk("shipper_org_id", "casekit_organizations.id"),
    Column("number", _ident(KEY), nullable=False),
    Column("customer_email", String(EMAIL)),
    # The email lower-cased, kept by the database (a stored generated column), for
    # the portal's "your orders" lookup: one index serves it on every database,
    # where MariaDB has no index on an expression. Never written, and not mapped
    # (casekit.store.mapping).
    Column("customer_email_key", String(EMAIL), Computed("lower(customer_email)", persisted=True)),
    Column("customer_name", String(NAME)),
    Column("brand", String(NAME)),
    Column("placed_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    _key("number"),
    UniqueConstraint("shipper_org_id", "number"),
    Index("ix_casekit_orders_number", "number"),
    Index("ix_casekit_orders_number_key", "number_key"),
    Index("ix_casekit_orders_customer_email", "shipper_org_id", "customer_email_key"),
)


def _known_value_indexes() -> list[Index]:
    """An index per side and known-value field, of the cases that have a value.

    Partial where the database has them (PostgreSQL, SQLite): smaller, and
    no choice for a statement that counts the cases without a value too (a
    dashboard's active cases by brand would otherwise read them in brand
    order from the table, where its own index holds them all).
    """
    found = []
    for side in ("shipper", "carrier"):
        for name, column in (
            ("brand", "brand"),
            ("segment", "customer_segment"),
            ("region", "region"),
        ):
            has_value = text(f"{column} IS NOT NULL")
            found.append(
                Index(
                    f"ix_casekit_cases_{side}_{name}",
                    f"{side}_org_id",
                    column,
                    postgresql_where=has_value,
                    sqlite_where=has_value,
                )
            )
    return found


#: The cases' due columns (casekit.store.clocks keeps them; the domain's case does not carry them).
DUE_COLUMNS: tuple[str, ...] = (
    "shipper_due_at",
    "shipper_warn_at",
    "carrier_due_at",
    "carrier_warn_at",
)

cases = Table(
    "casekit_cases",
    metadata,
    _id(),
    Column("number", _ident(32), nullable=True, unique=True),
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
    # The latest message the carrier reads (for partners or everyone): what its
    # lists, views and filters on the latest message see, never the shipper's
    # conversation with its customer. Kept like a report column: no foreign keys.
    Column("carrier_latest_message_at", UTCDateTime()),
    Column("carrier_latest_message_user_id", Id),
    Column("carrier_latest_message_org_id", Id),
    # The carrier's own status and last update (domain.workflow): moved only
    # by what the carrier reads, so that the shipper's conversation with its
    # customer does not move them. The carrier's indexes hold its status.
    # Always written; NULL-able only because SQLite cannot add a required
    # column to a table with rows without copying it (migration 0018).
    Column("carrier_status", EnumText(Status, 16)),
    Column("carrier_updated_at", UTCDateTime()),
    # When the carrier's status became solved (NULL while it is not): the
    # shipper's conversation with its customer may reopen the case for the
    # shipper (clearing ``solved_at``) while the carrier still reads it solved.
    Column("carrier_solved_at", UTCDateTime()),
    # Who solved it as the carrier reads it, kept with ``carrier_solved_at``.
    Column("carrier_solved_by", String(64)),
    # When the shipper shared its customer's contact details with the carrier
    # (NULL: not shared); the scoped layer shows them to the carrier then.
    Column("contact_shared_at", UTCDateTime()),
    # The priority both sides share (casekit.domain.tags), as its rank: 1 low,
    # 2 normal, 3 high, 4 urgent; the list sorts by it, urgent first.
    Column("priority", PriorityRank(), nullable=False, server_default=text("2")),
    # The case this duplicate was merged into, and when (casekit.services.merge);
    # NULL: not merged. No foreign key, like the carrier's latest message: a
    # plain ALTER adds and drops it on every database (migration 0038).
    Column("merged_into_id", Id),
    Column("merged_at", UTCDateTime()),
    # Service levels (casekit.services.clocks): per side, the due time of the
    # side's running clock that is due first and the time its warning is
    # due (NULL: no running clock); what the list's "Due" column, its due
    # filters and sort, and the "Due soon" view read.
    Column("shipper_due_at", UTCDateTime()),
    Column("shipper_warn_at", UTCDateTime()),
    Column("carrier_due_at", UTCDateTime()),
    Column("carrier_warn_at", UTCDateTime()),
    # Report columns: facts of the timeline and the snapshot kept on the row
    # (store.report_columns keeps them, in the transaction of the change), so
    # the dashboard reads neither the entries nor the shipments.
    Column("brand", String(NAME)),
    Column("customer_segment", String(64)),
    Column("region", String(64)),
    Column("shipper_first_response_at", UTCDateTime()),
    Column("carrier_first_response_at", UTCDateTime()),
    Column("shipper_other_side_message_at", UTCDateTime()),
    Column("carrier_other_side_message_at", UTCDateTime()),
    Column("reopened_at", UTCDateTime()),
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
        "carrier_status",
        "carrier_owner_id",
        "carrier_latest_message_org_id",
        "carrier_latest_message_at",
        "shipment_id",
    ),
    Index("ix_casekit_cases_customer", "customer_id"),
    Index("ix_casekit_cases_shipment", "shipment_id"),
    Index("ix_casekit_cases_order", "order_id"),
    Index("ix_casekit_cases_shipper_owner", "shipper_owner_id"),
    Index("ix_casekit_cases_carrier_owner", "carrier_owner_id"),
    # Reports: cases solved in a date range, per side; and the active
    # backlog by status, counted by type, source, owner, other party and age
    # from the index alone.
    Index("ix_casekit_cases_shipper_solved", "shipper_org_id", "solved_at"),
    Index("ix_casekit_cases_carrier_solved", "carrier_org_id", "carrier_solved_at"),
    # "Due soon": a side's cases by due time, with the warning time to test.
    Index("ix_casekit_cases_shipper_due", "shipper_org_id", "shipper_due_at", "shipper_warn_at"),
    Index("ix_casekit_cases_carrier_due", "carrier_org_id", "carrier_due_at", "carrier_warn_at"),
    Index(
        "ix_casekit_cases_shipper_backlog",
        "shipper_org_id",
        "status",
        "type",
        "source",
        "shipper_owner_id",
        "carrier_org_id",
        "created_at",
    ),
    Index(
        "ix_casekit_cases_carrier_backlog",
        "carrier_org_id",
        "carrier_status",
        "type",
        "source",
        "carrier_owner_id",
        "shipper_org_id",
        "created_at",
    ),
    # Reports on the report columns: the cases opened in a range with what
    # the speed and targets sections group and measure; the active backlog
    # by brand, priority and the other side's latest message (index-only reads).
    Index(
        "ix_casekit_cases_shipper_opened",
        "shipper_org_id",
        "created_at",
        "type",
        "status",
        "source",
        "carrier_org_id",
        "shipper_owner_id",
        "shipper_first_response_at",
        "reopened_at",
    ),
    Index(
        "ix_casekit_cases_carrier_opened",
        "carrier_org_id",
        "created_at",
        "type",
        "carrier_status",
        "source",
        "shipper_org_id",
        "carrier_owner_id",
        "carrier_first_response_at",
        "reopened_at",
    ),
    Index(
        "ix_casekit_cases_shipper_active",
        "shipper_org_id",
        "status",
        "brand",
        "priority",
        "shipper_other_side_message_at",
    ),
    Index(
        "ix_casekit_cases_carrier_active",
        "carrier_org_id",
        "carrier_status",
        "brand",
        "priority",
        "carrier_other_side_message_at",
    ),
    # The list's known values (casekit.query.known): each side's distinct
    # brands, segments and regions, read by skipping from one value to the
    # next (a probe per value, not a read of every case).
    *_known_value_indexes(),
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
    # When the shipper shared this ``customer`` entry with the carrier.
    Column("shared_at", UTCDateTime()),
    Index("ix_casekit_entries_case", "case_id", "id"),
    # Reports: an organization's messages in a date range; a case's first
    # answer from one side, the other side's latest message and whether it
    # was ever solved or reopened, from the index alone.
    Index("ix_casekit_entries_org_created", "org_id", "created_at"),
    # Reports: an organization's messages in a range, by author, and their cases.
    Index("ix_casekit_entries_org_messages", "org_id", "kind", "created_at", "user_id", "case_id"),
    Index(
        "ix_casekit_entries_case_kind",
        "case_id",
        "kind",
        "event",
        "org_id",
        "audience",
        "created_at",
    ),
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
    # The organization whose staff brought an address in (NULL: the shipper's,
    # for a customer's Cc, an inbound sender or the host). No
    # foreign key, so that revision 0014 adds and drops it with a plain ALTER.
    Column("org_id", Id),
    Column("subscribed", Boolean(), nullable=False, default=True),
    # The audience of the message an address was Cc'd on: it hears no more than
    # that (NULL: what its organization reads, for the addresses of before).
    Column("audience", EnumText(Audience, 16)),
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
    _key("number"),
    PrimaryKeyConstraint("case_id", "org_id"),
    Index("ix_casekit_crm_numbers_org_number", "org_id", "number_key"),
)

# Tags (casekit.domain.tags): each organization's own list, and the tags of its
# list on each case. A case's tag rows keep the organization (the tag's), so
# that every read names the reader's organization and never another's.
tags = Table(
    "casekit_tags",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("name", String(50), nullable=False),
    Column("colour", EnumText(TagColour, 16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("archived_at", UTCDateTime()),
    UniqueConstraint("org_id", "name"),
)

case_tags = Table(
    "casekit_case_tags",
    metadata,
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("tag_id", "casekit_tags.id", ondelete="CASCADE"),
    _fk("org_id", "casekit_organizations.id"),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("case_id", "tag_id"),
    # The cases of a tag (a filter on a tag its organization uses a lot).
    Index("ix_casekit_case_tags_tag", "tag_id", "case_id"),
)

# Custom fields (casekit.domain.custom_fields): each organization's own list of
# typed fields, and their values on cases. A value is one row (one a chosen
# option of a multi-choice field) with a column per type, so that each type is
# compared and indexed as itself on every database: no migration per field,
# and no JSON path that each database indexes its own way.
custom_fields = Table(
    "casekit_custom_fields",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("key", _ident(40), nullable=False),
    Column("label", String(80), nullable=False),
    Column("kind", EnumText(FieldKind, 16), nullable=False),
    Column("visibility", EnumText(FieldVisibility, 16), nullable=False),
    Column("choices", TextList(), nullable=False),
    Column("required_for", TextList(), nullable=False),
    Column("position", Integer(), nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("archived_at", UTCDateTime()),
    UniqueConstraint("org_id", "key"),
)

case_field_values = Table(
    "casekit_case_field_values",
    metadata,
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("field_id", "casekit_custom_fields.id"),
    # 0 for a single value; a multi-choice field's options 0, 1, 2...
    Column("item", SmallInteger(), nullable=False),
    Column("text_value", String(500)),
    Column("number_value", Double()),
    Column("date_value", Date()),
    PrimaryKeyConstraint("case_id", "field_id", "item"),
    # The cases with a value (a filter): one index per type of value.
    Index("ix_casekit_case_field_values_text", "field_id", "text_value"),
    Index("ix_casekit_case_field_values_number", "field_id", "number_value"),
    Index("ix_casekit_case_field_values_date", "field_id", "date_value"),
)

# Actions (casekit.domain.actions): a case's delivery appointments and
# dispositions, each with its state. ``org_id`` is the side that proposed or
# asked; ``windows`` the proposed windows as JSON ([[start, end], ...] in UTC).
# ``internal_note`` is the shipper's own, never read by the carrier.
actions = Table(
    "casekit_actions",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("audience", EnumText(Audience, 16), nullable=False),
    _fk("org_id", "casekit_organizations.id"),
    _fk("carrier_org_id", "casekit_organizations.id", nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    _fk("replaces_id", "casekit_actions.id", nullable=True, ondelete="SET NULL"),
    Column("note", Text(), nullable=False, default=""),
    # a delivery appointment
    Column("time_zone", String(64)),
    Column("windows", Text()),
    Column("accepted_start", UTCDateTime()),
    Column("accepted_end", UTCDateTime()),
    # a disposition
    Column("reason", String(16)),
    Column("deadline", UTCDateTime()),
    Column("storage_from", UTCDateTime()),
    Column("storage_per_day", Numeric(12, 2)),
    Column("currency", String(3)),
    Column("choice", String(16)),
    Column("payer", String(16)),
    Column("ra_number", String(KEY)),
    Column("internal_note", Text()),
    Column("carrier_reference", String(KEY)),
    # who answered (accepted, countered, decided, withdrew) and when
    Column("decided_by", String(64)),
    _fk("decided_org_id", "casekit_organizations.id", nullable=True),
    Column("decided_at", UTCDateTime()),
    Index("ix_casekit_actions_case", "case_id", "id"),
    # The sweep: accepted appointments by the end of their window.
    Index("ix_casekit_actions_state_end", "state", "accepted_end"),
    # Reports: an organization's actions by kind and time.
    Index("ix_casekit_actions_carrier", "carrier_org_id", "kind", "created_at"),
)

# Freight claims (casekit.domain.claims): money the shipper asks of the carrier for
# freight lost or damaged. ``lines`` and ``documents`` are JSON; ``windows`` the
# claim windows that applied when it was drafted (its clocks keep them).
# ``expected_recovery`` and ``valuation_note`` are the shipper's own, never read
# by the carrier or the customer.
claims = Table(
    "casekit_claims",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("shipper_org_id", "casekit_organizations.id"),
    _fk("carrier_org_id", "casekit_organizations.id", nullable=True),
    Column("status", String(16), nullable=False),
    Column("claimant", String(NAME), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("lines", Text(), nullable=False),
    Column("documents", Text(), nullable=False),
    Column("note", Text(), nullable=False, default=""),
    Column("mode", String(16)),
    Column("windows", Text(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=False),
    Column("filed_at", UTCDateTime()),
    Column("acknowledged_at", UTCDateTime()),
    Column("settled_at", UTCDateTime()),
    Column("amount_paid", Numeric(14, 2)),
    # The carrier's firm compromise settlement offer (49 CFR 370.9(a)), its latest.
    Column("amount_offered", Numeric(14, 2)),
    Column("offered_at", UTCDateTime()),
    Column("reason", Text()),
    Column("reference", String(KEY)),
    Column("carrier_reference", String(KEY)),
    Column("expected_recovery", Numeric(14, 2)),
    Column("valuation_note", Text()),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_casekit_claims_case", "case_id", "id"),
    # Reports: each side's claims by the time they were filed.
    Index("ix_casekit_claims_carrier", "carrier_org_id", "filed_at"),
    Index("ix_casekit_claims_shipper", "shipper_org_id", "filed_at"),
)

# A claim's clocks: filing (the shipper's), acknowledgment and disposition (the
# carrier's). ``next_alert_at`` is the earliest warning not yet sent, what the
# sweep reads (as casekit_clocks'); ``state`` running or stopped.
claim_clocks = Table(
    "casekit_claim_clocks",
    metadata,
    _id(),
    _fk("claim_id", "casekit_claims.id", ondelete="CASCADE"),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("org_id", "casekit_organizations.id"),
    Column("side", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("warn_at", UTCDateTime(), nullable=False),
    Column("stopped_at", UTCDateTime()),
    Column("warned_at", UTCDateTime()),
    Column("breach_warned_at", UTCDateTime()),
    Column("next_alert_at", UTCDateTime()),
    UniqueConstraint("claim_id", "kind"),
    Index("ix_casekit_claim_clocks_alert", "next_alert_at"),
)

# A shipper's claim windows by mode and carrier (casekit.domain.claims.parse_settings).
claim_settings = Table(
    "casekit_claim_settings",
    metadata,
    _fk("org_id", "casekit_organizations.id"),
    Column("rules", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    PrimaryKeyConstraint("org_id"),
)

# Live updates (casekit.query.live): what each user last read of a case, and who is
# writing on it now. Small rows, written by the pages, read by every poll.
read_markers = Table(
    "casekit_read_markers",
    metadata,
    _fk("user_id", "casekit_users.id", ondelete="CASCADE"),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    # The newest entry the user read (of those they may read); no foreign key,
    # like a report column: an entry is never deleted alone.
    Column("entry_id", Id, nullable=False),
    Column("read_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("user_id", "case_id"),
)

# The customer's own read markers: the portal's list marks a case with an entry meant
# for the customer newer than the one the customer last read.
customer_read_markers = Table(
    "casekit_customer_read_markers",
    metadata,
    _fk("customer_id", "casekit_customers.id", ondelete="CASCADE"),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    Column("entry_id", Id, nullable=False),
    Column("read_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("customer_id", "case_id"),
)

presence = Table(
    "casekit_presence",
    metadata,
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("user_id", "casekit_users.id", ondelete="CASCADE"),
    # The user's organization: only its staff see that the user is writing.
    Column("org_id", Id, nullable=False),
    Column("seen_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("case_id", "user_id"),
)

saved_views = Table(
    "casekit_saved_views",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    _fk("user_id", "casekit_users.id"),
    Column("name", _ident(100), nullable=False),
    Column("shared", Boolean(), nullable=False, default=False),
    Column("definition", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "name"),
    Index("ix_casekit_saved_views_org_shared", "org_id", "shared"),
)

# The list columns a user chose: ``view`` is "" for the built-in views, or
# "saved:<id>" for one saved view (a shared view's columns are each user's own).
column_choices = Table(
    "casekit_column_choices",
    metadata,
    _id(),
    _fk("user_id", "casekit_users.id"),
    Column("view", String(40), nullable=False),
    Column("columns", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "view"),
)

# -- canned replies -----------------------------------------------------------------

# An organization's ready answers (``user_id`` NULL) and each user's own (see
# casekit.domain.canned_replies); ``actions`` is their JSON.
canned_replies = Table(
    "casekit_canned_replies",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    _fk("user_id", "casekit_users.id", nullable=True),
    Column("title", String(100), nullable=False),
    Column("body", Text(), nullable=False),
    Column("audience", EnumText(Audience, 16), nullable=False),
    Column("actions", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_casekit_canned_replies_org_id_user_id", "org_id", "user_id"),
)

# Each use of a reply: inserted into a composer, or applied to a case (``applied``).
canned_reply_uses = Table(
    "casekit_canned_reply_uses",
    metadata,
    _id(),
    _fk("reply_id", "casekit_canned_replies.id", ondelete="CASCADE"),
    _fk("org_id", "casekit_organizations.id"),
    _fk("user_id", "casekit_users.id", nullable=True),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    Column("applied", Boolean(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=False),
    Index("ix_casekit_canned_reply_uses_org_id_used_at", "org_id", "used_at"),
    Index("ix_casekit_canned_reply_uses_reply_id", "reply_id"),
)

# -- notifications ------------------------------------------------------------------

outbox = Table(
    "casekit_outbox",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("entry_id", "casekit_entries.id", nullable=True),
    Column("event", String(32), nullable=False),
    Column("template", String(64), nullable=False),
    Column("recipient_kind", String(16), nullable=False),
    _fk("user_id", "casekit_users.id", nullable=True),
    _fk("customer_id", "casekit_customers.id", nullable=True),
    Column("email", String(EMAIL), nullable=False),
    Column("name", String(NAME), nullable=False, default=""),
    # The organization it is written for: its template overrides apply, its staff
    # see the delivery (Scope.delivery_clause) and hear if it fails.
    _fk("org_id", "casekit_organizations.id"),
    # The organization of whoever caused it.
    _fk("author_org_id", "casekit_organizations.id"),
    Column("actor", String(64), nullable=False),
    Column("old_value", String(KEY)),
    Column("new_value", String(KEY)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    # When a queued row is due; while one is being sent, when its claim lapses.
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    # While one is being sent, the token of the claim that holds it (Worker.claim):
    # only that claim renews it or records its outcome.
    Column("claim_token", String(32)),
    Column("sent_at", UTCDateTime()),
    Column("last_error", String(1000)),
    Index("ix_casekit_outbox_due", "status", "next_attempt_at", "id"),
    Index("ix_casekit_outbox_case", "case_id", "id"),
)

delivery_attempts = Table(
    "casekit_delivery_attempts",
    metadata,
    _id(),
    _fk("outbox_id", "casekit_outbox.id", ondelete="CASCADE"),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("ok", Boolean(), nullable=False),
    Column("error", String(1000)),
    Index("ix_casekit_delivery_attempts_outbox", "outbox_id", "id"),
)

subscriptions = Table(
    "casekit_subscriptions",
    metadata,
    _fk("user_id", "casekit_users.id", ondelete="CASCADE"),
    Column("event", String(32), nullable=False),
    Column("enabled", Boolean(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("user_id", "event"),
    Index("ix_casekit_subscriptions_event", "event", "enabled"),
)

collaborator_addresses = Table(
    "casekit_collaborator_addresses",
    metadata,
    _fk("shipper_org_id", "casekit_organizations.id"),
    _fk("carrier_org_id", "casekit_organizations.id"),
    Column("side", EnumText(Side, 16), nullable=False),
    Column("email", String(EMAIL), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    PrimaryKeyConstraint("shipper_org_id", "carrier_org_id", "side"),
    Index("ix_casekit_collaborator_addresses_carrier", "carrier_org_id"),
)

unsubscriptions = Table(
    "casekit_unsubscriptions",
    metadata,
    _id(),
    # Who: ``u<id>``, ``c<id>`` or ``a:<email>`` (a recipient's key).
    Column("recipient", String(EMAIL + 2), nullable=False),
    # One case; or, with ``case_id`` NULL, every case of the shipper ``org_id``.
    _fk("case_id", "casekit_cases.id", nullable=True, ondelete="CASCADE"),
    _fk("org_id", "casekit_organizations.id", nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_casekit_unsubscriptions_case", "case_id", "recipient"),
    Index("ix_casekit_unsubscriptions_org", "org_id", "recipient"),
)

mail_templates = Table(
    "casekit_mail_templates",
    metadata,
    _fk("org_id", "casekit_organizations.id"),
    Column("name", String(64), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("text", Text(), nullable=False),
    Column("html", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    PrimaryKeyConstraint("org_id", "name"),
)

# -- inbound mail -------------------------------------------------------------------

inbound_messages = Table(
    "casekit_inbound_messages",
    metadata,
    _id(),
    # "mid:<message-id>" or, for mail without one, "sha256:<hash of the raw bytes>":
    # the same message delivered twice is one row.
    Column("dedupe_key", String(400), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("message_id", String(300)),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("envelope_from", String(EMAIL)),
    Column("envelope_to", String(1000)),
    Column("from_address", String(EMAIL)),
    Column("subject", String(300), nullable=False, default=""),
    Column("size", BigInteger(), nullable=False),
    # The raw message in the attachment store; NULL once purged.
    Column("raw_key", String(KEY)),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(500)),
    Column("problems", Text()),
    _fk("case_id", "casekit_cases.id", nullable=True, ondelete="SET NULL"),
    _fk("entry_id", "casekit_entries.id", nullable=True, ondelete="SET NULL"),
    # Whose triage an unmatched message is in; NULL: the host's alone.
    _fk("org_id", "casekit_organizations.id", nullable=True),
    Column("handled_by", String(64)),
    Column("handled_at", UTCDateTime()),
    Index("ix_casekit_inbound_messages_triage", "outcome", "org_id", "id"),
    Index("ix_casekit_inbound_messages_received", "received_at"),
    Index("ix_casekit_inbound_messages_case", "case_id"),
)

case_addresses = Table(
    "casekit_case_addresses",
    metadata,
    Column("email", String(EMAIL), primary_key=True),
    _fk("org_id", "casekit_organizations.id"),
    Column("created_at", UTCDateTime(), nullable=False),
    # The type of the cases it opens; NULL: the inbound_case_type setting.
    Column("case_type", String(64), nullable=True),
    # The default owner of the address's side, a user of its organization.
    _fk("owner_user_id", "casekit_users.id", nullable=True),
    # An organization of the other role: the other party of the cases it opens.
    _fk("partner_org_id", "casekit_organizations.id", nullable=True),
    # What mail from unknown senders does: "open" a case or "triage".
    Column("unknown_senders", String(16), nullable=False, server_default="open"),
    Index("ix_casekit_case_addresses_org", "org_id"),
)

bouncing_addresses = Table(
    "casekit_bouncing_addresses",
    metadata,
    Column("email", String(EMAIL), primary_key=True),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    Column("bounces", Integer(), nullable=False),
    _fk("inbound_id", "casekit_inbound_messages.id", nullable=True, ondelete="SET NULL"),
)

# A provider webhook's signed token, kept while its signature is still fresh:
# a post whose token is here is a replay.
inbound_tokens = Table(
    "casekit_inbound_tokens",
    metadata,
    Column("provider", String(32), nullable=False),
    Column("token", _ident(KEY), nullable=False),
    # When the token's signature goes stale; the row may go after that.
    Column("expires_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("provider", "token"),
    Index("ix_casekit_inbound_tokens_expires", "expires_at"),
)

# The IMAP messages taken: one row per (mailbox, UIDVALIDITY, UID), written in
# the transaction that stores the inbound message, so a message is taken once
# across restarts (see casekit.mail.imap).
imap_uids = Table(
    "casekit_imap_uids",
    metadata,
    Column("mailbox", _ident(KEY), nullable=False),
    Column("uidvalidity", BigInteger(), nullable=False),
    Column("uid", BigInteger(), nullable=False),
    # The stored message; NULL when it was refused (too large) and only moved away.
    _fk("inbound_id", "casekit_inbound_messages.id", nullable=True, ondelete="SET NULL"),
    Column("taken_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("mailbox", "uidvalidity", "uid"),
)

# OAuth 2.0 access tokens (and rotated refresh tokens), encrypted with Fernet
# under the ``oauth_token_key`` setting; ``account`` is a hash, never a token.
oauth_tokens = Table(
    "casekit_oauth_tokens",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("access_token", Text(), nullable=False),
    Column("refresh_token", Text(), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The directory's audit trail: one row per changed field of an organization,
# user or customer, in the directory of ``org_id`` (see domain.directory.DirectoryChange).
directory_changes = Table(
    "casekit_directory_changes",
    metadata,
    _id(),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(KEY), nullable=False),
    _fk("org_id", "casekit_organizations.id"),
    Column("subject", String(16), nullable=False),
    Column("subject_id", Id, nullable=False),
    Column("change", String(32), nullable=False),
    Column("old_value", String(EMAIL), nullable=True),
    Column("new_value", String(EMAIL), nullable=True),
    Index("ix_casekit_directory_changes_org_id", "org_id", "id"),
)

api_keys = Table(
    "casekit_api_keys",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("name", String(100), nullable=False),
    Column("scope", EnumText(ApiScope, 16), nullable=False),
    # The token's non-secret part: how a presented token finds its key.
    Column("public_id", _ident(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(KEY), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", String(KEY)),
    # The key that created this one through the API: revoking it revokes this one.
    _fk("created_by_key_id", "casekit_api_keys.id", nullable=True),
    Index("ix_casekit_api_keys_org_id", "org_id"),
    Index("ix_casekit_api_keys_created_by_key_id", "created_by_key_id"),
)

shipment_events = Table(
    "casekit_shipment_events",
    metadata,
    _id(),
    _fk("shipment_id", "casekit_shipments.id", ondelete="CASCADE"),
    Column("status", String(32), nullable=False),
    Column("exception", String(32)),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("description", String(500), nullable=False, default=""),
    Column("location", String(NAME), nullable=False, default=""),
    Column("source", String(64), nullable=False, default=""),
    # The event's identity at its source (or a digest of its content): a
    # re-delivered event is recorded once.
    Column("event_key", _ident(KEY), nullable=False),
    UniqueConstraint("shipment_id", "event_key"),
    Index("ix_casekit_shipment_events_shipment_time", "shipment_id", "occurred_at"),
)

rules = Table(
    "casekit_rules",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("name", _ident(100), nullable=False),
    # The definition's tier (1 act now, 2 watch), kept here to list the rules by it.
    Column("tier", SmallInteger(), nullable=False, server_default="2"),
    Column("enabled", Boolean(), nullable=False, default=False),
    Column("definition", Text(), nullable=False),
    # Round-robin owners: how many cases the rule has handed out so far.
    Column("assigned", Integer(), nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "name"),
)

# The open case each rule holds per shipment: the primary key is what keeps
# a rule to one open case per shipment, whoever opens it concurrently.
rule_cases = Table(
    "casekit_rule_cases",
    metadata,
    _fk("rule_id", "casekit_rules.id", ondelete="CASCADE"),
    _fk("shipment_id", "casekit_shipments.id", ondelete="CASCADE"),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    Column("opened_at", UTCDateTime(), nullable=False),
    # The shipment's latest tracking update when the case opened: once the
    # case is solved, the rule opens another only after newer tracking news.
    Column("status_at", UTCDateTime()),
    PrimaryKeyConstraint("rule_id", "shipment_id"),
    Index("ix_casekit_rule_cases_shipment", "shipment_id"),
    Index("ix_casekit_rule_cases_case", "case_id"),
)

# -- service levels ----------------------------------------------------------------
# An organization's business calendars: its own (``partner_org_id`` 0) and one
# per partner organization where it keeps another for the cases with that
# partner. ``definition`` is the calendar's JSON form
# (:meth:`casekit.domain.calendar.BusinessCalendar.to_json`); ``share_clocks``
# on a partner's row shows the organization's clocks to that partner.
calendars = Table(
    "casekit_calendars",
    metadata,
    _fk("org_id", "casekit_organizations.id"),
    # No foreign key: 0 is the organization's own calendar.
    Column("partner_org_id", Id, nullable=False),
    Column("definition", Text(), nullable=False),
    Column("share_clocks", Boolean(), nullable=False, default=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(KEY), nullable=False),
    PrimaryKeyConstraint("org_id", "partner_org_id"),
)

# An organization's targets (service levels), tried in ``position`` order:
# the first whose conditions a case meets is the case's target for that side.
sla_targets = Table(
    "casekit_sla_targets",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("name", String(NAME), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("enabled", Boolean(), nullable=False, default=True),
    # The conditions as JSON: {"types": [...], "partners": [...], ...}; empty: every case.
    Column("conditions", Text(), nullable=False),
    Column("first_response_seconds", Integer()),
    Column("next_response_seconds", Integer()),
    Column("resolution_seconds", Integer()),
    Column("pause_when_waiting", Boolean(), nullable=False, default=False),
    Column("warn_before_seconds", Integer(), nullable=False),
    # What a breach does besides warning, as JSON: {"watchers": [ids], "hand_over_to": id}.
    Column("escalation", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(KEY), nullable=False),
    Index("ix_casekit_sla_targets_org", "org_id", "position"),
)

# The organizations whose open cases' clocks are being recomputed after their
# targets or calendars changed, and how far (the last case id done): a change
# recomputes what it can at once, the worker the rest (ServiceLevelService).
clock_recomputes = Table(
    "casekit_clock_recomputes",
    metadata,
    _fk("org_id", "casekit_organizations.id"),
    Column("after_case_id", Id, nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id"),
)

# One side's clocks on a case (casekit.services.clocks): recomputed from the
# timeline in the transaction of every change of the case. A running clock
# has ``due_at`` and ``warn_at``; ``next_alert_at`` is the earliest warning
# not yet sent (NULL: none owed), what the sweep reads.
clocks = Table(
    "casekit_clocks",
    metadata,
    _id(),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    _fk("org_id", "casekit_organizations.id"),
    Column("side", EnumText(Side, 16), nullable=False),
    Column("kind", String(16), nullable=False),
    # No foreign key: a target removed leaves its stopped clocks for the reports.
    Column("target_id", Id, nullable=False),
    Column("target_seconds", Integer(), nullable=False),
    Column("warn_before_seconds", Integer(), nullable=False),
    # The time zone of the calendar it counts in: what its times are shown in.
    Column("time_zone", String(64), nullable=False),
    # running, paused or stopped
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("stopped_at", UTCDateTime()),
    # Working seconds counted up to ``stopped_at``, or up to ``updated_at``.
    Column("elapsed_seconds", Integer(), nullable=False),
    Column("due_at", UTCDateTime()),
    Column("warn_at", UTCDateTime()),
    Column("breached_at", UTCDateTime()),
    Column("warned_at", UTCDateTime()),
    Column("breach_warned_at", UTCDateTime()),
    Column("next_alert_at", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("case_id", "org_id", "kind"),
    Index("ix_casekit_clocks_alert", "next_alert_at"),
    Index("ix_casekit_clocks_org_started", "org_id", "started_at"),
)

# -- webhooks ----------------------------------------------------------------------

webhooks = Table(
    "casekit_webhooks",
    metadata,
    _id(),
    _fk("org_id", "casekit_organizations.id"),
    Column("url", String(2000), nullable=False),
    # The event kinds it receives, comma-separated.
    Column("events", String(500), nullable=False),
    Column("description", String(NAME), nullable=False, default=""),
    # The signing secret: kept as is, for signing needs the secret itself.
    Column("secret", String(100), nullable=False),
    Column("active", Boolean(), nullable=False, default=True),
    Column("disabled_reason", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(KEY), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_casekit_webhooks_org_id", "org_id"),
)

webhook_outbox = Table(
    "casekit_webhook_outbox",
    metadata,
    _id(),
    _fk("webhook_id", "casekit_webhooks.id", ondelete="CASCADE"),
    _fk("case_id", "casekit_cases.id", ondelete="CASCADE"),
    Column("event", String(32), nullable=False),
    # The JSON body, built in the change's transaction as the organization sees it.
    Column("payload", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("claim_token", String(32)),
    Column("sent_at", UTCDateTime()),
    Column("last_error", String(1000)),
    Index("ix_casekit_webhook_outbox_due", "status", "next_attempt_at", "id"),
    Index("ix_casekit_webhook_outbox_webhook", "webhook_id", "id"),
)

webhook_attempts = Table(
    "casekit_webhook_attempts",
    metadata,
    _id(),
    _fk("delivery_id", "casekit_webhook_outbox.id", ondelete="CASCADE"),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("ok", Boolean(), nullable=False),
    Column("status_code", Integer()),
    Column("error", String(1000)),
    Index("ix_casekit_webhook_attempts_delivery", "delivery_id", "id"),
)

# -- network benchmarks (casekit.services.network) ------------------------------------

# The organizations that opted out of network benchmarks: they neither contribute nor see.
network_opt_outs = Table(
    "casekit_network_opt_outs",
    metadata,
    Column(
        "org_id",
        Id,
        ForeignKey("casekit_organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("opted_out_at", UTCDateTime(), nullable=False),
    Column("opted_out_by", String(64), nullable=False),
)

# Each computed period (a month, YYYY-MM): when the job that wrote its figures began
# reading the cases (``as_of``: a run that read earlier never writes over it).
network_periods = Table(
    "casekit_network_periods",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("as_of", UTCDateTime(), nullable=True),
    Column("computed_at", UTCDateTime(), nullable=True),
    Column("figures", Integer(), nullable=True),
)

# The job's figures: an organization's own (org_id) and the network's (org_id NULL;
# value and cases NULL when the disclosure rules suppress it). What requests read.
network_figures = Table(
    "casekit_network_figures",
    metadata,
    _id(),
    Column("period", String(7), nullable=False),
    Column("side", String(16), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("case_type", String(64), nullable=False),
    _fk("org_id", "casekit_organizations.id", nullable=True, ondelete="CASCADE"),
    _fk("partner_org_id", "casekit_organizations.id", nullable=True, ondelete="CASCADE"),
    Column("value", Double(), nullable=True),
    Column("cases", Integer(), nullable=True),
    Column("organizations", Integer(), nullable=True),
    Column("suppressed", String(32), nullable=True),
    Index("ix_casekit_network_figures_period", "period", "side", "org_id"),
    Index("ix_casekit_network_figures_org", "org_id"),
    Index("ix_casekit_network_figures_partner", "partner_org_id"),
)

# With a read replica: where each actor's last write ended on the primary (its WAL
# position as a number), so every process keeps their reads on the primary until the
# replica has replayed it (casekit.store.replica, replica_read_your_writes).
write_positions = Table(
    "casekit_write_positions",
    metadata,
    Column("actor_key", String(96), primary_key=True),
    Column("position", BigInteger(), nullable=False),
    Column("written_at", UTCDateTime(), nullable=False),
)
