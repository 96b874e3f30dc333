"""`ehcp-monitor report late-list`: the senior team's weekly list (docs/late-list.md)."""

import click

from ehcp_monitor.cli.by_hand import counts_as_job_run
from ehcp_monitor.cli.common import as_of_option, pass_app, resolve_as_of
from ehcp_monitor.clock import now_utc
from ehcp_monitor.errors import JobFailed


@click.command("late-list")
@as_of_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: late_list.out_dir).")
@click.option("--send", is_flag=True, help="Email it to late_list.recipients through the configured transport.")
@pass_app
@counts_as_job_run("weekly_late_list", "report late-list")  # for `health`
def late_list(app, as_of, out_dir, send):
    """The weekly late-plan list as HTML, XLSX and CSV, from the stored check results."""
    from ehcp_monitor.late_list import build_late_list, send_late_list

    result = build_late_list(app.engine, app.settings, as_of=resolve_as_of(as_of), out_dir=out_dir)
    if result.results_as_of is not None and result.as_of > result.results_as_of:
        click.echo(
            f"warning: the list is dated {result.as_of:%d/%m/%Y} but the last check ran as of "
            f"{result.results_as_of:%d/%m/%Y}: its figures are as on that date; run `ehcp-monitor check` "
            "first for current ones", err=True,
        )
    for label, path in (("html", result.html_path), ("xlsx", result.xlsx_path), ("csv", result.csv_path),
                        ("data quality csv", result.data_quality_csv_path)):
        click.echo(f"{label}: {path}")
    c = result.counts
    click.echo(
        f"statutory clocks overdue: {c['statutory_overdue']}; very late: {c['very_late']}; "
        f"very late 20-week cases: {c['very_late_20w']}; open over 52 weeks: {c['over_52_weeks']}; "
        f"at risk: {c['at_risk_20w']}"
    )
    if "new" in c:
        click.echo(f"since the last list: {c['new']} new, {c['resolved']} resolved, {c['still_late']} still late")
    else:
        click.echo("since the last list: no earlier list to compare with")
    if send:
        sent = send_late_list(result, app.settings, now=now_utc())
        click.echo(f"sent to {sent['sent']} of {sent['recipients']} recipients")
        if sent["failed"]:
            raise JobFailed(f"late list: {sent['failed']} of {sent['recipients']} sends failed")
