"""the customer audience: shared entries, and the latest message the carrier reads

Entries gain ``shared_at`` (when the shipper shared a ``customer`` entry with
the carrier). Cases gain ``carrier_latest_message_*``: the latest message the
carrier reads, which its lists and views use instead of ``latest_message_*``
(which may now be a message between the shipper and its customer).
Participants gain ``org_id``: the organization whose staff Cc'd an address,
which hears what that organization reads; the existing ones stay NULL, read
as the shipper's, as before.

Existing entries keep their audience: before this revision no entry was for
``customer``, so every entry stays visible to exactly who read it before, and
the carrier's latest message is the case's latest message.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

CARRIER_LIST = 'ix_casekit_cases_carrier_list'
LIST_HEAD = ['carrier_org_id', 'created_at', 'id', 'status', 'carrier_owner_id']

# Plain ALTER TABLE, never a batch: on SQLite a batch would copy the cases into
# a new table and drop the old one, and the drop would cascade to every entry.


def upgrade() -> None:
    op.add_column(
        'casekit_entries',
        sa.Column('shared_at', casekit.store.types.UTCDateTime(), nullable=True),
    )
    op.add_column(
        'casekit_cases',
        sa.Column('carrier_latest_message_at', casekit.store.types.UTCDateTime(), nullable=True),
    )
    op.add_column('casekit_cases', sa.Column('carrier_latest_message_user_id', ID, nullable=True))
    op.add_column('casekit_cases', sa.Column('carrier_latest_message_org_id', ID, nullable=True))
    op.add_column('casekit_participants', sa.Column('org_id', ID, nullable=True))
    # Every message so far was for partners, everyone or internal: the latest
    # one the carrier reads is the latest that was not internal.
    op.execute(
        'UPDATE casekit_cases SET carrier_latest_message_at = latest_message_at, '
        'carrier_latest_message_user_id = latest_message_user_id, '
        'carrier_latest_message_org_id = latest_message_org_id'
    )
    op.drop_index(CARRIER_LIST, table_name='casekit_cases')
    op.create_index(
        CARRIER_LIST,
        'casekit_cases',
        [*LIST_HEAD, 'carrier_latest_message_org_id', 'carrier_latest_message_at', 'shipment_id'],
        unique=False,
    )


def downgrade() -> None:
    # Revision 0013 knows no ``customer`` audience, and must not show the
    # shipper's conversation with its customer to the carrier: an entry the
    # shipper shared becomes ``everyone``, any other one an ``internal`` note
    # of the shipper (which the customer then no longer reads).
    op.execute(
        "UPDATE casekit_entries SET audience = 'everyone' "
        "WHERE audience = 'customer' AND shared_at IS NOT NULL"
    )
    op.execute(
        "UPDATE casekit_entries SET audience = 'internal', org_id = ("
        "SELECT shipper_org_id FROM casekit_cases WHERE casekit_cases.id = casekit_entries.case_id"
        ") WHERE audience = 'customer'"
    )
    op.drop_index(CARRIER_LIST, table_name='casekit_cases')
    op.create_index(
        CARRIER_LIST,
        'casekit_cases',
        [*LIST_HEAD, 'latest_message_org_id', 'latest_message_at', 'shipment_id'],
        unique=False,
    )
    op.drop_column('casekit_participants', 'org_id')
    op.drop_column('casekit_cases', 'carrier_latest_message_org_id')
    op.drop_column('casekit_cases', 'carrier_latest_message_user_id')
    op.drop_column('casekit_cases', 'carrier_latest_message_at')
    op.drop_column('casekit_entries', 'shared_at')
