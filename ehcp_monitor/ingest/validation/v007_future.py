"""V007: a start date in the future (after the as-of date)."""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V007"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

FUTURE = (
    ("requests", "received_date", "request received after the as-of date"),
    ("plans", "start_date", "plan starts after the as-of date"),
)


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for table, column, message in FUTURE:
        if table in ctx.parsed:
            rows = ctx.parsed[table].filter(pl.col(column) > ctx.as_of)
            found.append(issues(table, rows, column, message))
    return found
