"""The senior team's weekly late list: build it from the stored results, then send it."""

from datetime import date
from pathlib import Path

from ehcp_monitor.jobs.counts import counts_of
from ehcp_monitor.late_list import build_late_list, send_late_list


def run(ctx, as_of: date) -> dict:
    with ctx.step("late_list_build"):
        result = build_late_list(ctx.engine, ctx.settings, as_of=as_of, out_dir=Path(ctx.settings.late_list.out_dir))
        ctx.counts["late_list_build"] = counts_of(result)
    if ctx.settings.late_list.recipients:
        with ctx.step("late_list_send"):
            sent = counts_of(send_late_list(result, ctx.settings, now=ctx.now))
            ctx.counts["late_list_send"] = sent
            if sent.get("failed"):
                ctx.report_failure(f"the late list could not be sent to {sent['failed']} recipients")
    else:
        ctx.counts["late_list_send"] = {"skipped": "late_list.recipients is empty"}
    return ctx.counts
