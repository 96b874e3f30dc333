"""Nightly: ingest the configured source, evaluate every clock, then plan and send touchpoints.

A surge of new emails is held, not sent (the run then ends failed, exit 1, saying so).
Each step is its own transaction in the feature it calls, so a failure or a kill part-way
leaves the previous snapshot and results as they were.
"""

from datetime import date

from ehcp_monitor.checks import run_check
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.jobs import dispatch_touchpoints
from ehcp_monitor.jobs.counts import counts_of
from ehcp_monitor.touchpoints import plan_touchpoints


def run(ctx, as_of: date) -> dict:
    source = ctx.settings.source.location
    if not source:
        raise ConfigError("config: source.location is empty; the nightly job has nothing to ingest")
    with ctx.step("ingest"):
        ctx.counts["ingest"] = counts_of(run_ingest(ctx.engine, ctx.settings, source, as_of=as_of))
    with ctx.step("check"):
        ctx.counts["check"] = counts_of(run_check(ctx.engine, ctx.settings, as_of=as_of))
    with ctx.step("touchpoints_plan"):
        planned = counts_of(plan_touchpoints(ctx.engine, ctx.settings, as_of=as_of, now=ctx.clock()))
        ctx.counts["touchpoints_plan"] = planned
        if planned.get("held"):
            # Nothing of the surge is sent; dispatch still sends what was due before it.
            ctx.report_failure(planned.get("held_reason") or f"held {planned['held']} new emails")
    return dispatch_touchpoints.run(ctx, as_of)
