"""The monthly Partnership Board pack, for the latest full month before the as-of date."""

from datetime import date, timedelta
from pathlib import Path

from ehcp_monitor.board_pack import build_board_pack
from ehcp_monitor.jobs.counts import counts_of


def latest_full_month(as_of: date) -> str:
    """`2026-02` for any as-of date in March 2026."""
    return (as_of.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def run(ctx, as_of: date) -> dict:
    period = latest_full_month(as_of)
    with ctx.step("board_pack_build"):
        result = build_board_pack(ctx.engine, ctx.settings, period=period, as_of=as_of,
                                  out_dir=Path(ctx.settings.board_pack.out_dir), publish=False)
        ctx.counts["board_pack_build"] = {"period": period, **counts_of(result)}
    return ctx.counts
