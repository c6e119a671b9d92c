"""prevention alarms: what the `complaints-prevention` schedule found, acknowledged and reviewed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 23:20:00

One row per alarm (a rise, a new kind of complaint against a respondent, or repeatedly
substantiated complaints) with its figures and the complaint ids behind it, the manager's
acknowledgement with an action plan and a review date, and what the review found. Its
notices to managers go through the outbox like every other, under the alarm's id.
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prevention_alarms',
        sa.Column('alarm_id', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=220), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=True),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('baseline_mean', sa.Float(), nullable=False),
        sa.Column('p_value', sa.Float(), nullable=True),
        sa.Column('complaint_ids', sa.JSON(), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('plan', sa.Text(), nullable=True),
        sa.Column('review_on', sa.Date(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('review_count', sa.Integer(), nullable=True),
        sa.Column('came_down', sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint('alarm_id'),
    )
    op.create_index('ix_prevention_alarms_subject', 'prevention_alarms', ['kind', 'dimension', 'subject'],
                    unique=False)
    op.create_index('ix_prevention_alarms_window_end', 'prevention_alarms', ['window_end'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_prevention_alarms_window_end', table_name='prevention_alarms')
    op.drop_index('ix_prevention_alarms_subject', table_name='prevention_alarms')
    op.drop_table('prevention_alarms')
