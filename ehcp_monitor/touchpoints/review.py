"""For people: list the outbox, and render one touchpoint of a case before it is sent."""

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from ehcp_monitor.config import STAGES, Settings
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.errors import ConfigError

if TYPE_CHECKING:
    from ehcp_monitor.touchpoints.templates import Rendered


def outbox_rows(engine: Engine, *, status: str | None = None, stage: str | None = None,
                limit: int = 100) -> list:
    """Outbox rows, newest first: IDs, stage, dates and outcome (no names or addresses)."""
    query = select(
        Touchpoint.id, Touchpoint.stage, Touchpoint.case_ref, Touchpoint.event_date, Touchpoint.variant,
        Touchpoint.contact_id, Touchpoint.status, Touchpoint.attempts, Touchpoint.next_attempt_at,
        Touchpoint.sent_at, Touchpoint.reason, Touchpoint.last_error,
    ).order_by(Touchpoint.id.desc()).limit(limit)
    if status:
        query = query.where(Touchpoint.status == status)
    if stage:
        query = query.where(Touchpoint.stage == stage)
    with engine.connect() as conn:
        return conn.execute(query).all()


def preview(engine: Engine, settings: Settings, stage: str, case_ref: str, *, as_of: date,
            variant: str | None = None, part: str = "both", to_young_person: bool = False) -> "Rendered":
    """Render the latest `stage` event of a case as it would be sent (to "parent or carer", or
    to the young person themselves)."""
    # The events and the templates (polars, Jinja2) only here: `touchpoints list` starts without them.
    import polars as pl

    from ehcp_monitor.db.snapshot import read_snapshot
    from ehcp_monitor.touchpoints.events import find_all
    from ehcp_monitor.touchpoints.planner import read_results
    from ehcp_monitor.touchpoints.templates import Rendered, render, render_text, template_variables

    if stage not in STAGES:
        raise ConfigError(f"touchpoints preview: unknown stage {stage!r} (one of {', '.join(STAGES)})")
    snap = read_snapshot(engine)
    with engine.connect() as conn:
        results = read_results(conn)
    found = find_all(snap, results, settings, as_of=as_of)
    events = found.frame(found.keys.filter((pl.col("stage") == stage) & (pl.col("case_ref") == case_ref))
                         .sort("event_date", descending=True))
    if events.height == 0:
        raise ConfigError(f"touchpoints preview: case {case_ref} has no {stage} event by {as_of.isoformat()}")
    event = events.row(0, named=True)
    variables = template_variables(
        stage=stage, case_ref=case_ref, event_date=event["event_date"],
        variant=variant or event["variant"], context=event["context"], settings=settings,
        to_young_person=to_young_person, sent_on=as_of,
    )
    if part == "sms":  # rendered only when asked for: a broken text override cannot fail an email preview
        return Rendered(subject="", text="", html="", sms=render_text(stage, variables, settings))
    return render(stage, variables, settings)
