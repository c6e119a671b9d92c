"""regulator codes: each complaint's JR/T 0169-2018 codes (axes A, B, C)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:20:00

The quarterly return counts complaints by A x B x C; complaints archived before this
revision have no codes and are counted under "(none)".
"""

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

AXES = ('code_a', 'code_b', 'code_c')


def upgrade() -> None:
    for name in AXES:
        op.add_column('complaints', sa.Column(name, sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch:  # SQLite drops a column by rebuilding the table
        for name in reversed(AXES):
            batch.drop_column(name)
