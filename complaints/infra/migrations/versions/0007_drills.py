"""drills: a complaint filed by an emergency drill is marked, so reports and returns leave it out

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 23:20:00

`complaints drill` runs made-up complaints through the real process; the receipt record of
each writes `drill = true`. Complaints archived before this revision are real ones (false).
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('complaints', sa.Column('drill', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index('ix_complaints_drill', 'complaints', ['drill'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_complaints_drill', table_name='complaints')
    op.drop_column('complaints', 'drill')  # plain ALTER TABLE, also on SQLite (3.35+), as 0005 does
