"""requests belong to a city

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:15:00

Existing requests take the city of their preferred site, else of their hold's site, else
the instance default (Bergen): before this column a request had no city of its own.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DEFAULT_CITY = "Bergen"


def upgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city', sa.String(length=60), nullable=True))
    op.execute(sa.text(
        "UPDATE requests SET city = COALESCE("
        " (SELECT sites.city FROM sites WHERE sites.id = requests.preferred_site_id),"
        " (SELECT sites.city FROM holds JOIN sites ON sites.id = holds.site_id"
        "   WHERE holds.id = requests.hold_id),"
        " :fallback)").bindparams(fallback=DEFAULT_CITY))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('city', existing_type=sa.String(length=60), nullable=False)
        batch_op.create_index('ix_requests_city_night_status', ['city', 'night', 'status'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_city_night_status')
        batch_op.drop_column('city')
