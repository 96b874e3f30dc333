"""V003: a code or flag is not in its list (outcome, advice type, review outcome, rating, ...)."""

import polars as pl

from ehcp_monitor.domain.canonical import FLAG, table_spec
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.parse import needs_code
from ehcp_monitor.ingest.source import ROW
from ehcp_monitor.ingest.validation.base import Context, issues, shown

CODE = "V003"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name, raw in ctx.raw.items():
        for col in table_spec(name).columns:
            if not needs_code(col) or col.name not in raw.frame.columns:
                continue
            both = raw.frame.select(ROW, pl.col(col.name).alias("raw")).with_columns(
                ctx.parsed[name][col.name].alias("parsed")
            )
            rows = both.filter(pl.col("raw").is_not_null() & pl.col("parsed").is_null())
            allowed = "0/1, true/false or Y/N" if col.kind == FLAG else ", ".join(col.codes)
            # A supplier's own review outcome code is mapped by the LA, never guessed.
            hint = "; map it with ingest.review_outcome_codes" if (name, col.name) == ("reviews", "outcome") else ""
            message = pl.format(f"{col.name} '{{}}' is not one of {allowed}{hint}", shown(pl.col("raw")))
            found.append(issues(name, rows, col.name, message))
    return found
