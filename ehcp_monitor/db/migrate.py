"""Creating and migrating the store with Alembic (`ehcp-monitor init-db`).

Every command that opens the store brings it up to date first. A store already at the head
revision with current views is the usual case: it is recognised with two small queries, without
importing Alembic, a large share of a command's start (bench/README.md).
"""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from ehcp_monitor.db.views import drop_views, ensure_views, views_current

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions (tests/test_migrations.py keeps the two equal).
HEAD_REVISION = "0004"


def alembic_config(connection=None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _at_head(connection: Connection) -> bool:
    if not inspect(connection).has_table("alembic_version"):
        return False
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()) == {HEAD_REVISION}


def upgrade_head(engine: Engine) -> None:
    """Migrate to the head revision and keep the analysts' views current (db.views)."""
    with engine.begin() as connection:
        if _at_head(connection) and views_current(connection):
            return
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = alembic_config(connection)
        current = set(MigrationContext.configure(connection).get_current_heads())
        pending = current != set(ScriptDirectory.from_config(config).get_heads())
        # A migration may alter a table a view reads: the views go first, and come back with
        # the privileges granted on them (an analyst's read-only role).
        grants = drop_views(connection) if pending else []
        command.upgrade(config, "head")
        ensure_views(connection, force=pending, grants=grants)


def is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    head = ScriptDirectory.from_config(alembic_config()).get_heads()
    return set(current) == set(head)


def autogenerate(engine: Engine, message: str, rev_id: str | None = None) -> None:
    """Developers only: write a new revision from the difference between models and store."""
    from alembic import command

    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id)
