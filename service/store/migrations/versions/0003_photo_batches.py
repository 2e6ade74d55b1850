"""Photo batches and their items, phone numbers read on posters, webhooks and their delivery log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create photo_batches, photo_batch_items, case_phones, webhooks and webhook_deliveries."""
    op.create_table(
        "photo_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("recurred", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.CheckConstraint("state IN ('queued', 'processing', 'done')", name=op.f("ck_photo_batches_state")),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"], name=op.f("fk_photo_batches_place_id_places")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_batches")),
    )
    op.create_index(op.f("ix_photo_batches_state"), "photo_batches", ["state"], unique=False)
    op.create_table(
        "photo_batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("stored", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("place_id", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("detections", sa.Integer(), nullable=True),
        sa.Column("sightings", sa.JSON(), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name=op.f("ck_photo_batch_items_state")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["photo_batches.id"], name=op.f("fk_photo_batch_items_batch_id_photo_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_batch_items")),
        sa.UniqueConstraint("batch_id", "seq", name=op.f("uq_photo_batch_items_batch_id_seq")),
    )
    op.create_index("ix_photo_batch_items_batch_id_state", "photo_batch_items", ["batch_id", "state"], unique=False)
    op.create_table(
        "case_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('mobile', 'landline')", name=op.f("ck_case_phones_kind")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_phones_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["observation_id"], ["observations.id"], name=op.f("fk_case_phones_observation_id_observations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_phones")),
        sa.UniqueConstraint("observation_id", "number", name=op.f("uq_case_phones_observation_id_number")),
    )
    op.create_index(op.f("ix_case_phones_case_id"), "case_phones", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_phones_number"), "case_phones", ["number"], unique=False)
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("after_event_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("case_event_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_state")),
        sa.ForeignKeyConstraint(
            ["case_event_id"], ["case_events.id"], name=op.f("fk_webhook_deliveries_case_event_id_case_events")
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_webhook_deliveries_webhook_id_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("webhook_id", "case_event_id", name=op.f("uq_webhook_deliveries_webhook_id_case_event_id")),
    )
    op.create_index(
        "ix_webhook_deliveries_state_next_attempt_at",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the five tables."""
    op.drop_index("ix_webhook_deliveries_state_next_attempt_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_index(op.f("ix_case_phones_number"), table_name="case_phones")
    op.drop_index(op.f("ix_case_phones_case_id"), table_name="case_phones")
    op.drop_table("case_phones")
    op.drop_index("ix_photo_batch_items_batch_id_state", table_name="photo_batch_items")
    op.drop_table("photo_batch_items")
    op.drop_index(op.f("ix_photo_batches_state"), table_name="photo_batches")
    op.drop_table("photo_batches")
