"""Card authentication (3-D Secure): a payment attempt may wait for its buyer to authenticate
the card (`requires_action`, with the page to open) or be given up at the provider after its
order ended (`cancelling`). Both are live: still one live attempt per order. And the `local`
provider's transfers are found by their order, as Stripe's are by `transfer_group`; a payout
counts the transfers the provider refused (each try after one has a key of its own); payments
remembers tickets checked in, for a sale whose completion it hears of after the check-in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import openticket.store.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD_LIVE = "status IN ('pending', 'succeeded', 'refund_pending')"
NEW_LIVE = (
    "status IN ('pending', 'requires_action', 'cancelling', 'succeeded', 'refund_pending')"
)


def _live_index(where: str) -> None:
    with op.batch_alter_table('payments') as batch_op:
        batch_op.create_index(
            'uq_payments_live_order',
            ['order_id'],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def upgrade() -> None:
    with op.batch_alter_table('payments') as batch_op:
        batch_op.add_column(sa.Column('action_url', sa.Text(), nullable=True))
        batch_op.drop_index('uq_payments_live_order')
    _live_index(NEW_LIVE)
    with op.batch_alter_table('payouts') as batch_op:
        batch_op.add_column(
            sa.Column('refused_transfers', sa.Integer(), nullable=False, server_default='0')
        )
    op.create_table(
        'payout_check_ins',
        sa.Column('ticket_id', sa.String(length=32), nullable=False),
        sa.Column('checked_in_at', openticket.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_payout_check_ins')),
    )
    op.create_index(
        'ix_payments_local_transfers_transfer_group',
        'payments_local_transfers',
        ['transfer_group'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table('payout_check_ins')
    op.drop_index(
        'ix_payments_local_transfers_transfer_group', table_name='payments_local_transfers'
    )
    with op.batch_alter_table('payouts') as batch_op:
        batch_op.drop_column('refused_transfers')
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_index('uq_payments_live_order')
        batch_op.drop_column('action_url')
    _live_index(OLD_LIVE)
