"""`ehcp-monitor check`."""

from pathlib import Path

import click

from ehcp_monitor.cli.common import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.domain.vocabulary import STATUS_WORDS


@click.command("check")
@as_of_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the results as CSV (docs/rules.md, The results contract).")
@pass_app
def check(app, as_of, out):
    """Evaluate every clock on the current snapshot and store the results."""
    from ehcp_monitor.checks import run_check
    from ehcp_monitor.exports import write_results_csv

    summary = run_check(app.engine, app.settings, as_of=resolve_as_of(as_of))
    if summary.ingest_id is None:
        click.echo("no snapshot loaded yet: run `ehcp-monitor ingest SOURCE` first")
    click.echo(f"check run {summary.run_id} as of {summary.as_of.isoformat()}: {summary.results} clocks")
    for status, count in summary.by_status.items():
        click.echo(f"  {STATUS_WORDS.get(status, status)}: {count}")
    click.echo(f"very late: {summary.very_late}")
    if out is not None:
        write_results_csv(summary.frame, out)
        click.echo(f"results: {out}")
