"""users: the language each user reads the app in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 11:20:00

`language`: "nb" or "en", chosen with the switch in the header; NULL means the instance's
language (the SHELTER_LANGUAGE setting).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
