"""The senior team's weekly late list: build it from the stored results, then send it."""

from datetime import date
from pathlib import Path

from jobs.counts import counts_of


def run(ctx, as_of: date) -> dict:
    with ctx.step("late_list_build"):
        build = ctx.capability("ehcp_monitor.late_list", "build_late_list")
        result = build(ctx.engine, ctx.settings, as_of=as_of, out_dir=Path(ctx.settings.late_list.out_dir))
        ctx.counts["late_list_build"] = counts_of(result)
    if ctx.settings.late_list.recipients:
        with ctx.step("late_list_send"):
            send = ctx.capability("ehcp_monitor.late_list", "send_late_list")
            sent = counts_of(send(result, ctx.settings, now=ctx.now))
            ctx.counts["late_list_send"] = sent
            if sent.get("failed"):
                ctx.report_failure(f"the late list could not be sent to {sent['failed']} recipients")
    else:
        ctx.counts["late_list_send"] = {"skipped": "late_list.recipients is empty"}
    return ctx.counts
