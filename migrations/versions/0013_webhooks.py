"""Outgoing webhooks: a user's endpoints, and one delivery per piece of news per endpoint
(its id the receiver's idempotency id, its body fixed when made).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import openticket.store.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PENDING = sa.text("status IN ('pending')")


def upgrade() -> None:
    op.create_table(
        'notify_webhooks',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('secret', sa.String(length=80), nullable=False),
        sa.Column('events', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_reason', sa.Text(), nullable=True),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_webhooks')),
    )
    op.create_index(op.f('ix_notify_webhooks_user_id'), 'notify_webhooks', ['user_id'])
    op.create_table(
        'notify_webhook_deliveries',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('webhook_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.Column('delivered_at', openticket.store.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_webhook_deliveries')),
    )
    op.create_index(
        'ix_notify_webhook_deliveries_webhook_id_created_at',
        'notify_webhook_deliveries',
        ['webhook_id', 'created_at'],
    )
    op.create_index(
        'ix_notify_webhook_deliveries_due',
        'notify_webhook_deliveries',
        ['next_attempt_at'],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_table('notify_webhook_deliveries')
    op.drop_index(op.f('ix_notify_webhooks_user_id'), table_name='notify_webhooks')
    op.drop_table('notify_webhooks')
