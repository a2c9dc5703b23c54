"""people: pseudonymised_at, when retention or an erasure replaced the person's identity

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 12:10:00

services/retention.py blanks the person's name, alias, phone and every free text about them
and stamps this column; the row stays (requests, placements and reports point at it).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonymised_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('pseudonymised_at')
