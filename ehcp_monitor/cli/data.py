"""Store and case-record commands: init-db, ingest, quarantine."""

import click

from ehcp_monitor.cli import pass_app


@click.command("init-db")
@pass_app
def init_db(app):
    """Create or migrate the store (Alembic upgrade head)."""
    from ehcp_monitor.db.engine import engine_for
    from ehcp_monitor.db.migrate import upgrade_head

    engine = engine_for(app.settings)
    upgrade_head(engine)
    click.echo(f"store is at the latest schema ({engine.dialect.name})")


def register(cli) -> None:
    cli.add_command(init_db)
