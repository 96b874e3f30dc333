"""`ehcp-monitor touchpoints {plan,dispatch,list,preview,report,release,discard,resolve}`.

Every command imports its own work when it runs (planning, sending and previewing load the
planner, the templates and polars), so `--help` and `touchpoints list` start without them.
"""

import click

from ehcp_monitor.cli.common import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.clock import now_utc, today_in_london
from ehcp_monitor.config import STAGES
from ehcp_monitor.domain.vocabulary import (
    CONTACT_ROLES,
    OUTBOX_STATUS_WORDS,
    OUTBOX_STATUSES,
    PARENT_CARER,
    TOUCHPOINT_STAGE_WORDS,
    YOUNG_PERSON,
    words,
)
from ehcp_monitor.errors import JobFailed


@click.group()
def touchpoints():
    """Messages to families at every stage: plan, send, list, preview, report; release or discard a held surge."""


def _echo_counts(counts: dict) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


def _named_rows_left(counts: dict, action: str) -> None:
    """Exit 1 when a row named by --id was left as it was (sent meanwhile, not held, a mistyped ID):
    a script that released or discarded rows by ID can tell that not all of them were."""
    left = counts.get("not_held") or {}
    if left:
        raise JobFailed(f"touchpoints {action}: {len(left)} of the rows named by --id were not held and are left "
                        "as they are (listed under not_held); check the IDs with `touchpoints list --status held`")


@touchpoints.command("plan")
@as_of_option
@pass_app
def plan(app, as_of):
    """Find every due touchpoint and record it in the outbox (never twice).

    Exits 1 when a surge of new emails was held (see `touchpoints release` and `discard`)."""
    from ehcp_monitor.touchpoints import plan_touchpoints

    counts = plan_touchpoints(app.engine, app.settings, as_of=resolve_as_of(as_of), now=now_utc())
    reason = counts.pop("held_reason", None)
    _echo_counts(counts)
    if reason:
        raise JobFailed(f"touchpoints plan: {reason}")


@touchpoints.command("dispatch")
@as_of_option
@click.option("--dry-run", is_flag=True, help="Render and check what would be sent; send nothing.")
@pass_app
def dispatch(app, as_of, dry_run):
    """Send the outbox's due emails. Exits 1 when any failed or may not have arrived."""
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
    """List the outbox, newest first (after the go-live date and anything held).

    Stages and statuses are shown in words; --stage and --status take the codes (docs/touchpoints.md)."""
    from ehcp_monitor.touchpoints.golive import go_live_of
    from ehcp_monitor.touchpoints.hold import held_now
    from ehcp_monitor.touchpoints.review import outbox_rows

    click.echo(go_live_of(app.engine, app.settings).describe())
    held = held_now(app.engine)
    if held.count:
        click.echo(held.line())
    click.echo("id\tstage\tcase\tevent_date\toutcome\tcontact\tstatus\tattempts\tnext_attempt\tsent_at\tnote")
    for r in outbox_rows(app.engine, status=status, stage=stage, limit=limit):
        note = r.reason or r.last_error or ""
        click.echo("\t".join(str(v) if v is not None else "" for v in (
            r.id, words(r.stage, TOUCHPOINT_STAGE_WORDS), r.case_ref, r.event_date, r.variant, r.contact_id,
            words(r.status, OUTBOX_STATUS_WORDS), r.attempts, r.next_attempt_at, r.sent_at, note)))


@touchpoints.command("preview")
@click.argument("stage", type=click.Choice(STAGES))
@click.option("--case", "case_ref", required=True, help="The case reference (request ID, else plan ID).")
@click.option("--variant", default=None, help="Outcome variant, e.g. maintain, amend or cease.")
@click.option("--part", type=click.Choice(["text", "html", "both", "sms"]), default="both", show_default=True,
              help="The email's plain text, its HTML, both, or the text message.")
@click.option("--to", "role", type=click.Choice(CONTACT_ROLES), default=PARENT_CARER, show_default=True,
              help="Whom it is written to: a parent carer, or the young person themselves.")
@as_of_option
@pass_app
def preview(app, stage, case_ref, variant, part, role, as_of):
    """Render one touchpoint of a case for review, as it would be sent."""
    from ehcp_monitor.touchpoints.review import preview as render_preview

    rendered = render_preview(app.engine, app.settings, stage, case_ref, as_of=resolve_as_of(as_of),
                              variant=variant, part=part, to_young_person=role == YOUNG_PERSON)
    if part == "sms":
        click.echo(rendered.sms)
        return
    click.echo(f"Subject: {rendered.subject}\n")
    if part in ("text", "both"):
        click.echo(rendered.text)
    if part in ("html", "both"):
        click.echo(rendered.html)


ONLY_IDS = click.option("--id", "ids", type=click.IntRange(min=1), multiple=True,
                        help="Only this row (repeat for more; IDs from `touchpoints list --status held`).")


@touchpoints.command("release")
@click.option("--stage", type=click.Choice(STAGES), default=None, help="Only this stage (default: all).")
@ONLY_IDS
@click.option("--as-correction", is_flag=True,
              help="With --id: each email says it corrects the earlier one the family was sent (a date or "
                   "outcome that was wrong), and its subject begins \"Correction:\".")
