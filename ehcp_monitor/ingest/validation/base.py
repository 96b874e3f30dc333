"""What every validation rule gets and gives.

A rule module carries CODE, TITLE, DESCRIPTION and `find(ctx) -> list[pl.DataFrame]` of issue
frames (table_name, __row, column_name, message, effect), built with `issues(...)`. What an issue
costs (the row, some clocks, the value) is decided by `ingest.disposition` from its table and
column; a rule names an `effect` only where the same column can be wrong in ways that cost
different clocks (V006: a review decision before its meeting, or before its plan started).
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from ehcp_monitor.domain.findings import CONTROL_CHARS  # noqa: F401 (the rules import it from here)
from ehcp_monitor.exports import shown  # noqa: F401 (the rules import it from here)
from ehcp_monitor.ingest.source import ROW, RawTable

ISSUE_SCHEMA = {"table_name": pl.Utf8, ROW: pl.UInt32, "column_name": pl.Utf8, "message": pl.Utf8,
                "effect": pl.Utf8}


@dataclass
class Context:
    raw: dict[str, RawTable]
    parsed: dict[str, pl.DataFrame]
    as_of: date
    settings: Any
    # table -> frame of the __row values already quarantined (filled before V005 runs)
    bad_rows: dict[str, pl.DataFrame] = field(default_factory=dict)


def issues(table: str, rows: pl.DataFrame, column: str | None, message: pl.Expr | str,
           effect: str | None = None) -> pl.DataFrame:
    if isinstance(message, str):
        message = pl.lit(message)
    return rows.select(
        pl.lit(table).alias("table_name"),
        pl.col(ROW).cast(pl.UInt32),
        pl.lit(column, pl.Utf8).alias("column_name"),
        message.cast(pl.Utf8).alias("message"),
        pl.lit(effect, pl.Utf8).alias("effect"),
    )




def with_parent(ctx: Context, table: str, parent: str, key: str, columns: list[str]) -> pl.DataFrame | None:
    """`table`'s parsed rows joined to `parent` on `key` (None when absent). A duplicated parent key
    (V004) repeats a row, so callers keep one issue per __row."""
    if table not in ctx.parsed or parent not in ctx.parsed:
        return None
    renamed = ctx.parsed[parent].select([key, *columns]).rename({c: f"parent_{c}" for c in columns})
    return ctx.parsed[table].join(renamed, on=key, how="inner")
