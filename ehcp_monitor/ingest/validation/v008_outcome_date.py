"""V008: an outcome that needs a date has none."""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.source import ROW
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V008"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

# (table, outcome column, outcomes needing a date, date column)
DATED = (
    ("requests", "request_outcome", ("Y", "N"), "request_outcome_date"),
    ("assessments", "assessment_outcome", ("N",), "assessment_outcome_date"),
)


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for table, outcome, needing, date_column in DATED:
        if table not in ctx.parsed:
            continue
        raw = ctx.raw[table].frame
        # An unreadable date is V002's; only a date that is not there at all is V008's.
        absent = raw[date_column].is_null() if date_column in raw.columns else pl.repeat(True, raw.height, eager=True)
        rows = ctx.parsed[table].select(ROW, outcome).with_columns(absent.alias("absent")).filter(
            pl.col(outcome).is_in(list(needing)) & pl.col("absent")
        )
        message = pl.format(f"{outcome} {{}} has no {date_column}", pl.col(outcome))
        found.append(issues(table, rows, date_column, message))
    return found
