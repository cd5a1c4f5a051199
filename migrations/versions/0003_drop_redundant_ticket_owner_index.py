"""drop ix_tickets_owner_id: uq_tickets_owner_external_id starts with owner_id and serves the
same lookups, and every imported row paid for the second index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_tickets_owner_id', table_name='tickets')


def downgrade() -> None:
    op.create_index('ix_tickets_owner_id', 'tickets', ['owner_id'], unique=False)
