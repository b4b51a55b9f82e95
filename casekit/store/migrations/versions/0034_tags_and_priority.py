"""tags and priority

``casekit_tags`` holds each organization's own tag list (name, colour,
archived or not); ``casekit_case_tags`` the tags of that list on each case,
with the tag's organization, so that every read names the reader's. Cases
gain ``priority``, the rank of the priority both sides share (1 low,
2 normal, 3 high, 4 urgent): every case stored before this revision is
normal.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_tags',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('colour', sa.String(length=16), nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('archived_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_tags_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_tags')),
        sa.UniqueConstraint('org_id', 'name', name=op.f('uq_casekit_tags_org_id_name')),
    )
    op.create_table(
        'casekit_case_tags',
        sa.Column('case_id', Id, nullable=False),
        sa.Column('tag_id', Id, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_case_tags_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['tag_id'],
            ['casekit_tags.id'],
            name=op.f('fk_casekit_case_tags_tag_id_casekit_tags'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_case_tags_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('case_id', 'tag_id', name=op.f('pk_casekit_case_tags')),
    )
    op.create_index('ix_casekit_case_tags_tag', 'casekit_case_tags', ['tag_id', 'case_id'])
    op.add_column(
        'casekit_cases',
        sa.Column('priority', sa.SmallInteger(), nullable=False, server_default='2'),
    )


def downgrade() -> None:
    # Plain ALTER TABLE, not a batch (see 0029): SQLite drops a column no index names.
    op.drop_column('casekit_cases', 'priority')
    # The table takes its index with it (MariaDB refuses to drop an index a foreign
    # key needs on its own).
    op.drop_table('casekit_case_tags')
    op.drop_table('casekit_tags')
