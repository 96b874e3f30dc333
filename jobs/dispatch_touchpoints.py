"""Send the touchpoints that are due (planned by the nightly job, or waiting for a retry)."""

from datetime import date

from ehcp_monitor.jobs.counts import counts_of
from ehcp_monitor.scheduling.context import Interrupted
from ehcp_monitor.touchpoints import dispatch_touchpoints


def run(ctx, as_of: date) -> dict:
    with ctx.step("touchpoints_dispatch"):
        sent = counts_of(dispatch_touchpoints(ctx.engine, ctx.settings, as_of=as_of, now=ctx.now, clock=ctx.clock,
                                             stop=ctx.stop))
        ctx.counts["touchpoints_dispatch"] = sent
        if sent.get("stopped"):  # SIGTERM during a long paced run: the rest wait for the next run
            raise Interrupted("stopped during touchpoints_dispatch")
        if sent.get("failed"):
            ctx.report_failure(f"{sent['failed']} touchpoint sends failed")
        if sent.get("unknown"):
            # A send whose outcome is unknown is never retried; a person must check it.
            ctx.report_failure(f"{sent['unknown']} touchpoint sends have an unknown outcome: see docs/touchpoints.md")
    return ctx.counts
