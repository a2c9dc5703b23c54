"""audit: an index for reading events by action and time

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 12:30:00

The security events page (/admin/security) filters by action ("security.*") and sorts by
time; without this index it reads the whole audit table.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_action_at', ['action', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_action_at')
