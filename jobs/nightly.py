"""Nightly: ingest the configured source, evaluate every clock, then plan and send touchpoints.

A surge of new emails is held, not sent (the run then ends failed, exit 1, saying so).
Each step is its own transaction in the capability it calls, so a failure or a kill part-way
leaves the previous snapshot and results as they were.
"""

from datetime import date

from ehcp_monitor.errors import ConfigError
from jobs import dispatch_touchpoints
from jobs.counts import counts_of


def run(ctx, as_of: date) -> dict:
    source = ctx.settings.source.location
    if not source:
        raise ConfigError("config: source.location is empty; the nightly job has nothing to ingest")
    with ctx.step("ingest"):
        run_ingest = ctx.capability("ehcp_monitor.ingest", "run_ingest")
        ctx.counts["ingest"] = counts_of(run_ingest(ctx.engine, ctx.settings, source, as_of=as_of))
    with ctx.step("check"):
        run_check = ctx.capability("ehcp_monitor.checks", "run_check")
        ctx.counts["check"] = counts_of(run_check(ctx.engine, ctx.settings, as_of=as_of))
    with ctx.step("touchpoints_plan"):
        plan = ctx.capability("ehcp_monitor.touchpoints", "plan_touchpoints")
        planned = counts_of(plan(ctx.engine, ctx.settings, as_of=as_of))
        ctx.counts["touchpoints_plan"] = planned
        if planned.get("held"):
            # Nothing of the surge is sent; dispatch still sends what was due before it.
            ctx.report_failure(planned.get("held_reason") or f"held {planned['held']} new emails")
    return dispatch_touchpoints.run(ctx, as_of)
