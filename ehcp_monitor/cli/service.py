"""The scheduled service: `run JOB`, `serve`, `jobs`, `health`."""

import functools
import logging
import signal
import sys
import threading
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from ehcp_monitor.cli import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.clock import now_utc
from ehcp_monitor.config import JOB_NAMES
from ehcp_monitor.errors import ConfigError, JobFailed


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
    from ehcp_monitor import logs
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


def counts_as_job_run(job: str, command: str):
    """Decorator: a by-hand report command counts as a run of `job` (for `health` and `jobs`)."""

    def wrap(f):
        @functools.wraps(f)
        def inner(app, *args, **kwargs):
            from ehcp_monitor.scheduling.by_hand import recorded_as

            with recorded_as(app.engine, job, as_of=resolve_as_of(kwargs.get("as_of")), command=command):
                return f(app, *args, **kwargs)

        return inner

    return wrap


@click.command("serve")
@pass_app
def serve_command(app):
    """The long-running scheduler; SIGTERM or SIGINT stops it cleanly (exit 0)."""
    from ehcp_monitor.scheduling.service import serve

    if app.settings["schedule.nightly.enabled"] and not app.settings.source.location:
        raise ConfigError("config: source.location is empty, so the nightly job would have nothing to "
                          "ingest; set it (or disable schedule.nightly) before `serve`")
    from ehcp_monitor.scheduling.runs import record_service_start

    record_service_start(app.engine, now=now_utc())  # `health` waits for each job's first time
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
    _touchpoint_lines(app)


def _touchpoint_lines(app) -> int:
    """The touchpoints' go-live, and what is held; returns how many emails are held."""
    from ehcp_monitor.touchpoints.golive import go_live_of
    from ehcp_monitor.touchpoints.hold import held_now

    click.echo(f"touchpoints {go_live_of(app.engine, app.settings).describe()}")
    held = held_now(app.engine)
    if held.count:
        click.echo(held.line())
    return held.count


@click.command("health")
@pass_app
def health_command(app):
    """Exit 1 naming each enabled job whose last success is older than its max_age_hours, or
    while touchpoint emails are held or in doubt."""
    from ehcp_monitor.scheduling.health import rows_in_doubt
    from ehcp_monitor.touchpoints.hold import held_now

    tz, states = _states(app)
    late = []
    for s in states:
        if not s.schedule.enabled:
            click.echo(f"{s.job}: disabled")
        elif s.problem:
            late.append(s.job)
            click.echo(f"{s.job}: LATE, {s.problem}")
        elif s.last_success is None:
            click.echo(f"{s.job}: ok, waiting for its first scheduled run ({_when(s.next_run, tz)})")
        else:
            click.echo(f"{s.job}: ok, last success {_when(s.last_success, tz)}")
    held = held_now(app.engine)
    problems = [f"{', '.join(late)} overdue"] if late else []
    if held.count:
        click.echo(held.line())
        problems.append(f"{held.count} touchpoint emails held")
    in_doubt = rows_in_doubt(app.engine, now_utc())  # a crash mid-send, or sends that may not have arrived
    if in_doubt.count:
        click.echo(in_doubt.line())
        problems.append(f"{in_doubt.count} touchpoint emails in doubt")
    if problems:
        raise JobFailed(f"health: {'; '.join(problems)}")


def register(group) -> None:
    for command in (run_command, serve_command, jobs_command, health_command):
        group.add_command(command)
