"""Incidents: affected services and their state history, tasks, timeline, reports, and
runbook runs with their steps.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=True),
        sa.Column("severity", sa.String(2), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("commander", sa.String(200), nullable=True),
        sa.Column("last_failure_at", UtcDateTime, nullable=False),
        sa.Column("last_report_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "incident_services",
        sa.Column("incident_id", _ID, primary_key=True),
        sa.Column("service", sa.String(100), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("initial_state", sa.String(12), nullable=False),
        sa.Column("added_at", UtcDateTime, nullable=False),
        sa.Column("target_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "incident_states",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
    )
    op.create_index(
        "ix_incident_states_incident_id_service", "incident_states", ["incident_id", "service"]
    )
    op.create_table(
        "incident_tasks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("role", sa.String(100), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_incident_tasks_incident_id", "incident_tasks", ["incident_id"])
    op.create_table(
        "incident_timeline",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_incident_timeline_incident_id_at", "incident_timeline", ["incident_id", "at"]
    )
    op.create_table(
        "incident_reports",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=True),
    )
    op.create_index("ix_incident_reports_incident_id", "incident_reports", ["incident_id"])
    op.create_table(
        "runbook_runs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scenario", sa.String(100), nullable=False),
        sa.Column("incident_id", _ID, nullable=True),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("next_step", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("started_by", sa.String(200), nullable=False),
    )
    op.create_index(
        "ix_runbook_runs_scenario_incident_id", "runbook_runs", ["scenario", "incident_id"]
    )
    op.create_table(
        "runbook_steps",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("by", sa.String(200), nullable=False),
    )
    op.create_index("ix_runbook_steps_run_id", "runbook_steps", ["run_id"])


def downgrade() -> None:
    for table in (
        "runbook_steps",
        "runbook_runs",
        "incident_reports",
        "incident_timeline",
        "incident_tasks",
        "incident_states",
        "incident_services",
        "incidents",
    ):
        op.drop_table(table)
