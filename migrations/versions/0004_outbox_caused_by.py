"""outbox.caused_by: the event whose handling emitted this one, so a command waits for the
consequences of its own events only (not for every event other servers wrote meanwhile)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('caused_by', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_outbox_caused_by', ['caused_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_index('ix_outbox_caused_by')
        batch_op.drop_column('caused_by')
