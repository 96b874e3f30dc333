"""V002: a date cannot be read in the declared format (never guessed), or its year is not from
1899 to 9999 (parse.FIRST_YEAR, LAST_YEAR)."""

import polars as pl

from ehcp_monitor.domain.canonical import DATE, table_spec
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.source import ROW
from ehcp_monitor.ingest.validation.base import Context, issues, shown

CODE = "V002"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name, raw in ctx.raw.items():
        formats = " or ".join(raw.date_formats)
        for col in table_spec(name).columns:
            if col.kind != DATE or col.name not in raw.frame.columns:
                continue
            both = raw.frame.select(ROW, pl.col(col.name).alias("raw")).with_columns(
                ctx.parsed[name][col.name].alias("parsed")
            )
            rows = both.filter(pl.col("raw").is_not_null() & pl.col("parsed").is_null())
            if col.personal:
                message = pl.lit(f"{col.name} is not a date in the form {formats}")
            else:
                message = pl.format(f"{col.name} '{{}}' is not a date in the form {formats}", shown(pl.col("raw")))
            found.append(issues(name, rows, col.name, message))
    return found
