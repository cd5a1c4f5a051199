"""Hardening: tokens carry their user's epoch (signing out everywhere moves it on); the
event log's positions are 64-bit on PostgreSQL (SQLite's rowid is already); payment attempts
are leased to the process charging them (an abandoned one is driven again), and orders know
which attempt they wait for; an idempotency key can be claimed before its answer is known

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from openticket.store.db import UTCDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auth_users') as batch_op:
        batch_op.add_column(
            sa.Column('token_epoch', sa.Integer(), server_default='0', nullable=False)
        )
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('outbox', 'seq', type_=sa.BigInteger(), existing_type=sa.Integer())
        op.execute('ALTER SEQUENCE outbox_seq_seq AS bigint')

    with op.batch_alter_table('payments') as batch_op:
        batch_op.add_column(sa.Column('lease_until', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('retry_at', UTCDateTime(), nullable=True))
    # Attempts an earlier version left pending are abandoned: driven again at once.
    op.execute("UPDATE payments SET lease_until = updated_at WHERE status = 'pending'")
    op.create_index(
        'ix_payments_pending_lease_until', 'payments', ['lease_until'], unique=False,
        sqlite_where=sa.text("status IN ('pending')"),
        postgresql_where=sa.text("status IN ('pending')"),
    )

    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(
            sa.Column('payment_attempt', sa.Integer(), server_default='0', nullable=False)
        )

    with op.batch_alter_table('idempotency_keys') as batch_op:
        batch_op.alter_column('response', existing_type=sa.JSON(), nullable=True)
        batch_op.add_column(sa.Column('locked_until', UTCDateTime(), nullable=True))

    # An import is one transaction now: its rows share a created_at, and the listing order
    # (created_at, id) must come from the index, not a sort of every one of them.
    op.create_index(
        'ix_tickets_status_created_at_id', 'tickets', ['status', 'created_at', 'id'],
        unique=False,
    )
    op.drop_index('ix_tickets_status_created_at', table_name='tickets')


def downgrade() -> None:
    op.create_index(
        'ix_tickets_status_created_at', 'tickets', ['status', 'created_at'], unique=False
    )
    op.drop_index('ix_tickets_status_created_at_id', table_name='tickets')
    op.execute("DELETE FROM idempotency_keys WHERE response IS NULL")
    with op.batch_alter_table('idempotency_keys') as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.alter_column('response', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('payment_attempt')
    op.drop_index('ix_payments_pending_lease_until', table_name='payments')
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('lease_until')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER SEQUENCE outbox_seq_seq AS integer')
        op.alter_column('outbox', 'seq', type_=sa.Integer(), existing_type=sa.BigInteger())
    with op.batch_alter_table('auth_users') as batch_op:
        batch_op.drop_column('token_epoch')
