"""The scheduled service: `run JOB` and `serve`."""

import logging
import signal
import sys
import threading
from contextlib import contextmanager

import click

from ehcp_monitor import logs
from ehcp_monitor.cli.common import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.clock import now_utc
from ehcp_monitor.config import JOB_NAMES
from ehcp_monitor.errors import ConfigError


@contextmanager
def _stop_on_signals(stop: threading.Event):
    """SIGTERM / SIGINT ask the run to stop at its next step boundary (recorded `interrupted`)."""
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command("run")
@click.argument("job", type=click.Choice(JOB_NAMES))
@as_of_option
@click.option("--verbose", is_flag=True, help="Log at debug level too (one line per email sent).")
@pass_app
def run_command(app, job, as_of, verbose):
    """Run one scheduled job once, now (for cron, Kubernetes CronJobs, or by hand)."""
    from ehcp_monitor.scheduling.runner import execute_job

    if verbose:
        logs.configure(level=logging.DEBUG)
    stop = threading.Event()
    with _stop_on_signals(stop):
        # No `now`: the run's clock is the real one, so a long paced dispatch keeps its leases current.
        outcome = execute_job(job, app.settings, resolve_as_of(as_of), stop=stop)
    line = f"{job}: {outcome.status} (run {outcome.run_id})"
    if outcome.error:
        line += f": {outcome.error}"
    click.echo(line, err=outcome.exit_code != 0)
    if sys.stdout.isatty():  # a person is watching: say what the run did
        for row in counts_table(outcome.counts):
            click.echo(row)
    return outcome.exit_code


def _figures(counts: dict) -> str:
    """`sent 12, failed 0, by_stage: delay_notice 3 ...`: the numbers of one step, one level deep."""
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} {v}" for k, v in value.items() if not isinstance(v, (dict, list)))
            if inner:
                parts.append(f"{key}: {inner}")
        elif not isinstance(value, list) and value is not None and len(str(value)) <= 40:
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def counts_table(counts: dict) -> list[str]:
    """The run's counts, one line per step (what `demo` prints for the nightly job)."""
    steps = {step: c for step, c in counts.items() if isinstance(c, dict)}
    if not steps:
        return []
    width = max(len(step) for step in steps)
    return [f"  {step:<{width}}  {_figures(c) or '-'}" for step, c in steps.items()]


@click.command("serve")
@pass_app
def serve_command(app):
    """The long-running scheduler; SIGTERM or SIGINT stops it cleanly (exit 0)."""
    from ehcp_monitor.scheduling.runs import record_service_start
    from ehcp_monitor.scheduling.service import serve

    if app.settings["schedule.nightly.enabled"] and not app.settings.source.location:
        raise ConfigError("config: source.location is empty, so the nightly job would have nothing to "
                          "ingest; set it (or disable schedule.nightly) before `serve`")
    record_service_start(app.engine, now=now_utc())  # `health` waits for each job's first time
    return serve(app.settings)
