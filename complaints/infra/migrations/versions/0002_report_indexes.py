"""report indexes: complaints closed in a period, escalations in a period

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:05:00

`complaints report` selects complaints by `closed_at` and escalations by `at`; without
these indexes both are full scans of tables that only grow.
"""

from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_complaints_closed_at', 'complaints', ['closed_at'], unique=False)
    op.create_index('ix_escalations_at', 'escalations', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_escalations_at', table_name='escalations')
    op.drop_index('ix_complaints_closed_at', table_name='complaints')
