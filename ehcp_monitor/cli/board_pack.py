"""`benchmarks import PATH` and `report board-pack --period P`."""

import click

from ehcp_monitor.cli.by_hand import counts_as_job_run
from ehcp_monitor.cli.common import as_of_option, pass_app, resolve_as_of


@click.group()
def benchmarks():
    """DfE's published figures, for comparison in the board pack."""


@benchmarks.command("import")
@click.argument("path", type=click.Path(path_type=str))
@pass_app
def import_command(app, path):
    """Load DfE "Education, health and care plans" CSVs (a file or a folder), as published."""
    from ehcp_monitor.board_pack.benchmarks import import_benchmarks

    result = import_benchmarks(app.engine, path)
    for report in result.reports:
        click.echo(f"benchmarks: {report.line()}")
    click.echo(f"benchmarks: {result.rows} figures stored from {len(result.files)} files")


@click.command("board-pack")
@click.option("--period", required=True, help="A month (2025-06), quarter (2025-Q2) or year (2025).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: board_pack.out_dir).")
@click.option("--publish", is_flag=True, help="Suppress counts of 1-4 (and rates from them) as c.")
@as_of_option
@pass_app
@counts_as_job_run("board_pack", "report board-pack")  # for `health`
def board_pack_command(app, period, out_dir, publish, as_of):
    """The Partnership Board performance pack, HTML and PDF."""
    from ehcp_monitor.board_pack import build_board_pack, parse_period

    parsed = parse_period(period)  # a bad period stops before the store is opened
    result = build_board_pack(app.engine, app.settings, period=parsed, as_of=resolve_as_of(as_of),
                              out_dir=out_dir, publish=publish)
    click.echo(f"board pack (HTML): {result.html_path}")
    click.echo(f"board pack (PDF): {result.pdf_path}")
