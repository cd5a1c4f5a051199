"""Hardening: tokens carry their user's epoch (signing out everywhere moves it on); the
event log's positions are 64-bit on PostgreSQL (SQLite's rowid is already)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op


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


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER SEQUENCE outbox_seq_seq AS integer')
        op.alter_column('outbox', 'seq', type_=sa.Integer(), existing_type=sa.BigInteger())
    with op.batch_alter_table('auth_users') as batch_op:
        batch_op.drop_column('token_epoch')
