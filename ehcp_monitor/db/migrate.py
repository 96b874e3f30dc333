"""Creating and migrating the store with Alembic (`ehcp-monitor init-db`)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ehcp_monitor.db.views import drop_views, ensure_views

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_head(engine: Engine) -> None:
    """Migrate to the head revision and keep the analysts' views current (db.views)."""
    with engine.begin() as connection:
        config = alembic_config(connection)
        current = set(MigrationContext.configure(connection).get_current_heads())
        pending = current != set(ScriptDirectory.from_config(config).get_heads())
        if pending:
            drop_views(connection)  # a migration may alter a table a view reads
        command.upgrade(config, "head")
        ensure_views(connection, force=pending)


def is_current(engine: Engine) -> bool:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    head = ScriptDirectory.from_config(alembic_config()).get_heads()
    return set(current) == set(head)


def autogenerate(engine: Engine, message: str, rev_id: str | None = None) -> None:
    """Developers only: write a new revision from the difference between models and store."""
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id)
