"""W005: a step recorded as done on a date after the as-of date (a warning).

The clocks take such a date as not yet known (docs/rules.md, Status on the as-of date), so the step counts as not done
until that day: a decision typed 2027 for 2026 leaves its clock open, and overdue, with no other
sign. The row loads as it is; the data team is told.
"""

import polars as pl

from ehcp_monitor.domain.canonical import STEP_DONE_DATES
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "W005"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

DONE = STEP_DONE_DATES


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for table, column, step in DONE:
        frame = ctx.parsed.get(table)
        if frame is not None and column in frame.columns:
            rows = frame.filter(pl.col(column) > ctx.as_of)
            found.append(issues(table, rows, column, f"{step} dated after the as-of date: not counted as done "
                                                     "until that date (a mistyped year?)"))
    return found
