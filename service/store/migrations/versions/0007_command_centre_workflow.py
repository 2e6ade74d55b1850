"""The command centre's workflow: where a case came from (detector, hotline, inspector), 督办, the deadlines a log
entry moved, units' requests for 延期 / 缓办, and violations the cameras missed (漏报).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported: a migration keeps meaning what it meant when it was written.
VIOLATIONS = (
    "'motor_parking', 'non_motor_parking', 'debris', 'bin_overflow', 'exposed_garbage', 'flyposting', 'facade_graffiti'"
)


def upgrade() -> None:
    """Add the columns (every existing case came from the detector) and the two tables."""
    op.add_column("cases", sa.Column("source", sa.String(length=16), server_default="detector", nullable=False))
    op.add_column("cases", sa.Column("description", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("reporter", sa.String(length=200), nullable=True))
    op.add_column("cases", sa.Column("supervised_at", sa.DateTime(), nullable=True))
    op.add_column("cases", sa.Column("supervision_count", sa.Integer(), server_default="0", nullable=False))
    # The case log is append-only (triggers refuse UPDATE and DELETE); adding columns changes no row.
    op.add_column("case_events", sa.Column("deadline_before", sa.DateTime(), nullable=True))
    op.add_column("case_events", sa.Column("deadline_after", sa.DateTime(), nullable=True))
    op.create_table(
        "case_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint("(kind = 'extend') = (deadline IS NOT NULL)", name=op.f("ck_case_requests_extend_deadline")),
        sa.CheckConstraint("kind IN ('extend', 'defer')", name=op.f("ck_case_requests_kind")),
        sa.CheckConstraint("state IN ('pending', 'approved', 'refused')", name=op.f("ck_case_requests_state")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_requests_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_case_requests_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_requests")),
    )
    op.create_index(op.f("ix_case_requests_case_id"), "case_requests", ["case_id"])
    op.create_index(op.f("ix_case_requests_state"), "case_requests", ["state"])
    op.create_index(
        "uq_case_requests_pending",
        "case_requests",
        ["case_id"],
        unique=True,
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "missed_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("violation", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"violation IN ({VIOLATIONS})", name=op.f("ck_missed_reports_violation")),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_missed_reports_camera_id_cameras")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_missed_reports_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missed_reports")),
    )
    op.create_index("ix_missed_reports_camera_id_seen_at", "missed_reports", ["camera_id", "seen_at"])


def downgrade() -> None:
    op.drop_table("missed_reports")
    op.drop_table("case_requests")
    # Plain ALTER (SQLite 3.35+ drops columns): a batch copy would lose the append-only triggers.
    for column in ("deadline_after", "deadline_before"):
        op.execute(f"ALTER TABLE case_events DROP COLUMN {column}")
    with op.batch_alter_table("cases") as batch:
        for column in ("supervision_count", "supervised_at", "reporter", "description", "source"):
            batch.drop_column(column)
