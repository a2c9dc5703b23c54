"""holds: pending partner bookings, the wished site and why a wish was not met

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 12:00:00

A partner's named site is a wish (README "Partner bookings and what they reveal"):
- `status` may be 'pending': no site could take the booking yet; intake confirms a site
  or refuses it. A pending booking holds no bed, so `bed_id` becomes nullable, and the
  CHECK `held_names_bed` keeps every held booking naming its bed;
- one pending booking per person and night (partial unique index, like the held one);
- `wished_site_id`: the site the partner named; `wish_reason`: why the booking is not at
  that site or is pending (barred, keep_apart, ..., spread, review), for intake only.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OLD = ('held', 'claimed', 'released', 'cancelled', 'expired')
NEW = OLD + ('pending',)


def _in(values):
    return "status IN (%s)" % ", ".join(f"'{v}'" for v in values)


def upgrade():
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_holds_hold_status'), type_='check')
        batch_op.create_check_constraint('hold_status', _in(NEW))
        batch_op.alter_column('bed_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('wished_site_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('wish_reason', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_holds_wished_site_id_sites'), 'sites',
                                    ['wished_site_id'], ['id'])
        batch_op.create_check_constraint('held_names_bed',
                                         "status != 'held' OR bed_id IS NOT NULL")
        batch_op.create_index('uq_holds_pending_person_night', ['person_id', 'night'],
                              unique=True, sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))


def downgrade():
    # Pending bookings hold no bed and cannot be kept: they end as released by staff.
    op.execute("UPDATE holds SET status = 'released' WHERE status = 'pending'")
    op.execute("DELETE FROM holds WHERE bed_id IS NULL AND id NOT IN "
               "(SELECT hold_id FROM requests WHERE hold_id IS NOT NULL) AND id NOT IN "
               "(SELECT hold_id FROM placements WHERE hold_id IS NOT NULL) AND id NOT IN "
               "(SELECT hold_id FROM notifications WHERE hold_id IS NOT NULL)")
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('uq_holds_pending_person_night',
                            sqlite_where=sa.text("status = 'pending'"),
                            postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_constraint(batch_op.f('ck_holds_held_names_bed'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_holds_wished_site_id_sites'), type_='foreignkey')
        batch_op.drop_column('wish_reason')
        batch_op.drop_column('wished_site_id')
        batch_op.alter_column('bed_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('ck_holds_hold_status'), type_='check')
        batch_op.create_check_constraint('hold_status', _in(OLD))
