"""V001: a required value is missing."""

import polars as pl

from ehcp_monitor.domain.canonical import table_spec
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V001"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name, raw in ctx.raw.items():
        for column in table_spec(name).required_columns:
            if column in raw.frame.columns:
                rows = raw.frame.filter(pl.col(column).is_null())
                found.append(issues(name, rows, column, f"{column} is missing"))
    return found
