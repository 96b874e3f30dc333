"""`ehcp-monitor jobs` and `ehcp-monitor health`: each job's state, and whether anything needs a person."""

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from ehcp_monitor.cli.common import pass_app
from ehcp_monitor.clock import now_utc, today_in_london
from ehcp_monitor.errors import JobFailed


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
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
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
    while touchpoint emails are held or in doubt, or messages failed that can still be told."""
    from ehcp_monitor.scheduling.health import rows_in_doubt
    from ehcp_monitor.touchpoints.failed import failed_now
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
    failed = failed_now(app.engine, app.settings, today_in_london())  # a relay down, an address refused
    if failed.count:
        click.echo(failed.line())
        problems.append(f"{failed.count} touchpoint messages failed")
    if problems:
        raise JobFailed(f"health: {'; '.join(problems)}")