@as_of_option
@pass_app
def release_command(app, stage, ids, as_correction, as_of):
    """Send held emails after all: they become pending (sent by the next dispatch).

    An email whose event is by now older than max_event_age_days is suppressed instead."""
    from ehcp_monitor.touchpoints.hold import release

    if as_correction and not ids:
        raise click.UsageError("--as-correction needs --id: name the emails that correct an earlier one "
                               "(`ehcp-monitor touchpoints list --status held`)")
    counts = release(app.engine, app.settings, stage=stage, as_of=resolve_as_of(as_of), now=now_utc(), ids=ids,
                     as_correction=as_correction)
    _echo_counts(counts)
    if counts["suppressed"]:
        click.echo(f"{counts['suppressed']} held emails were about events older than "
                   f"{app.settings.touchpoints.max_event_age_days} days by now: suppressed, never sent")
    if counts.get("overtaken"):
        click.echo(f"{counts['overtaken']} emails were overtaken: the family has been told later news of the "
                   "case since (or, for a request received, is to be sent an apology for its decision), so they "
                   "are discarded, not sent (`touchpoints list --status discarded`)")
    if counts.get("kept_for_review"):
        click.echo(f"{counts['kept_for_review']} held emails were held for a reason of their own (a correction of "
                   "what the family was sent, records in doubt) and stay held: read each reason "
                   "(`touchpoints list --status held`), then `release --id N` (with `--as-correction` when it "
                   "corrects the earlier message) or `discard --id N`")
    if counts.get("two_outcomes_kept"):
        click.echo(f"{counts['two_outcomes_kept']} held emails tell an outcome another held email of the same "
                   "decision contradicts: still held; release the right one and discard the other by --id "
                   "(`ehcp-monitor touchpoints list --status held`)")
    click.echo("released emails are sent by the next dispatch (`ehcp-monitor touchpoints dispatch`)"
               if counts["released"] else "nothing released")
    _named_rows_left(counts, "release")


@touchpoints.command("discard")
@click.option("--stage", type=click.Choice(STAGES), default=None, help="Only this stage (default: all).")
@ONLY_IDS
@pass_app
def discard_command(app, stage, ids):
    """Never send held emails: they become discarded.

    Without --id only a surge's: an email held for a reason of its own (a correction of what the
    family was sent) stays held until named by --id."""
    from ehcp_monitor.touchpoints.hold import discard

    counts = discard(app.engine, stage=stage, now=now_utc(), ids=ids)
    _echo_counts(counts)
    if counts.get("kept_for_review"):
        click.echo(f"{counts['kept_for_review']} held emails were held for a reason of their own (a correction of "
                   "what the family was sent, records in doubt) and stay held: read each reason "
                   "(`touchpoints list --status held`), then `release --id N` or `discard --id N`")
    _named_rows_left(counts, "discard")


@touchpoints.command("retry")
@click.option("--stage", type=click.Choice(STAGES), default=None, help="Only this stage (default: all).")
@click.option("--id", "ids", type=click.IntRange(min=1), multiple=True,
              help="Only this row (repeat for more; IDs from `touchpoints list --status failed`).")
@pass_app
def retry_command(app, stage, ids):
    """Send failed messages again once the cause is fixed (a relay back up, an address put right):
    they become pending, sent by the next dispatch. Only those whose event is still recent enough
    to tell (max_event_age_days)."""
    from ehcp_monitor.touchpoints.failed import retry_failed

    counts = retry_failed(app.engine, app.settings, stage=stage, today=today_in_london(), now=now_utc(), ids=ids)
    _echo_counts(counts)
    if counts.get("overtaken"):
        click.echo(f"{counts['overtaken']} messages were overtaken: the family has been told later news of "
                   "the case since (or, for a request received, is to be sent an apology for its decision), so "
                   "they are discarded, not sent (`touchpoints list --status discarded`)")
    click.echo("retried messages are sent by the next dispatch (`ehcp-monitor touchpoints dispatch`)"
               if counts["retried"] else "nothing to retry: no failed message recent enough to tell")


@touchpoints.command("resolve")
@click.argument("touchpoint_id", type=click.IntRange(min=1))
@click.option("--arrived/--not-arrived", required=True,
              help="What you found: the family got it (recorded sent), or not (sent again after the next "
                   "planning run, if the records still have its event).")
@pass_app
def resolve_command(app, touchpoint_id, arrived):
    """Record what you found about a row in doubt (status unknown), so `health` stops reporting it."""
    from ehcp_monitor.touchpoints.in_doubt import resolve

    click.echo(f"touchpoint #{touchpoint_id}: {resolve(app.engine, touchpoint_id, arrived=arrived, now=now_utc())}")


@touchpoints.command("report")
@as_of_option
@pass_app
def report_command(app, as_of):
    """The promise, measured: stage events told within one working day of being seen, by stage and
    month (docs/touchpoints.md, The promise, measured)."""
    from ehcp_monitor.db.outbox import read_outbox
    from ehcp_monitor.promise import promise_by_stage_and_month

    with app.engine.connect() as conn:
        outbox = read_outbox(conn)
    table = promise_by_stage_and_month(outbox, as_of=resolve_as_of(as_of))
    click.echo("Stage events told within one working day of being seen")
    click.echo("month\tstage\tevents\twithin one working day\t%\tlater\tnot sent\twaiting")
    for r in table.iter_rows(named=True):
        share = "" if r["share_within"] is None else f"{r['share_within']:.1f}"
        click.echo("\t".join(str(v) for v in (
            f"{r['month']:%Y-%m}", words(r["stage"], TOUCHPOINT_STAGE_WORDS), r["events"], r["within"], share,
            r["later"], r["not_sent"], r["waiting"])))
    if table.is_empty():
        click.echo("(no stage events seen yet)")
