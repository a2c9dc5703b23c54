"""housing referrals: a manager marks someone "referred for housing follow-up"

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'housing_referrals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('referred_at', sa.DateTime(), nullable=False),
        sa.Column('referred_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                                name=op.f('fk_housing_referrals_person_id_people')),
        sa.ForeignKeyConstraint(['referred_by_id'], ['users.id'],
                                name=op.f('fk_housing_referrals_referred_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_referrals')),
        sa.UniqueConstraint('person_id', name=op.f('uq_housing_referrals_person_id')),
    )
    op.create_index('ix_requests_city_person_status_night', 'requests',
                    ['city', 'person_id', 'status', 'night'])


def downgrade():
    op.drop_index('ix_requests_city_person_status_night', table_name='requests')
    op.drop_table('housing_referrals')
