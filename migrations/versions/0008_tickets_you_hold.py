"""Tickets you hold: who holds each sold ticket (with its code serial), check-in staff, the
chain of transfers and the code signing keys; a ticket's listing round, so that the orders
domain keeps one live order per listing (a resale is a new round)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import openticket.store.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

LIVE = "status IN ('created', 'awaiting:payment', 'complete')"


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('orders_tickets') as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(
            sa.Column('on_sale', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(
            sa.Column('ticket_round', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.drop_index('uq_orders_live_ticket')
        batch_op.create_index(
            'uq_orders_live_ticket_round',
            ['ticket_id', 'ticket_round'],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
    op.create_table(
        'ticket_holdings',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('holder_id', sa.String(length=32), nullable=False),
        sa.Column('issuer_id', sa.String(length=32), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('paid_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('basis_minor', sa.BigInteger(), nullable=False),
        sa.Column('order_id', sa.String(length=32), nullable=True),
        sa.Column('acquired_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.Column('checked_in_at', openticket.store.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_holdings')),
    )
    op.create_index(
        op.f('ix_ticket_holdings_holder_id'), 'ticket_holdings', ['holder_id'], unique=False
    )
    op.create_table(
        'ticket_checkin_staff',
        sa.Column('issuer_id', sa.String(length=32), nullable=False),
        sa.Column('staff_id', sa.String(length=32), nullable=False),
        sa.Column('added_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('issuer_id', 'staff_id', name=op.f('pk_ticket_checkin_staff')),
    )
    op.create_table(
        'ticket_transfers',
        sa.Column(
            'id',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column('ticket_id', sa.String(length=32), nullable=False),
        sa.Column('from_id', sa.String(length=32), nullable=False),
        sa.Column('to_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('price_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('order_id', sa.String(length=32), nullable=True),
        sa.Column('at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_transfers')),
    )
    for column in ('ticket_id', 'from_id', 'to_id'):
        op.create_index(
            op.f(f'ix_ticket_transfers_{column}'), 'ticket_transfers', [column], unique=False
        )
    op.create_table(
        'ticket_code_keys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('secret', sa.String(length=128), nullable=False),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_code_keys')),
    )
    # Tickets bought before this version: their buyers hold them (holder 1, bought at the
    # order's price, from the listing's seller).
    for statement in (
        """INSERT INTO ticket_holdings (id, holder_id, issuer_id, serial, paid_minor, currency,
                                        basis_minor, order_id, acquired_at, checked_in_at)
           SELECT o.ticket_id, o.user_id, t.owner_id, 1, o.price_minor, o.currency,
                  o.price_minor, o.id, o.created_at, NULL
           FROM orders o JOIN tickets t ON t.id = o.ticket_id
           WHERE o.status = 'complete'""",
        """INSERT INTO ticket_transfers (ticket_id, from_id, to_id, kind, serial, price_minor,
                                         currency, order_id, at)
           SELECT o.ticket_id, t.owner_id, o.user_id, 'sale', 1, o.price_minor, o.currency,
                  o.id, o.created_at
           FROM orders o JOIN tickets t ON t.id = o.ticket_id
           WHERE o.status = 'complete'""",
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('ticket_code_keys')
    for column in ('ticket_id', 'from_id', 'to_id'):
        op.drop_index(op.f(f'ix_ticket_transfers_{column}'), table_name='ticket_transfers')
    op.drop_table('ticket_transfers')
    op.drop_table('ticket_checkin_staff')
    op.drop_index(op.f('ix_ticket_holdings_holder_id'), table_name='ticket_holdings')
    op.drop_table('ticket_holdings')
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_index('uq_orders_live_ticket_round')
        batch_op.create_index(
            'uq_orders_live_ticket',
            ['ticket_id'],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
        batch_op.drop_column('ticket_round')
    with op.batch_alter_table('orders_tickets') as batch_op:
        batch_op.drop_column('on_sale')
        batch_op.drop_column('round')
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('round')
