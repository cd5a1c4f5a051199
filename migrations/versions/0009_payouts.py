"""Payouts: what each completed order owes its seller (held, released, reversed), sellers'
payout accounts, the `local` provider's transfers; orders (and payments' copy of them) know
their seller and ticket; a holding remembers its seller's terms, and a sale is found by its
order, for a seller's refund. Orders completed before this revision have no payout (their money
was never meant to move).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import openticket.store.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

HELD = "status IN ('held')"
IN_FLIGHT = "status IN ('releasing', 'reversing')"


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(sa.Column('seller_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('payments_orders') as batch_op:
        batch_op.add_column(sa.Column('seller_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ticket_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('ticket_holdings') as batch_op:
        batch_op.add_column(sa.Column('prior_paid_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prior_basis_minor', sa.BigInteger(), nullable=True))
    op.create_index(
        op.f('ix_ticket_transfers_order_id'), 'ticket_transfers', ['order_id'], unique=False
    )
    op.create_table(
        'payouts',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('order_id', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', sa.String(length=32), nullable=False),
        sa.Column('seller_id', sa.String(length=32), nullable=False),
        sa.Column('gross_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('fee_minor', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('release_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.Column('transfer_ref', sa.String(length=255), nullable=True),
        sa.Column('disputed', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
        sa.UniqueConstraint('order_id', name=op.f('uq_payouts_order_id')),
    )
    op.create_index(op.f('ix_payouts_ticket_id'), 'payouts', ['ticket_id'], unique=False)
    op.create_index(op.f('ix_payouts_seller_id'), 'payouts', ['seller_id'], unique=False)
    op.create_index(op.f('ix_payouts_transfer_ref'), 'payouts', ['transfer_ref'], unique=False)
    op.create_index(
        'ix_payouts_held_release_at',
        'payouts',
        ['release_at'],
        unique=False,
        sqlite_where=sa.text(HELD),
        postgresql_where=sa.text(HELD),
    )
    op.create_index(
        'ix_payouts_in_flight',
        'payouts',
        ['status'],
        unique=False,
        sqlite_where=sa.text(IN_FLIGHT),
        postgresql_where=sa.text(IN_FLIGHT),
    )
    op.create_table(
        'payout_accounts',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('account_ref', sa.String(length=255), nullable=False),
        sa.Column('charges_enabled', sa.Boolean(), nullable=False),
        sa.Column('payouts_enabled', sa.Boolean(), nullable=False),
        sa.Column('onboarding_url', sa.Text(), nullable=True),
        sa.Column('on_hold', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_payout_accounts')),
    )
    op.create_index(
        op.f('ix_payout_accounts_account_ref'), 'payout_accounts', ['account_ref'], unique=False
    )
    op.create_table(
        'payments_local_transfers',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('idempotency_key', sa.String(length=80), nullable=False),
        sa.Column('account_ref', sa.String(length=255), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('transfer_group', sa.String(length=32), nullable=False),
        sa.Column('reversal_id', sa.String(length=40), nullable=True),
        sa.Column('created_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments_local_transfers')),
        sa.UniqueConstraint(
            'idempotency_key', name=op.f('uq_payments_local_transfers_idempotency_key')
        ),
    )
    op.create_index(
        'ix_payments_local_transfers_account_ref',
        'payments_local_transfers',
        ['account_ref'],
        unique=False,
    )
    # Orders made before: their seller, and payments' copy of them their seller and ticket (an
    # open one is paid for after the upgrade, and owes its seller a payout; a completed one
    # may be refunded by its seller).
    for statement in (
        """UPDATE orders SET seller_id = (SELECT t.owner_id FROM orders_tickets t
                                          WHERE t.id = orders.ticket_id)
           WHERE status IN ('created', 'awaiting:payment')""",
        """UPDATE orders SET seller_id = (SELECT s.from_id FROM ticket_transfers s
                                          WHERE s.order_id = orders.id AND s.kind = 'sale')
           WHERE status = 'complete'""",
        """UPDATE payments_orders
           SET seller_id = (SELECT o.seller_id FROM orders o WHERE o.id = payments_orders.id),
               ticket_id = (SELECT o.ticket_id FROM orders o WHERE o.id = payments_orders.id)""",
    ):
        op.execute(statement)
    op.create_table(
        'payments_provider_notifications',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=100), nullable=False),
        sa.Column('received_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments_provider_notifications')),
    )


def downgrade() -> None:
    op.drop_table('payments_provider_notifications')
    op.drop_index(
        'ix_payments_local_transfers_account_ref', table_name='payments_local_transfers'
    )
    op.drop_table('payments_local_transfers')
    op.drop_index(op.f('ix_payout_accounts_account_ref'), table_name='payout_accounts')
    op.drop_table('payout_accounts')
    for name in (
        'ix_payouts_in_flight',
        'ix_payouts_held_release_at',
        op.f('ix_payouts_transfer_ref'),
        op.f('ix_payouts_seller_id'),
        op.f('ix_payouts_ticket_id'),
    ):
        op.drop_index(name, table_name='payouts')
    op.drop_table('payouts')
    op.drop_index(op.f('ix_ticket_transfers_order_id'), table_name='ticket_transfers')
    with op.batch_alter_table('ticket_holdings') as batch_op:
        batch_op.drop_column('prior_basis_minor')
        batch_op.drop_column('prior_paid_minor')
    with op.batch_alter_table('payments_orders') as batch_op:
        batch_op.drop_column('ticket_id')
        batch_op.drop_column('seller_id')
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('seller_id')
