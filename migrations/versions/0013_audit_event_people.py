"""audit: one event naming many people

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:55:00

A board view or a confirmed run was one audit row per person shown (~200 rows a view). Now
it is one `audit_events` row (person_id NULL) and one `audit_event_people` row per person
named, so a person's trail still finds it. Append-only, like audit_events.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER audit_event_people_no_update BEFORE UPDATE ON audit_event_people "
        "BEGIN SELECT RAISE(ABORT, 'audit_event_people is append-only'); END",
        "CREATE TRIGGER audit_event_people_no_delete BEFORE DELETE ON audit_event_people "
        "BEGIN SELECT RAISE(ABORT, 'audit_event_people is append-only'); END",
    ],
    "postgresql": [
        "CREATE TRIGGER audit_event_people_no_change BEFORE UPDATE OR DELETE ON "
        "audit_event_people FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ],
}
TRIGGERS_DOWN = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_event_people_no_update",
               "DROP TRIGGER IF EXISTS audit_event_people_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_event_people_no_change ON audit_event_people"],
}


def _run(statements):
    for sql in statements.get(op.get_bind().dialect.name, []):
        op.execute(sql)


def upgrade():
    op.create_table(
        'audit_event_people',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'],
                                name=op.f('fk_audit_event_people_event_id_audit_events')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                                name=op.f('fk_audit_event_people_person_id_people')),
        sa.PrimaryKeyConstraint('event_id', 'person_id', name=op.f('pk_audit_event_people')),
    )
    with op.batch_alter_table('audit_event_people', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_people_person', ['person_id', 'event_id'],
                              unique=False)
    _run(TRIGGERS)


def downgrade():
    _run(TRIGGERS_DOWN)
    with op.batch_alter_table('audit_event_people', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_people_person')
    op.drop_table('audit_event_people')
