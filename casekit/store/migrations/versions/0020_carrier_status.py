"""the carrier's own status and last update

Cases gain ``carrier_status`` and ``carrier_updated_at``: the status and the
last update as the case's carrier reads them, which the shipper's
conversation with its customer no longer moves (a customer's message reopens
a solved case for the shipper only). Existing cases get the status as the
carrier read it before (``reply_received`` and ``waiting`` read as
``open``) and their last update. The carrier's indexes hold its own status
instead of the shipper's.

Addresses Cc'd before revision 0014 were all kept as the shipper's
(``casekit_participants.org_id`` NULL). Those the carrier's staff added are
now the carrier's: the address was written in the same change, at the same
instant, as the message that Cc'd it, so an address whose case has, at that
instant, a message by the case's carrier and no message by anyone else is
the carrier's. Any other stays the shipper's (a customer's, the host's, an
inbound sender's, or one whose message cannot be told apart). Downgrading
keeps them: revision 0017 reads ``org_id`` the same way.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# Each carrier index: its columns, with ``status`` where the carrier's status goes.
CARRIER_INDEXES = {
    'ix_casekit_cases_carrier_list': [
        'carrier_org_id', 'created_at', 'id', 'status', 'carrier_owner_id',
        'carrier_latest_message_org_id', 'carrier_latest_message_at', 'shipment_id',
    ],
    'ix_casekit_cases_carrier_backlog': [
        'carrier_org_id', 'status', 'type', 'source', 'carrier_owner_id', 'shipper_org_id',
        'created_at',
    ],
    'ix_casekit_cases_carrier_opened': [
        'carrier_org_id', 'created_at', 'type', 'status', 'source', 'shipper_org_id',
        'carrier_owner_id', 'carrier_first_response_at', 'reopened_at',
    ],
    'ix_casekit_cases_carrier_active': [
        'carrier_org_id', 'status', 'brand', 'carrier_other_side_message_at',
    ],
}

# The messages on a participant's case at the instant it was added.
_MESSAGES_THEN = (
    "SELECT 1 FROM casekit_entries e JOIN casekit_cases c ON c.id = e.case_id "
    "WHERE e.case_id = casekit_participants.case_id AND e.kind = 'message' "
    "AND e.created_at = casekit_participants.created_at"
)

# Plain ALTER TABLE, never a batch: on SQLite a batch would copy the cases into
# a new table and drop the old one, and the drop would cascade to every entry.


def _recreate_indexes(status: str) -> None:
    for name, columns in CARRIER_INDEXES.items():
        op.drop_index(name, table_name='casekit_cases')
        op.create_index(
            name,
            'casekit_cases',
            [status if column == 'status' else column for column in columns],
            unique=False,
        )


def upgrade() -> None:
    op.add_column('casekit_cases', sa.Column('carrier_status', sa.String(length=16), nullable=True))
    op.add_column(
        'casekit_cases',
        sa.Column('carrier_updated_at', casekit.store.types.UTCDateTime(), nullable=True),
    )
    op.execute(
        "UPDATE casekit_cases SET carrier_status = CASE "
        "WHEN status IN ('reply_received', 'waiting') THEN 'open' ELSE status END, "
        "carrier_updated_at = updated_at"
    )
    op.execute(
        "UPDATE casekit_participants SET org_id = ("
        "SELECT carrier_org_id FROM casekit_cases WHERE casekit_cases.id = casekit_participants.case_id"
        ") WHERE email IS NOT NULL AND org_id IS NULL "
        "AND EXISTS (" + _MESSAGES_THEN + " AND e.org_id = c.carrier_org_id) "
        "AND NOT EXISTS (" + _MESSAGES_THEN + " AND (e.org_id IS NULL OR e.org_id <> c.carrier_org_id))"
    )
    _recreate_indexes('carrier_status')


def downgrade() -> None:
    _recreate_indexes('status')
    op.drop_column('casekit_cases', 'carrier_updated_at')
    op.drop_column('casekit_cases', 'carrier_status')
