"""app_user.failed_logins, locked_until: repeated wrong passwords lock an account for a while

Revision ID: 0004_app_user_lockout
Revises: 0003_apscheduler_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_app_user_lockout"
down_revision = "0003_apscheduler_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
