"""Store and case-record commands: init-db, ingest, quarantine."""

import sys

import click

from ehcp_monitor.cli import as_of_option, pass_app, resolve_as_of


@click.command("init-db")
@pass_app
def init_db(app):
    """Create or migrate the store (Alembic upgrade head)."""
    from ehcp_monitor.db.engine import engine_for
    from ehcp_monitor.db.migrate import upgrade_head

    engine = engine_for(app.settings)
    upgrade_head(engine)
    click.echo(f"store is at the latest schema ({engine.dialect.name})")


def summary_lines(result) -> list[str]:
    lines = [f"ingest #{result.ingest_id} ({result.source_kind}): {result.status}, {result.message}",
             f"{'table':<16}{'read':>9}{'loaded':>9}{'quarantined':>13}  by code"]
    for table, c in result.counts.items():
        codes = ", ".join(f"{code} {n}" for code, n in c["by_code"].items())
        lines.append(f"{table:<16}{c['read']:>9}{c['loaded']:>9}{c['quarantined']:>13}  {codes}")
    return lines


@click.command()
@click.argument("source")
@as_of_option
@pass_app
def ingest(app, source, as_of):
    """Load a snapshot from SOURCE: a folder or workbook (canonical or SEN2), or sql:NAME."""
    from ehcp_monitor.clock import now_utc
    from ehcp_monitor.ingest import run_ingest

    result = run_ingest(app.engine, app.settings, source, as_of=resolve_as_of(as_of), now=now_utc())
    for line in summary_lines(result):
        click.echo(line)


@click.command()
@click.option("--csv", "as_csv", is_flag=True, help="Write the rows as CSV to stdout.")
@pass_app
def quarantine(app, as_csv):
    """List the rows the last ingest quarantined, with codes."""
    from ehcp_monitor.ingest.quarantine import last_ingest_id, quarantined_rows
    from ehcp_monitor.reporting.safe_cells import csv_bytes

    rows = quarantined_rows(app.engine)
    if as_csv:
        sys.stdout.buffer.write(csv_bytes(rows))
        sys.stdout.flush()
        return
    ingest_id = last_ingest_id(app.engine)
    if ingest_id is None:
        click.echo("no ingest yet")
        return
    click.echo(f"ingest #{ingest_id}: {rows.height} quarantined row(s)")
    for r in rows.iter_rows(named=True):
        where = f"{r['source_file']}:{r['source_line']}" if r["source_line"] is not None else r["source_file"]
        column = f" [{r['column_name']}]" if r["column_name"] else ""
        click.echo(f"{r['code']} {r['table_name']} {r['record_id'] or '-'} at {where}{column}: {r['message']}")


def register(cli) -> None:
    for command in (init_db, ingest, quarantine):
        cli.add_command(command)
