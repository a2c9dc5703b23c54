"""requests: the facts behind a turn-away, so it is worded in the reader's language

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 11:30:00

`turnaway_params`: the allocator's parameters for `turnaway_reason` (sites, counts, needs,
gender, age: see allocator/words.py), worded by shelter/services/reasons.py in the language
of whoever reads it. NULL for rows stored before this revision: their English
`turnaway_explanation` is shown as it is.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('turnaway_params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('turnaway_params')
