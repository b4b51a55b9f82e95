"""case addresses for both sides: default case type, owner, partner, unknown senders

``casekit_case_addresses`` gains what a case address does with the mail it
takes: ``case_type`` (NULL: the ``inbound_case_type`` setting),
``owner_user_id`` (the default owner of the address's side), ``partner_org_id``
(an organization of the other role) and ``unknown_senders`` (``open`` or
``triage``). The existing rows, all shippers', keep today's behaviour:
``open``, no default type, owner or partner.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # A batch: SQLite cannot add a foreign key to a table in place. Nothing
    # refers to this small table, so copying it on SQLite cascades nowhere.
    with op.batch_alter_table('casekit_case_addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('owner_user_id', ID, nullable=True))
        batch_op.add_column(sa.Column('partner_org_id', ID, nullable=True))
        batch_op.add_column(
            sa.Column(
                'unknown_senders', sa.String(length=16), nullable=False, server_default='open'
            )
        )
        batch_op.create_foreign_key(
            op.f('fk_casekit_case_addresses_owner_user_id_casekit_users'),
            'casekit_users',
            ['owner_user_id'],
            ['id'],
        )
        batch_op.create_foreign_key(
            op.f('fk_casekit_case_addresses_partner_org_id_casekit_organizations'),
            'casekit_organizations',
            ['partner_org_id'],
            ['id'],
        )


def downgrade() -> None:
    with op.batch_alter_table('casekit_case_addresses', schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f('fk_casekit_case_addresses_partner_org_id_casekit_organizations'),
            type_='foreignkey',
        )
        batch_op.drop_constraint(
            op.f('fk_casekit_case_addresses_owner_user_id_casekit_users'), type_='foreignkey'
        )
        batch_op.drop_column('unknown_senders')
        batch_op.drop_column('partner_org_id')
        batch_op.drop_column('owner_user_id')
        batch_op.drop_column('case_type')
