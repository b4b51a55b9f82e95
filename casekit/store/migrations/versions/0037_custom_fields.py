"""custom fields

``casekit_custom_fields`` holds each organization's own list of typed
fields (key, label, kind, visibility, choices and the case types that
require it, as JSON arrays in text); ``casekit_case_field_values`` their
values on cases: one row a value (one a chosen option of a multi-choice
field) with a column per type, each indexed with its field, so that no
field needs a migration of its own and a filter compares each type as
itself on every database.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_custom_fields',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column(
            'key',
            sa.String(length=40).with_variant(
                sa.String(length=40, collation='utf8mb4_bin'), 'mysql', 'mariadb'
            ),
            nullable=False,
        ),
        sa.Column('label', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('visibility', sa.String(length=16), nullable=False),
        sa.Column('choices', sa.Text(), nullable=False),
        sa.Column('required_for', sa.Text(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('archived_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_custom_fields_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_custom_fields')),
        sa.UniqueConstraint('org_id', 'key', name=op.f('uq_casekit_custom_fields_org_id_key')),
    )
    op.create_table(
        'casekit_case_field_values',
        sa.Column('case_id', Id, nullable=False),
        sa.Column('field_id', Id, nullable=False),
        sa.Column('item', sa.SmallInteger(), nullable=False),
        sa.Column('text_value', sa.String(length=500), nullable=True),
        sa.Column('number_value', sa.Double(), nullable=True),
        sa.Column('date_value', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_case_field_values_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['field_id'],
            ['casekit_custom_fields.id'],
            name=op.f('fk_casekit_case_field_values_field_id_casekit_custom_fields'),
        ),
        sa.PrimaryKeyConstraint(
            'case_id', 'field_id', 'item', name=op.f('pk_casekit_case_field_values')
        ),
    )
    for kind in ('text', 'number', 'date'):
        op.create_index(
            f'ix_casekit_case_field_values_{kind}',
            'casekit_case_field_values',
            ['field_id', f'{kind}_value'],
        )


def downgrade() -> None:
    # The table's indexes go with it (MariaDB refuses to drop one its foreign key uses).
    op.drop_table('casekit_case_field_values')
    op.drop_table('casekit_custom_fields')
