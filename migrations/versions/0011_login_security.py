"""users: forced password change and server-side session times

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:05:00

`must_change_password`: an admin asked for a new password at the next log-in.
`session_started_at` / `session_seen_at`: when the user's current session began and was last
used, so the server ends it after SESSION_IDLE_MINUTES idle or SESSION_MAX_HOURS in all.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('session_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('session_seen_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_seen_at')
        batch_op.drop_column('session_started_at')
        batch_op.drop_column('must_change_password')
