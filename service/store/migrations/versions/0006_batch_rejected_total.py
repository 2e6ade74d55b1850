"""A batch's refused upload entries are counted, and only a bounded sample of them is kept with their reasons.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the count; batches from before it count the entries they kept (they kept all of them)."""
    op.add_column("photo_batches", sa.Column("rejected_total", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE photo_batches SET rejected_total = json_array_length(rejected)")


def downgrade() -> None:
    with op.batch_alter_table("photo_batches") as batch:
        batch.drop_column("rejected_total")
