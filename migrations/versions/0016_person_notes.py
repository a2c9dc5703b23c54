"""person notes: staff's dated notes and incidents about a person (append-only)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'person_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('night', sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('note', 'incident')", name=op.f('ck_person_notes_note_kind')),
        sa.CheckConstraint('length(text) >= 1 AND length(text) <= 2000',
                           name=op.f('ck_person_notes_note_text_length')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                                name=op.f('fk_person_notes_person_id_people')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_person_notes_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_notes')),
    )
    op.create_index('ix_person_notes_person_at', 'person_notes', ['person_id', 'at'])


def downgrade():
    op.drop_index('ix_person_notes_person_at', table_name='person_notes')
    op.drop_table('person_notes')
