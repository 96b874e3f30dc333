"""Placeholder dates: what case systems write when they hold no date.

1900-01-01 (and Excel's day zero, 1899-12-30) or 9999-12-31 in a date column is not a date the
LA recorded. It is blanked before validation, never a 125-year-old overdue clock, and then:
- in a required column (a received date, a plan's start) it is a warning, W002, and whatever an
  empty value means there follows: a historical record's empty date is a warning (W001), a new
  request's empty received date quarantines it (V001);
- `9999-12-31` as a plan's cease date is the usual way of writing "not ceased": W002, and the
  plan is open;
- anywhere else (a completion date: a decision, an advice received, a final plan) it is V002, an
  unusable date, with that column's cost: the clocks it would complete are withheld. Read as
  empty it would say "not done yet", and a family could be told a step is late that was done.
"""

from datetime import date

import polars as pl

from ehcp_monitor.domain.canonical import DATE, table_spec
from ehcp_monitor.ingest.disposition import PLACEHOLDER
from ehcp_monitor.ingest.source import ROW, RawTable
from ehcp_monitor.ingest.validation.base import issues

PLACEHOLDER_DATES = (date(1899, 12, 30), date(1900, 1, 1), date(9999, 12, 31))
OPEN_ENDED = (("plans", "cease_date", date(9999, 12, 31)),)


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
            open_ended = [d for t, c, d in OPEN_ENDED if (t, c) == (name, col.name)]
            empty = pl.lit(col.required) | pl.col("value").is_in(open_ended)
            value = pl.col("value").dt.strftime("%Y-%m-%d")
            message = pl.when(empty).then(pl.format(f"{col.name} {{}} looks like a placeholder and is treated as empty",
                                                    value)) \
                .otherwise(pl.format(f"{col.name} {{}} is a placeholder, not a date", value))
            codes = rows.select(pl.when(empty).then(pl.lit("W002")).otherwise(pl.lit("V002")).alias("code"))
            found.append(pl.concat([issues(name, rows, col.name, message, effect=PLACEHOLDER), codes],
                                   how="horizontal"))
            blank = pl.col(ROW).is_in(rows[ROW].implode())
            parsed[name] = frame = frame.with_columns(
                pl.when(blank).then(None).otherwise(pl.col(col.name)).alias(col.name))
            table.frame = table.frame.with_columns(
                pl.when(blank).then(None).otherwise(pl.col(col.name)).alias(col.name))
    if not found:
        return pl.DataFrame(schema={"table_name": pl.Utf8, ROW: pl.UInt32, "column_name": pl.Utf8,
                                    "message": pl.Utf8, "effect": pl.Utf8, "code": pl.Utf8})
    return pl.concat(found)
