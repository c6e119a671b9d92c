"""case file: personal data sealed at rest, keyed hashes for the duplicate lookup, case reads

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:50:00

Complainant details and complaint text were plain text in the archive. They are sealed
field by field with the codec's key ring (`complaints.infra.sealing`); phone, ID number and
customer id get a keyed hash beside them, which the duplicate lookup and the repeat-complainant
figures read instead of the values. Existing rows are sealed here, in batches. `case_reads`
records every read of a complaint's personal data; `evidence` references the evidence files;
`legal_holds` and `erasures` are retention's.
"""

from alembic import op
import sqlalchemy as sa

from complaints.infra.archive import phone_digits
from complaints.infra.sealing import sealer_of

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SEALED = ('subject', 'content', 'requested_remedy', 'complainant_name', 'complainant_phone', 'complainant_email',
          'complainant_id_number', 'customer_id')
HASHED = {'complainant_phone_hash': 'complainant_phone', 'complainant_id_number_hash': 'complainant_id_number',
          'customer_id_hash': 'customer_id'}
LENGTHS = {'subject': 500, 'content': None, 'requested_remedy': 500, 'complainant_name': 100,
           'complainant_phone': 32, 'complainant_email': 254, 'complainant_id_number': 32, 'customer_id': 200}
BATCH = 500


def _rewrite(change) -> None:  # noqa: ANN001 - a function of (sealer, row) to the new values
    """Apply `change` to every complaint row, BATCH rows at a time, ordered by id."""
    bind = op.get_bind()
    table = sa.table('complaints', sa.column('complaint_id'), *(sa.column(c) for c in SEALED + tuple(HASHED)))
    after = ''
    while rows := bind.execute(sa.select(table).where(table.c.complaint_id > after)
                               .order_by(table.c.complaint_id).limit(BATCH)).mappings().all():
        sealer = sealer_of(bind.dialect)  # only an archive holding rows needs the key ring
        for row in rows:
            bind.execute(table.update().where(table.c.complaint_id == row['complaint_id'])
                         .values(change(sealer, row)))
        after = rows[-1]['complaint_id']


def _sealed(sealer, row) -> dict:  # noqa: ANN001
    plain = {c: row[c] for c in SEALED}
    if plain['complainant_phone'] is not None:
        plain['complainant_phone'] = phone_digits(plain['complainant_phone'])
    return {**{c: None if v is None else sealer.seal(v) for c, v in plain.items()},
            **{h: sealer.digest(plain[c]) for h, c in HASHED.items()}}


def _opened(sealer, row) -> dict:  # noqa: ANN001
    return {c: None if row[c] is None else sealer.open(row[c]) for c in SEALED}


def upgrade() -> None:
    op.create_table(
        'case_reads',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('complaint_id', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reader', sa.String(length=100), nullable=False),
        sa.Column('route', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_reads_complaint_id', 'case_reads', ['complaint_id'], unique=False)
    op.create_table(
        'evidence',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('complaint_id', sa.String(length=64), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('key_id', sa.String(length=64), nullable=False),
        sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attached_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('complaint_id', 'sha256', 'name', name='uq_evidence_file'),
    )
    op.create_index('ix_evidence_complaint_id', 'evidence', ['complaint_id'], unique=False)
    op.create_index('ix_evidence_sha256', 'evidence', ['sha256'], unique=False)
    op.create_table(
        'legal_holds',
        sa.Column('complaint_id', sa.String(length=64), nullable=False),
        sa.Column('held_by', sa.String(length=100), nullable=False),
        sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('complaint_id'),
    )
    op.create_table(
        'erasures',
        sa.Column('complaint_id', sa.String(length=64), nullable=False),
        sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('files', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('complaint_id'),
    )
    for column in HASHED:
        op.add_column('complaints', sa.Column(column, sa.String(length=64), nullable=True))
    op.drop_index('ix_complaints_complainant_phone', table_name='complaints')
    op.drop_index('ix_complaints_customer_id', table_name='complaints')
    for column in HASHED:
        op.create_index(f'ix_complaints_{column}', 'complaints', [column], unique=False)
    if op.get_bind().dialect.name != 'sqlite':  # SQLite keeps text of any length in any column
        for column in SEALED:
            op.alter_column('complaints', column, type_=sa.Text(), existing_nullable=column != 'content'
                            and column != 'complainant_name')
    _rewrite(_sealed)


def downgrade() -> None:
    _rewrite(_opened)
    if op.get_bind().dialect.name != 'sqlite':
        for column, length in LENGTHS.items():
            if length:
                op.alter_column('complaints', column, type_=sa.String(length=length))
    for column in HASHED:
        op.drop_index(f'ix_complaints_{column}', table_name='complaints')
    op.create_index('ix_complaints_customer_id', 'complaints', ['customer_id'], unique=False)
    op.create_index('ix_complaints_complainant_phone', 'complaints', ['complainant_phone'], unique=False)
    for column in HASHED:  # plain ALTER TABLE, also on SQLite: a batch copy would drop the referenced table
        op.drop_column('complaints', column)
    op.drop_table('erasures')
    op.drop_table('legal_holds')
    op.drop_index('ix_evidence_sha256', table_name='evidence')
    op.drop_index('ix_evidence_complaint_id', table_name='evidence')
    op.drop_table('evidence')
    op.drop_index('ix_case_reads_complaint_id', table_name='case_reads')
    op.drop_table('case_reads')
