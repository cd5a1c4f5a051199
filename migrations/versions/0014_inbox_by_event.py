"""The inbox (processed_events) found by event: a command waiting for its events' consumers
(a server with a broker) asks which consumers applied them. The primary key leads with the
consumer, so that question read the whole inbox, which only grows, on every look.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_processed_events_event_id', 'processed_events', ['event_id', 'consumer'])


def downgrade() -> None:
    op.drop_index('ix_processed_events_event_id', table_name='processed_events')
