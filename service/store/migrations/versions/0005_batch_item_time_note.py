"""Why a batch photo's EXIF capture time was passed over (an implausible date), kept with the item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("photo_batch_items", sa.Column("time_note", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photo_batch_items") as batch:
        batch.drop_column("time_note")
