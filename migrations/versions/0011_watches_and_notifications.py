"""The notify domain: saved searches (watches) and the listings each has announced, each
user's notifications and how far they have read them, and the parties of each order (whom its
news is for; filled in from the orders made before).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import openticket.store.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notify_watches',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('search', sa.Text(), nullable=False),
        sa.Column('max_price_minor', sa.BigInteger(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_watches')),
    )
    op.create_index(op.f('ix_notify_watches_user_id'), 'notify_watches', ['user_id'])
    op.create_table(
        'notify_watch_hits',
        sa.Column('watch_id', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', sa.String(length=32), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            'watch_id', 'ticket_id', 'round', name=op.f('pk_notify_watch_hits')
        ),
    )
    op.create_table(
        'notify_notifications',
        sa.Column(
            'seq',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('number', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_notify_notifications')),
        sa.UniqueConstraint('id', name=op.f('uq_notify_notifications_id')),
        sa.UniqueConstraint('source', 'user_id', name='uq_notify_notifications_source_user'),
        sa.UniqueConstraint('user_id', 'number', name='uq_notify_notifications_user_number'),
    )
    op.create_table(
        'notify_readers',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('seen_seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notify_readers')),
    )
    op.create_table(
        'notify_orders',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('buyer_id', sa.String(length=32), nullable=False),
        sa.Column('seller_id', sa.String(length=32), nullable=True),
        sa.Column('ticket_id', sa.String(length=32), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_orders')),
    )
    # The orders made before: their later news (an expiry, a sale, a payout) is for someone.
    op.execute(
        "INSERT INTO notify_orders (id, buyer_id, seller_id, ticket_id, title) "
        "SELECT id, user_id, seller_id, ticket_id, ticket_title FROM orders"
    )


def downgrade() -> None:
    op.drop_table('notify_orders')
    op.drop_table('notify_readers')
    op.drop_table('notify_notifications')
    op.drop_table('notify_watch_hits')
    op.drop_index(op.f('ix_notify_watches_user_id'), table_name='notify_watches')
    op.drop_table('notify_watches')
