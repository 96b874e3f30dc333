"""W004: an open plan with no case officer, in a source that records officers (a warning)."""

import polars as pl

from ehcp_monitor.ingest.validation.base import Context, issues
from ehcp_monitor.ingest.warnings import WARNINGS

CODE = "W004"
TITLE, DESCRIPTION = WARNINGS[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    requests, plans = ctx.parsed.get("requests"), ctx.parsed.get("plans")
    if requests is None or plans is None or "case_officer" not in ctx.raw["requests"].frame.columns:
        return []
    officers = requests.select("request_id", "case_officer").filter(pl.col("case_officer").is_not_null())
    if officers.is_empty():
        return []  # a source that records no officers at all (SEN2) is not told so on every plan
    rows = (
        plans.filter(pl.col("cease_date").is_null())
        .join(officers.unique("request_id"), on="request_id", how="left")
        .filter(pl.col("case_officer").is_null())
    )
    return [issues("plans", rows, "request_id", "open plan with no case officer recorded")]
