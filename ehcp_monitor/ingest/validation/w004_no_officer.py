"""W004: an open plan with no case officer, in a source that records officers (a warning)."""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "W004"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    requests, plans = ctx.parsed.get("requests"), ctx.parsed.get("plans")
    if requests is None or plans is None or "case_officer" not in ctx.raw["requests"].frame.columns:
        return []
    officers = (requests.select("request_id", pl.col("case_officer").alias("request_officer"))
                .filter(pl.col("request_officer").is_not_null()))
    own = pl.col("case_officer") if "case_officer" in plans.columns else pl.lit(None, pl.Utf8)
    if officers.is_empty() and plans.select(own.is_not_null().any()).item() is not True:
        return []  # a source that records no officers at all (SEN2) is not told so on every plan
    # A plan's own officer holds it; else its request's (docs/input-formats.md, Canonical extracts: "Who holds a plan").
    rows = (
        plans.filter(pl.col("cease_date").is_null())
        .join(officers.unique("request_id"), on="request_id", how="left")
        .filter(pl.coalesce(own, pl.col("request_officer")).is_null())
    )
    return [issues("plans", rows, "request_id", "open plan with no case officer recorded")]
