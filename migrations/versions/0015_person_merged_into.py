"""people: merged_into_id, a record merged into another (the same person registered twice)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:00:00

The merged-away record stays (the audit trail names it) and points to the record that
survived; services/people_merge.py moves everything else across in one transaction.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_people_merged_into_id_people'), 'people',
                                    ['merged_into_id'], ['id'])
        batch_op.create_index(op.f('ix_people_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_check_constraint(
            op.f('ck_people_not_merged_into_self'), 'merged_into_id IS NULL OR merged_into_id != id')


def downgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_people_not_merged_into_self'), type_='check')
        batch_op.drop_index(op.f('ix_people_merged_into_id'))
        batch_op.drop_constraint(op.f('fk_people_merged_into_id_people'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
