"""areas: exclusion orders cover areas; sites belong to an area record

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:30:00

Sites had a free-text `area`; areas become records an admin keeps (unique per city), each
site points to one, and a restriction may name an area (an exclusion order) instead of a
site, with the issuing authority. Existing texts become area records.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas')),
    sa.UniqueConstraint('city', 'name', name=op.f('uq_areas_city_name'))
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sites_area_id'), ['area_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sites_area_id_areas'), 'areas', ['area_id'], ['id'])
    op.execute("INSERT INTO areas (city, name, created_at) SELECT DISTINCT city, area, "
               "CURRENT_TIMESTAMP FROM sites WHERE area IS NOT NULL AND area != ''")
    op.execute("UPDATE sites SET area_id = (SELECT areas.id FROM areas WHERE areas.city = "
               "sites.city AND areas.name = sites.area) WHERE area IS NOT NULL AND area != ''")
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('area')

    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('authority', sa.String(length=20), nullable=False, server_default='staff'))
        batch_op.create_check_constraint(batch_op.f('ck_restrictions_authority'), "authority IN ('staff', 'police', 'municipality')")
        batch_op.create_foreign_key(batch_op.f('fk_restrictions_area_id_areas'), 'areas', ['area_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_restrictions_site_or_area'), 'site_id IS NULL OR area_id IS NULL')
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.alter_column('authority', server_default=None)

    op.create_table('safety_exemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('night', sa.Date(), nullable=False),
    sa.Column('restriction_id', sa.Integer(), nullable=True),
    sa.Column('keep_apart_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(restriction_id IS NULL) != (keep_apart_id IS NULL)', name=op.f('ck_safety_exemptions_one_record')),
    sa.CheckConstraint("reason != ''", name=op.f('ck_safety_exemptions_reason_given')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_safety_exemptions_created_by_id_users')),
    sa.ForeignKeyConstraint(['keep_apart_id'], ['keep_aparts.id'], name=op.f('fk_safety_exemptions_keep_apart_id_keep_aparts')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_safety_exemptions_person_id_people')),
    sa.ForeignKeyConstraint(['restriction_id'], ['restrictions.id'], name=op.f('fk_safety_exemptions_restriction_id_restrictions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_exemptions'))
    )
    with op.batch_alter_table('safety_exemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_exemptions_person_id'), ['person_id'], unique=False)


def downgrade():
    op.drop_table('safety_exemptions')
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_restrictions_site_or_area'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_restrictions_authority'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_restrictions_area_id_areas'), type_='foreignkey')
        batch_op.drop_column('authority')
        batch_op.drop_column('area_id')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.String(length=120), nullable=False, server_default=''))
    op.execute("UPDATE sites SET area = (SELECT areas.name FROM areas WHERE areas.id = "
               "sites.area_id) WHERE area_id IS NOT NULL")
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sites_area_id_areas'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sites_area_id'))
        batch_op.drop_column('area_id')
    op.drop_table('areas')
