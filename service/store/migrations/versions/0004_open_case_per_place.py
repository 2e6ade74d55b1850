"""At most one open case per violation at a place (not told apart by a camera's boxes), enforced by a partial
unique index, so concurrent workers that both see the same violation open one case.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported: a migration keeps meaning what it meant when it was written.
OPEN_PLACE_CASE = "camera_id IS NULL AND place_id IS NOT NULL AND state NOT IN ('closed', 'rejected')"


def upgrade() -> None:
    """Refuse to start over duplicates a race may already have left (an operator rejects one), then index."""
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT violation, place_id, count(*) FROM cases WHERE {OPEN_PLACE_CASE} "
                "GROUP BY violation, place_id HAVING count(*) > 1 ORDER BY violation, place_id"
            )
        )
        .all()
    )
    if duplicates:
        listed = "; ".join(f"{v} at {p}: {n} open cases" for v, p, n in duplicates)
        raise RuntimeError(f"reject or close the duplicate open cases first ({listed})")
    op.create_index(
        "uq_cases_open_place",
        "cases",
        ["violation", "place_id"],
        unique=True,
        postgresql_where=sa.text(OPEN_PLACE_CASE),
        sqlite_where=sa.text(OPEN_PLACE_CASE),
    )


def downgrade() -> None:
    op.drop_index("uq_cases_open_place", table_name="cases")
