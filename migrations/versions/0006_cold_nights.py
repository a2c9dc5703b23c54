"""cold nights: declared cold nights per city, overflow rooms, ban categories

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:05:00

Existing bans get the category 'violence' (a safety ban, never suspended on a cold night):
the conservative reading of a ban whose reason was never classified.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cold_nights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city', sa.String(length=60), nullable=False),
    sa.Column('night', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('declared_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['declared_by_id'], ['users.id'], name=op.f('fk_cold_nights_declared_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cold_nights')),
    sa.UniqueConstraint('city', 'night', name=op.f('uq_cold_nights_city_night'))
    )
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overflow', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.alter_column('overflow', server_default=None)
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=20), nullable=False, server_default='violence'))
        batch_op.create_check_constraint(batch_op.f('ck_restrictions_category_known'), "category IN ('violence', 'drugs', 'rules', 'other')")
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.alter_column('category', server_default=None)


def downgrade():
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_restrictions_category_known'), type_='check')
        batch_op.drop_column('category')
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_column('overflow')
    op.drop_table('cold_nights')
