"""V004: a duplicate ID.

We cannot tell which of two rows sharing a key is right, so every row sharing it is quarantined.
"""

import polars as pl

from ehcp_monitor.domain.canonical import table_spec
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V004"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name, parsed in ctx.parsed.items():
        spec = table_spec(name)
        key = list(spec.key)
        required = [k for k in key if spec.column(k).required]
        rows = parsed.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in required])).with_columns(
            pl.len().over(key).alias("sharing")
        ).filter(pl.col("sharing") > 1)
        label = " + ".join(key)
        message = pl.format(f"duplicate {label}: {{}} rows share it", pl.col("sharing"))
        found.append(issues(name, rows, key[0], message))
    return found
