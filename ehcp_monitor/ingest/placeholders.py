"""Placeholder dates (W002): what case systems write when they hold no date.

1900-01-01 (and Excel's day zero, 1899-12-30) or 9999-12-31 in a date column is not a date the
LA recorded. It is blanked before validation, with a W002 warning, so that whatever an empty
value means for that column follows: a historical record's empty date is a warning (W001), a
new request's empty received date quarantines it (V001). Never a 125-year-old overdue clock.
"""

from datetime import date

import polars as pl

from ehcp_monitor.ingest.source import ROW, RawTable
from ehcp_monitor.ingest.validation.base import issues
from ehcp_monitor.schema.canonical import DATE, table_spec

PLACEHOLDER_DATES = (date(1899, 12, 30), date(1900, 1, 1), date(9999, 12, 31))


def blank_placeholders(raw: dict[str, RawTable], parsed: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Blank every placeholder date in `raw` and `parsed` (in place); the W002 findings."""
    found = []
    for name, table in raw.items():
        frame = parsed[name]
        for col in table_spec(name).columns:
            if col.kind != DATE or col.name not in table.frame.columns:
                continue
            hit = pl.col(col.name).is_in(PLACEHOLDER_DATES)
            rows = frame.filter(hit).select(ROW, pl.col(col.name).alias("value"))
            if rows.is_empty():
                continue
            message = pl.format(f"{col.name} {{}} looks like a placeholder and is treated as empty",
                                pl.col("value").dt.strftime("%Y-%m-%d"))
            found.append(issues(name, rows, col.name, message).with_columns(pl.lit("W002").alias("code")))
            blank = pl.col(ROW).is_in(rows[ROW].implode())
            parsed[name] = frame = frame.with_columns(
                pl.when(blank).then(None).otherwise(pl.col(col.name)).alias(col.name))
            table.frame = table.frame.with_columns(
                pl.when(blank).then(None).otherwise(pl.col(col.name)).alias(col.name))
    if not found:
        return pl.DataFrame(schema={"table_name": pl.Utf8, ROW: pl.UInt32, "column_name": pl.Utf8,
                                    "message": pl.Utf8, "effect": pl.Utf8, "code": pl.Utf8})
    return pl.concat(found)
