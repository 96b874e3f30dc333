"""Store and case-record commands: init-db, ingest, quarantine."""

import sys
from pathlib import Path

import click

from ehcp_monitor.cli.common import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.clock import now_utc
from ehcp_monitor.errors import ConfigError


@click.command("init-db")
@pass_app
def init_db(app):
    """Create or migrate the store (Alembic upgrade head)."""
    from ehcp_monitor.db.connect import engine_for
    from ehcp_monitor.db.migrate import upgrade_head

    engine = engine_for(app.settings)
    upgrade_head(engine)
    click.echo(f"store is at the latest schema ({engine.dialect.name})")


def _codes(by_code: dict[str, int]) -> str:
    return ", ".join(f"{code} {n:,}" for code, n in by_code.items()) or "none"


def summary_lines(result) -> list[str]:
    """What an ingest did (docs/input-formats.md, Bad input): per table, then findings by what they cost."""
    lines = [f"ingest #{result.ingest_id} ({result.source_kind}): {result.status}, {result.message}",
             f"{'table':<16}{'read':>9}{'loaded':>9}{'quarantined':>13}  by code"]
    for table, c in result.counts.items():
        lines.append(f"{table:<16}{c['read']:>9}{c['loaded']:>9}{c['quarantined']:>13}  {_codes(c['by_code'])}")
    s = result.summary
    if s:
        lines += [
            f"quarantined rows by code: {_codes(s['quarantined_by_code'])}",
            f"clocks withheld by code:  {_codes(s['withheld_by_code'])}",
            f"values cleared by code:   {_codes(s['cleared_by_code'])}",
            f"warnings by code:         {_codes(s['warnings_by_code'])}",
            f"cases fully monitored:    {s['cases_fully_monitored']:,} of {s['cases']:,} "
            f"({s['share_fully_monitored']:.1%}); details: ehcp-monitor quarantine",
        ]
    return lines


@click.command()
@click.argument("source")
@as_of_option
@click.option("--accept-missing", "accept_missing", multiple=True, metavar="TABLE[.COLUMN]",
              help="Load even though TABLE (or TABLE.COLUMN), which the snapshot in force has rows "
                   "(values) for, is absent (this ingest only; repeatable).")
@click.option("--accept-shrink", "accept_shrink", is_flag=True,
              help="Load even though a table shrinks by more than ingest.max_shrink_share (this ingest only).")
@pass_app
def ingest(app, source, as_of, accept_missing, accept_shrink):
    """Load a snapshot from SOURCE: a folder or workbook (canonical or SEN2), or sql:NAME."""
    from ehcp_monitor.ingest import run_ingest
    from ehcp_monitor.ingest.guards import ingest_notes, requested_overrides

    requested_overrides(accept_missing, accept_shrink)  # a table that does not exist: exit 2 here
    result = run_ingest(app.engine, app.settings, source, as_of=resolve_as_of(as_of), now=now_utc(),
                        accept_missing=tuple(accept_missing), accept_shrink=accept_shrink)
    for line in summary_lines(result) + ingest_notes(app.engine, result.ingest_id):
        click.echo(line)


@click.command()
@click.option("--ingest", "ingest_id", type=click.IntRange(min=1), default=None,
              help="Report on this ingest (default: the last one, loaded or refused).")
@click.option("--all", "show_all", is_flag=True, help="After the summary, list every finding.")
@click.option("--csv", "as_csv", is_flag=True, help="Write every finding as CSV to stdout (nothing else).")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None,
              help="Write a workbook for the data team: a summary sheet and one sheet per code.")
@pass_app
def quarantine(app, ingest_id, show_all, as_csv, xlsx_path):
    """The data quality report of an ingest: its findings by code, table and column, with examples."""
    from ehcp_monitor.data_quality import finding_lines, findings_csv, load_report, workbook_bytes
    from ehcp_monitor.data_quality import summary_lines as report_lines
    from ehcp_monitor.private_files import write_private

    with app.engine.connect() as conn:
        report = load_report(conn, ingest_id)
    if report is None and ingest_id is not None:
        raise ConfigError(f"quarantine: there is no ingest #{ingest_id}")
    if xlsx_path:
        if report is None:
            click.echo("no ingest yet: no workbook written", err=as_csv)
        else:
            write_private(Path(xlsx_path), workbook_bytes(report))
            click.echo(f"xlsx: {xlsx_path}", err=as_csv)
    if as_csv:
        sys.stdout.buffer.write(findings_csv(report))
        sys.stdout.flush()
        return
    if report is None:
        if not xlsx_path:
            click.echo("no ingest yet")
        return
    for line in report_lines(report):
        click.echo(line)
    if show_all and report.total:
        click.echo("")
        click.echo(f"every finding ({report.total:,}):")
        for line in finding_lines(report):
            click.echo(line)
