"""Waitlists: buyers in line for a reserved ticket, in the order they joined, and the offer
each was made.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import openticket.store.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('waiting', 'offered')")
OFFERED = sa.text("status IN ('offered')")


def upgrade() -> None:
    op.create_table(
        'waitlist_entries',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', sa.String(length=32), nullable=False),
        sa.Column('ticket_round', sa.Integer(), nullable=False),
        sa.Column('ticket_title', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('order_id', sa.String(length=32), nullable=True),
        sa.Column('offer_seconds', sa.Integer(), nullable=False),
        sa.Column('joined_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    )
    op.create_index(
        'uq_waitlist_entries_line',
        'waitlist_entries',
        ['ticket_id', 'ticket_round', 'line'],
        unique=True,
    )
    op.create_index(
        'ix_waitlist_entries_user_id_joined_at', 'waitlist_entries', ['user_id', 'joined_at']
    )
    op.create_index('ix_waitlist_entries_order_id', 'waitlist_entries', ['order_id'])
    op.create_index(
        'uq_waitlist_entries_active_user',
        'waitlist_entries',
        ['ticket_id', 'ticket_round', 'user_id'],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        'uq_waitlist_entries_offer',
        'waitlist_entries',
        ['ticket_id', 'ticket_round'],
        unique=True,
        sqlite_where=OFFERED,
        postgresql_where=OFFERED,
    )


def downgrade() -> None:
    op.drop_table('waitlist_entries')
