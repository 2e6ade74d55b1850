"""A unit handler's own unit (责任单位): ``users.unit_id``, so a unit that is no grid's responsible unit (one that
cases are re-dispatched to) can have handlers. Existing handlers keep acting for their grids' units.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable column and its foreign key (in a batch: SQLite cannot add a constraint in place)."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("unit_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key(op.f("fk_users_unit_id_units"), "units", ["unit_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("fk_users_unit_id_units"), type_="foreignkey")
        batch.drop_column("unit_id")
