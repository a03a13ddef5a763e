"""job_run.scheduled_for: one row per job and fire time, so two schedulers run a step once

Revision ID: 0002_job_run_scheduled_for
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_job_run_scheduled_for"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a constraint to an existing table without a rebuild
    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_job_run_fire_time", ["job", "scheduled_for"])


def downgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint("uq_job_run_fire_time", type_="unique")
        batch.drop_column("scheduled_for")
