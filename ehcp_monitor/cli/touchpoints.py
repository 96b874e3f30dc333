"""`ehcp-monitor touchpoints {plan,dispatch,list,preview}`."""

import click

from ehcp_monitor.cli import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.config import STAGES
from ehcp_monitor.errors import JobFailed
from ehcp_monitor.touchpoints.review import OUTBOX_STATUSES


@click.group()
def touchpoints():
    """Emails to families at every stage: plan, send, list, preview."""


def _echo_counts(counts: dict) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


@touchpoints.command("plan")
@as_of_option
@pass_app
def plan(app, as_of):
    """Find every due touchpoint and record it in the outbox (never twice)."""
    from ehcp_monitor.touchpoints import plan_touchpoints

    _echo_counts(plan_touchpoints(app.engine, app.settings, as_of=resolve_as_of(as_of)))


@touchpoints.command("dispatch")
@as_of_option
@click.option("--dry-run", is_flag=True, help="Render and check what would be sent; send nothing.")
@pass_app
def dispatch(app, as_of, dry_run):
    """Send the outbox's due emails. Exits 1 when any failed or may not have arrived."""
    from ehcp_monitor.clock import now_utc
    from ehcp_monitor.touchpoints import dispatch_touchpoints

    counts = dispatch_touchpoints(app.engine, app.settings, as_of=resolve_as_of(as_of), now=now_utc(),
                                  dry_run=dry_run, clock=now_utc)
    _echo_counts(counts)
    if counts.get("failed") or counts.get("unknown"):
        raise JobFailed(f"touchpoints: {counts.get('failed', 0)} failed, {counts.get('unknown', 0)} "
                        "unknown (see `ehcp-monitor touchpoints list --status failed|unknown`)")


@touchpoints.command("list")
@click.option("--status", type=click.Choice(OUTBOX_STATUSES), default=None)
@click.option("--stage", type=click.Choice(STAGES), default=None)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@pass_app
def list_outbox(app, status, stage, limit):
    """List the outbox, newest first."""
    from ehcp_monitor.touchpoints.review import outbox_rows

    click.echo("id\tstage\tcase\tevent_date\tcontact\tstatus\tattempts\tnext_attempt\tsent_at\tnote")
    for r in outbox_rows(app.engine, status=status, stage=stage, limit=limit):
        note = r.reason or r.last_error or ""
        click.echo("\t".join(str(v) if v is not None else "" for v in (
            r.id, r.stage, r.case_ref, r.event_date, r.contact_id, r.status, r.attempts,
            r.next_attempt_at, r.sent_at, note)))


@touchpoints.command("preview")
@click.argument("stage", type=click.Choice(STAGES))
@click.option("--case", "case_ref", required=True, help="The case reference (request ID, else plan ID).")
@click.option("--variant", default=None, help="Outcome variant, e.g. maintain, amend or cease.")
@click.option("--part", type=click.Choice(["text", "html", "both"]), default="both", show_default=True)
@as_of_option
@pass_app
def preview(app, stage, case_ref, variant, part, as_of):
    """Render one touchpoint of a case for review, as it would be sent."""
    from ehcp_monitor.touchpoints.review import preview as render_preview

    rendered = render_preview(app.engine, app.settings, stage, case_ref, as_of=resolve_as_of(as_of),
                              variant=variant)
    click.echo(f"Subject: {rendered.subject}\n")
    if part in ("text", "both"):
        click.echo(rendered.text)
    if part in ("html", "both"):
        click.echo(rendered.html)


def register(group) -> None:
    group.add_command(touchpoints)
