"""Scaling out without a global write lock: each outbox row records the transaction that wrote
it (PostgreSQL), so readers of the log never skip a row that commits after a later one; sign-in
and sign-up throttling windows kept in the database, shared by every server

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(
            sa.Column(
                'txid',
                sa.BigInteger(),
                nullable=True,
                # The writing transaction's id, taken by the insert itself (xid8, 64-bit).
                server_default=sa.text('(pg_current_xact_id()::text)::bigint') if postgres else None,
            )
        )
    # Rows written before take this migration's transaction id (PostgreSQL evaluates the
    # default for each of them): lower than any later writer's, so they stay first.
    op.create_index('ix_outbox_txid_seq', 'outbox', ['txid', 'seq'])
    op.create_table(
        'throttle_hits',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_throttle_hits')),
    )
    op.create_index('ix_throttle_hits_key_expires_at', 'throttle_hits', ['key', 'expires_at'])


def downgrade() -> None:
    op.drop_index('ix_throttle_hits_key_expires_at', table_name='throttle_hits')
    op.drop_table('throttle_hits')
    op.drop_index('ix_outbox_txid_seq', table_name='outbox')
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('txid')
