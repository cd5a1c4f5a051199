"""Orders whose window passed show as `expired` (they were `cancelled`, like a buyer's
cancel); users get an optional display name

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

CHUNK = 500


def _expired_order_ids(conn: sa.Connection) -> list[str]:
    """The orders an expiry cancelled: their `order:cancelled` event says so."""
    rows = conn.execute(sa.text("SELECT data FROM outbox WHERE subject = 'order:cancelled'"))
    found = []
    for (data,) in rows:
        payload = json.loads(data) if isinstance(data, str | bytes) else data
        if payload.get('reason') == 'expired':
            found.append(payload['id'])
    return found


def upgrade() -> None:
    conn = op.get_bind()
    ids = _expired_order_ids(conn)
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            sa.text(
                "UPDATE orders SET status = 'expired' WHERE status = 'cancelled' AND id IN :ids"
            ).bindparams(sa.bindparam('ids', expanding=True)),
            {'ids': ids[start : start + CHUNK]},
        )
    with op.batch_alter_table('auth_users') as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_users') as batch_op:
        batch_op.drop_column('display_name')
    op.execute("UPDATE orders SET status = 'cancelled' WHERE status = 'expired'")
