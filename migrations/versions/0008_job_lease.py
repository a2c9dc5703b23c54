"""job_runs.lease_until: a scheduled job's claim is a lease renewed by a heartbeat, so a
claim whose process died is taken over instead of staying `running` for ever.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
