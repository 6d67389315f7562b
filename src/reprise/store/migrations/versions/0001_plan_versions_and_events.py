"""Plan versions and the append-only events journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import Id, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("loaded_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plan_versions"),
    )
    op.create_index("ix_plan_versions_loaded_at", "plan_versions", ["loaded_at"])
    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("time", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_time", "events", ["time"])
    op.create_index("ix_events_kind_time", "events", ["kind", "time"])
    op.create_index("ix_events_subject_time", "events", ["subject", "time"])
    # The journal is append-only: refuse updates in the database itself, whatever the client.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION reprise_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE ON events "
            "FOR EACH ROW EXECUTE FUNCTION reprise_events_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE ON events "
            "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_append_only ON events")
        op.execute("DROP FUNCTION reprise_events_append_only()")
    else:
        op.execute("DROP TRIGGER events_append_only")
    op.drop_table("events")
    op.drop_table("plan_versions")
