"""`ehcp-monitor rules`: every measure with the settings in force."""

import click

from ehcp_monitor.cli.common import pass_app
from ehcp_monitor.domain.measures import MEASURES
from ehcp_monitor.rules_doc import settings_in_force


@click.command("rules")
@pass_app
def rules(app):
    """List every measure: code, kind, basis, due rule and the settings in force."""
    for m in MEASURES:
        click.echo(f"{m.code}  ({m.kind}; {m.basis})")
        click.echo(f"  {m.description}")
        click.echo(f"  applies to: {m.applies_to}")
        click.echo(f"  starts: {m.anchor}")
        click.echo(f"  due: {m.due_rule}")
        click.echo(f"  completed by: {m.completed_by}")
        in_force = settings_in_force(m, app.settings)
        settings_text = ", ".join(f"{k} = {v}" for k, v in in_force.items()) or "none"
        click.echo(f"  settings: {settings_text}")
    click.echo(f"every measure: rules.due_soon_days = {app.settings.rules.due_soon_days}")
