"""ban review dates: every ban has a last night or a review date

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:20:00

Open-ended bans recorded before this revision get a review date 30 days from the upgrade
(or their first night, if later), so each shows up on the review list.
"""
from datetime import date, timedelta

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_on', sa.Date(), nullable=True))
    review = date.today() + timedelta(days=30)
    restrictions = sa.table('restrictions', sa.column('review_on', sa.Date()),
                            sa.column('ends_on', sa.Date()), sa.column('starts_on', sa.Date()))
    op.execute(restrictions.update().where(restrictions.c.ends_on.is_(None))
               .values(review_on=sa.case((restrictions.c.starts_on > review,
                                          restrictions.c.starts_on), else_=review)))


def downgrade():
    with op.batch_alter_table('restrictions', schema=None) as batch_op:
        batch_op.drop_column('review_on')
