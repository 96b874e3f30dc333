"""V011: a row that does not fit its header.

A row with more values than the header has columns (an officer's name "Smith, Jo" written without
quotes, or a quote out of place) has its values shifted: none of them can be trusted, so the row
is quarantined whole rather than loaded shifted. The text readers count the surplus values
(`__extra_fields`); a row with fewer values than the header reads its missing values as empty.
"""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.source import EXTRA_FIELDS
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V011"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name, raw in ctx.raw.items():
        if EXTRA_FIELDS not in raw.frame.columns:
            continue
        rows = raw.frame.filter(pl.col(EXTRA_FIELDS) > 0)
        message = pl.format("the row has {} more value(s) than the header has columns (a comma or quote "
                            "not inside a quoted value?)", pl.col(EXTRA_FIELDS))
        found.append(issues(name, rows, None, message))
    return found
