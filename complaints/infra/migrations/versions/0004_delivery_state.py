"""delivery state: each notice's status, channel, attempts, last error and provider id; letters

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:30:00

Notices used to stop in the outbox; the delivery activities now record what became of
each one. Notices written before this revision read as `pending`. Written decisions are kept
in `letters` with the SHA-256 of their PDF.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('status', sa.String(length=16), nullable=False, server_default='pending'))
    op.add_column('outbox', sa.Column('channel', sa.String(length=16), nullable=True))
    op.add_column('outbox', sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('outbox', sa.Column('last_error', sa.String(length=300), nullable=True))
    op.add_column('outbox', sa.Column('provider_id', sa.String(length=200), nullable=True))
    op.add_column('outbox', sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_outbox_status', 'outbox', ['status'], unique=False)
    op.create_table(
        'letters',
        sa.Column('complaint_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('postal', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('complaint_id', 'seq'),
    )


def downgrade() -> None:
    op.drop_table('letters')
    op.drop_index('ix_outbox_status', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        for column in ('updated_at', 'provider_id', 'last_error', 'attempts', 'channel', 'status'):
            batch.drop_column(column)
