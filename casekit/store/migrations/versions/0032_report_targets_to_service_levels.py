"""report targets become service levels

Each organization's report target of a case type (``casekit_report_targets``)
becomes a service level of its own (``casekit_sla_targets``): named after the
case type, its only condition that type, its first-response and resolution
times the report target's, warning an hour before a breach, tried before the
organization's other targets (which move down). The report targets' table goes. The times were
24-hour elapsed time; they are now working time of the organization's
calendar (every hour until it sets one). No clocks are written here: the
clocks of existing cases come from ``kit.service_levels.recompute``.

Downgrade: every enabled target the old table can hold in full (its only
condition one case type, no next-response time, no pause, no escalation;
the first of each type) goes back to it, and its clocks go (with the due
times they gave their cases).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-10
"""

import json
from typing import Any

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

#: The built-in case types' labels when this revision was written (a type a
#: plugin added is named by its code).
LABELS = {
    'general_status_update': 'General Status Update',
    'where_is_my_order': 'Where Is My Order',
    'delivery_scheduling': 'Delivery Scheduling',
    'osd_damaged': 'OS&D – Damaged',  # noqa: RUF001
    'osd_shortage': 'OS&D – Shortage',  # noqa: RUF001
    'lost': 'Lost',
    'return_to_sender': 'Return to Sender',
    'refused_by_receiver': 'Refused by Receiver',
    'address_correction': 'Address Correction',
    'cancel': 'Cancel',
    'customer_feedback': 'Customer Feedback',
    'other': 'Other',
}
WARN_BEFORE = 3600

report_targets = sa.table(
    'casekit_report_targets',
    sa.column('org_id', Id),
    sa.column('case_type', sa.String(64)),
    sa.column('first_response_seconds', sa.Integer()),
    sa.column('resolution_seconds', sa.Integer()),
    sa.column('updated_at', casekit.store.types.UTCDateTime()),
    sa.column('updated_by', sa.String(64)),
)
sla_targets = sa.table(
    'casekit_sla_targets',
    sa.column('id', Id),
    sa.column('org_id', Id),
    sa.column('name', sa.String(200)),
    sa.column('position', sa.Integer()),
    sa.column('enabled', sa.Boolean()),
    sa.column('conditions', sa.Text()),
    sa.column('first_response_seconds', sa.Integer()),
    sa.column('next_response_seconds', sa.Integer()),
    sa.column('resolution_seconds', sa.Integer()),
    sa.column('pause_when_waiting', sa.Boolean()),
    sa.column('warn_before_seconds', sa.Integer()),
    sa.column('escalation', sa.Text()),
    sa.column('updated_at', casekit.store.types.UTCDateTime()),
    sa.column('updated_by', sa.String(200)),
)
clocks = sa.table(
    'casekit_clocks',
    sa.column('id', Id),
    sa.column('case_id', Id),
    sa.column('side', sa.String(16)),
    sa.column('target_id', Id),
)
cases = sa.table(
    'casekit_cases',
    sa.column('id', Id),
    sa.column('shipper_due_at', casekit.store.types.UTCDateTime()),
    sa.column('shipper_warn_at', casekit.store.types.UTCDateTime()),
    sa.column('carrier_due_at', casekit.store.types.UTCDateTime()),
    sa.column('carrier_warn_at', casekit.store.types.UTCDateTime()),
)


def upgrade() -> None:
    conn = op.get_bind()
    r, t = report_targets.c, sla_targets.c
    rows = conn.execute(sa.select(report_targets).order_by(r.org_id, r.case_type)).all()
    added: list[dict[str, Any]] = []
    count: dict[int, int] = {}
    for row in rows:
        if row.first_response_seconds is None and row.resolution_seconds is None:
            continue
        position = count.get(row.org_id, 0)
        count[row.org_id] = position + 1
        added.append(
            {
                'org_id': row.org_id,
                'name': LABELS.get(row.case_type, row.case_type),
                'position': position,
                'enabled': True,
                'conditions': json.dumps({'types': [row.case_type]}, sort_keys=True),
                'first_response_seconds': row.first_response_seconds,
                'next_response_seconds': None,
                'resolution_seconds': row.resolution_seconds,
                'pause_when_waiting': False,
                'warn_before_seconds': WARN_BEFORE,
                'escalation': '{}',
                'updated_at': row.updated_at,
                'updated_by': row.updated_by,
            }
        )
    # A target of one case type goes before the organization's others, which
    # would otherwise take its cases.
    for org_id, n in count.items():
        conn.execute(
            sla_targets.update().where(t.org_id == org_id).values(position=t.position + n)
        )
    if added:
        conn.execute(sla_targets.insert(), added)
    op.drop_table('casekit_report_targets')


def _type_of(conditions: str) -> str | None:
    found = json.loads(conditions or '{}')
    types = found.get('types') or []
    if set(k for k, v in found.items() if v) != {'types'} or len(types) != 1:
        return None
    return str(types[0])


def downgrade() -> None:
    op.create_table(
        'casekit_report_targets',
        sa.Column('org_id', Id, nullable=False),
        sa.Column('case_type', sa.String(length=64), nullable=False),
        sa.Column('first_response_seconds', sa.Integer(), nullable=True),
        sa.Column('resolution_seconds', sa.Integer(), nullable=True),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_report_targets_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('org_id', 'case_type', name=op.f('pk_casekit_report_targets')),
    )
    conn = op.get_bind()
    t = sla_targets.c
    rows = conn.execute(
        sa.select(sla_targets)
        .where(
            t.enabled.is_(True),
            t.next_response_seconds.is_(None),
            t.pause_when_waiting.is_(False),
            sa.or_(t.first_response_seconds.is_not(None), t.resolution_seconds.is_not(None)),
        )
        .order_by(t.org_id, t.position, t.id)
    ).all()
    back: dict[tuple[int, str], Any] = {}
    for row in rows:
        code = _type_of(row.conditions)
        if code is None or json.loads(row.escalation or '{}') or (row.org_id, code) in back:
            continue
        back[(row.org_id, code)] = row
    if not back:
        return
    conn.execute(
        report_targets.insert(),
        [
            {
                'org_id': org_id,
                'case_type': code,
                'first_response_seconds': row.first_response_seconds,
                'resolution_seconds': row.resolution_seconds,
                'updated_at': row.updated_at,
                'updated_by': row.updated_by[:64],
            }
            for (org_id, code), row in back.items()
        ],
    )
    ids = sorted(row.id for row in back.values())
    k = clocks.c
    for side in ('shipper', 'carrier'):
        counted = sa.select(k.case_id).where(k.target_id.in_(ids), k.side == side)
        conn.execute(
            cases.update()
            .where(cases.c.id.in_(counted))
            .values({f'{side}_due_at': None, f'{side}_warn_at': None})
        )
    conn.execute(clocks.delete().where(k.target_id.in_(ids)))
    conn.execute(sla_targets.delete().where(t.id.in_(ids)))
