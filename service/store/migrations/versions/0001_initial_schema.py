"""Initial schema: site tables, cases, observations, the append-only case log, evidence, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table, index and constraint, and make the case log append-only."""
    op.create_table(
        "evidence",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("ext", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_evidence")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("polygon", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["grids.id"], name=op.f("fk_grids_parent_id_grids")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_grids_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
    )
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("grid_id", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("sample_fps", sa.Double(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_cameras_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_table(
        "places",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("grid_id", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("radius_m", sa.Double(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_places_grid_id_grids")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("violation", sa.String(length=32), nullable=False),
        sa.Column("event_code", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("grid_id", sa.String(length=64), nullable=True),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("zone_key", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("bbox", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("observation_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("deferral_count", sa.Integer(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("needs_rework", sa.Boolean(), nullable=False),
        sa.Column("rectified_proposed", sa.Boolean(), nullable=False),
        sa.Column("rectified_since", sa.DateTime(), nullable=True),
        sa.Column("previous_case_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending_review', 'filed', 'rejected', 'dispatched', 'extended', 'deferred', 'handled', "
            "'verified', 'returned', 'closed')",
            name=op.f("ck_cases_state"),
        ),
        sa.CheckConstraint(
            "violation IN ('motor_parking', 'non_motor_parking', 'debris', 'bin_overflow', 'exposed_garbage', "
            "'flyposting', 'facade_graffiti')",
            name=op.f("ck_cases_violation"),
        ),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_cases_camera_id_cameras")),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_cases_grid_id_grids")),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"], name=op.f("fk_cases_place_id_places")),
        sa.ForeignKeyConstraint(["previous_case_id"], ["cases.id"], name=op.f("fk_cases_previous_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_cases_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_camera_id_violation"), "cases", ["camera_id", "violation"], unique=False)
    op.create_index(op.f("ix_cases_deadline_at"), "cases", ["deadline_at"], unique=False)
    op.create_index(op.f("ix_cases_grid_id"), "cases", ["grid_id"], unique=False)
    op.create_index(op.f("ix_cases_place_id"), "cases", ["place_id"], unique=False)
    op.create_index(op.f("ix_cases_unit_id"), "cases", ["unit_id"], unique=False)
    op.create_index(op.f("ix_cases_violation_state"), "cases", ["violation", "state"], unique=False)

    op.create_table(
        "zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("polygon", sa.JSON(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(camera_id IS NULL) <> (place_id IS NULL)", name=op.f("ck_zones_one_owner")),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_zones_camera_id_cameras")),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"], name=op.f("fk_zones_place_id_places")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("camera_id", "key", name=op.f("uq_zones_camera_id_key")),
        sa.UniqueConstraint("place_id", "key", name=op.f("uq_zones_place_id_key")),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"], unique=False)

    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("violation", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("zone_key", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("bbox", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_observations_camera_id_cameras")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_observations_case_id_cases")),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"], name=op.f("fk_observations_place_id_places")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_observations_fingerprint")),
    )
    op.create_index(op.f("ix_observations_case_id_seen_at"), "observations", ["case_id", "seen_at"], unique=False)
    op.create_index(op.f("ix_observations_source_sha256"), "observations", ["source_sha256"], unique=False)

    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("violation", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("(verdict = 'relabel') = (violation IS NOT NULL)", name=op.f("ck_verdicts_relabel_target")),
        sa.CheckConstraint("verdict IN ('confirm', 'reject', 'relabel')", name=op.f("ck_verdicts_verdict")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_verdicts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdicts")),
    )
    op.create_index(op.f("ix_verdicts_case_id"), "verdicts", ["case_id"], unique=False)

    op.create_table(
        "case_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('original', 'annotated', 'crop')", name=op.f("ck_case_evidence_kind")),
        sa.CheckConstraint("role IN ('sighting', 'handling', 'before', 'after')", name=op.f("ck_case_evidence_role")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_evidence_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["observation_id"], ["observations.id"], name=op.f("fk_case_evidence_observation_id_observations")
        ),
        sa.ForeignKeyConstraint(["sha256"], ["evidence.sha256"], name=op.f("fk_case_evidence_sha256_evidence")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_evidence")),
        sa.UniqueConstraint(
            "case_id", "sha256", "kind", "role", name=op.f("uq_case_evidence_case_id_sha256_kind_role")
        ),
    )
    _append_only("case_events")


def downgrade() -> None:
    """Drop everything."""
    _drop_append_only("case_events")
    op.drop_table("case_evidence")
    op.drop_index(op.f("ix_verdicts_case_id"), table_name="verdicts")

    op.drop_table("verdicts")
    op.drop_index(op.f("ix_observations_source_sha256"), table_name="observations")
    op.drop_index(op.f("ix_observations_case_id_seen_at"), table_name="observations")

    op.drop_table("observations")
    op.drop_index(op.f("ix_case_events_case_id"), table_name="case_events")

    op.drop_table("case_events")
    op.drop_table("zones")
    op.drop_index(op.f("ix_cases_violation_state"), table_name="cases")
    op.drop_index(op.f("ix_cases_unit_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_place_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_grid_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_deadline_at"), table_name="cases")
    op.drop_index(op.f("ix_cases_camera_id_violation"), table_name="cases")

    op.drop_table("cases")
    op.drop_table("places")
    op.drop_table("cameras")
    op.drop_table("grids")
    op.drop_table("units")
    op.drop_table("evidence")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` in the database itself (the case log is evidence)."""
    message = f"{table} is append-only"
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{verb}")
        return
    op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute(f"DROP FUNCTION {table}_append_only()")
