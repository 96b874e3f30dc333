"""The scheduled service: `run JOB`, `serve`, `jobs`, `health`."""

import signal
import threading
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from ehcp_monitor.cli import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.clock import now_utc
from ehcp_monitor.config import JOB_NAMES
from ehcp_monitor.errors import JobFailed


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
@pass_app
def run_command(app, job, as_of):
    """Run one scheduled job once, now (for cron, Kubernetes CronJobs, or by hand)."""
    from ehcp_monitor.scheduling.runner import execute_job

    stop = threading.Event()
    with _stop_on_signals(stop):
        outcome = execute_job(job, app.settings, resolve_as_of(as_of), now=now_utc(), stop=stop)
    line = f"{job}: {outcome.status} (run {outcome.run_id})"
    if outcome.error:
        line += f": {outcome.error}"
    click.echo(line, err=outcome.exit_code != 0)
    return outcome.exit_code


@click.command("serve")
@pass_app
def serve_command(app):
    """The long-running scheduler; SIGTERM or SIGINT stops it cleanly (exit 0)."""
    from ehcp_monitor.scheduling.service import serve

    return serve(app.settings)


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _states(app):
    from ehcp_monitor.scheduling.health import job_states
    from ehcp_monitor.scheduling.schedule import schedule_timezone

    tz = schedule_timezone(app.settings)
    return tz, job_states(app.engine, app.settings, now_utc())


@click.command("jobs")
@pass_app
def jobs_command(app):
    """Each job's schedule, next run, last run and its status."""
    tz, states = _states(app)
    rows = [("job", "cron", "next run", "last run", "status", "last success")]
    for s in states:
        last = s.last_run
        rows.append((
            s.job,
            s.schedule.cron if s.schedule.enabled else f"{s.schedule.cron} (disabled)",
            _when(s.next_run, tz),
            _when(last.started_at, tz) if last else "never",
            last.status if last else "-",
            _when(s.last_success, tz),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())


@click.command("health")
@pass_app
def health_command(app):
    """Exit 1 naming each enabled job whose last success is older than its max_age_hours."""
    tz, states = _states(app)
    late = []
    for s in states:
        if not s.schedule.enabled:
            click.echo(f"{s.job}: disabled")
        elif s.problem:
            late.append(s.job)
            click.echo(f"{s.job}: LATE, {s.problem}")
        else:
            click.echo(f"{s.job}: ok, last success {_when(s.last_success, tz)}")
    if late:
        raise JobFailed(f"health: {', '.join(late)} overdue")


def register(group) -> None:
    for command in (run_command, serve_command, jobs_command, health_command):
        group.add_command(command)
