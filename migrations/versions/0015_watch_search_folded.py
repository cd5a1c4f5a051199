"""Each watch keeps its search case folded, so that the database finds the watches a new
listing's title holds; a new listing loaded every watch there was, and compared each in Python.
A watch a process of the version before writes (during a rolling upgrade) gets an empty one,
which every title holds: it is still found, and compared in Python as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BACKFILL_CHUNK = 1000


def upgrade() -> None:
    op.add_column(
        'notify_watches',
        sa.Column('search_folded', sa.Text(), nullable=False, server_default=''),
    )
    conn = op.get_bind()
    watches = sa.table(
        'notify_watches', sa.column('id', sa.String), sa.column('search', sa.Text),
        sa.column('search_folded', sa.Text),
    )
    rows = conn.execute(sa.select(watches.c.id, watches.c.search)).all()
    update = (
        sa.update(watches)
        .where(watches.c.id == sa.bindparam('watch_id'))
        .values(search_folded=sa.bindparam('folded'))
    )
    for start in range(0, len(rows), BACKFILL_CHUNK):
        chunk = rows[start : start + BACKFILL_CHUNK]
        # str.casefold, as openticket.core.notify.model.folded does
        conn.execute(update, [{'watch_id': r.id, 'folded': r.search.casefold()} for r in chunk])


def downgrade() -> None:
    with op.batch_alter_table('notify_watches') as batch:
        batch.drop_column('search_folded')
