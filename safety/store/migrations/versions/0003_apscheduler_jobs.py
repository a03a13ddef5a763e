"""apscheduler_jobs: the scheduler's job store, created by the migration rather than by APScheduler

Two scheduler processes starting at once on a fresh PostgreSQL database would both find the table
missing and both create it (one fails). Created here, under the migration lock, it already exists
when APScheduler checks.

Revision ID: 0003_apscheduler_jobs
Revises: 0002_job_run_scheduled_for
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_apscheduler_jobs"
down_revision = "0002_job_run_scheduled_for"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a store that ran a scheduler before this migration already has the table APScheduler made
    if sa.inspect(op.get_bind()).has_table("apscheduler_jobs"):
        return
    # the columns of apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore (APScheduler 3.x)
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("apscheduler_jobs")
