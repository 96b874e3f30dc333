"""`ehcp-monitor demo`."""

import logging
from pathlib import Path

import click

from ehcp_monitor import logs
from ehcp_monitor.cli.common import as_of_option, resolve_as_of
from ehcp_monitor.demo import run_demo


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("ehcp-monitor-demo"), show_default=True, help="Where the demo writes everything.")
@click.option("--people", type=click.IntRange(100, 100_000), default=3000, show_default=True,
              help="Size of the synthetic caseload.")
@as_of_option
def demo(directory, people, as_of):
    """The whole product end to end on synthetic data, in an embedded SQLite database."""
    # A person is watching: the summary below says what happened; the job log lines would bury it.
    logs.configure(level=logging.WARNING)
    run_demo(directory, people=people, as_of=resolve_as_of(as_of))
