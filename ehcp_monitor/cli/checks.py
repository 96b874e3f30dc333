"""`ehcp-monitor check` and `ehcp-monitor rules`."""

from pathlib import Path

import click

from ehcp_monitor.cli import as_of_option, pass_app, resolve_as_of


@click.command("check")
@as_of_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the results as CSV (outputs.md section 2).")
@pass_app
def check(app, as_of, out):
    """Evaluate every clock on the current snapshot and store the results."""
    from ehcp_monitor.checks import run_check
    from ehcp_monitor.domain.results import write_results_csv

    summary = run_check(app.engine, app.settings, as_of=resolve_as_of(as_of))
    if summary.ingest_id is None:
        click.echo("no snapshot loaded yet: run `ehcp-monitor ingest SOURCE` first")
    click.echo(f"check run {summary.run_id} as of {summary.as_of.isoformat()}: {summary.results} clocks")
    for status, count in summary.by_status.items():
        click.echo(f"  {status}: {count}")
    click.echo(f"very late: {summary.very_late}")
    if out is not None:
        write_results_csv(summary.frame, out)
        click.echo(f"results: {out}")


@click.command("rules")
@pass_app
def rules(app):
    """List every measure: code, kind, basis, due rule and the settings in force."""
    from ehcp_monitor.domain.measures import MEASURES

    for m in MEASURES:
        click.echo(f"{m.code}  ({m.kind}; {m.basis})")
        click.echo(f"  {m.description}")
        click.echo(f"  applies to: {m.applies_to}")
        click.echo(f"  starts: {m.anchor}")
        click.echo(f"  due: {m.due_rule}")
        click.echo(f"  completed by: {m.completed_by}")
        in_force = m.settings_in_force(app.settings)
        settings_text = ", ".join(f"{k} = {v}" for k, v in in_force.items()) or "none"
        click.echo(f"  settings: {settings_text}")
    click.echo(f"every measure: rules.due_soon_days = {app.settings.rules.due_soon_days}")


def register(group) -> None:
    group.add_command(check)
    group.add_command(rules)
