"""V010: a text value with control characters, or longer than its column's limit."""

import polars as pl

from ehcp_monitor.domain.canonical import TEXT, table_spec
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import CONTROL_CHARS, Context, issues

CODE = "V010"
TITLE, DESCRIPTION = FINDING_CODES[CODE]
# Line breaks in an email address are V009's (header injection); not reported twice.
LEFT_TO_V009 = {("contacts", "email")}


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name, parsed in ctx.parsed.items():
        present = ctx.raw[name].frame.columns
        for col in table_spec(name).columns:
            if col.kind != TEXT or col.name not in present:
                continue
            value = pl.col(col.name)
            if (name, col.name) not in LEFT_TO_V009:
                rows = parsed.filter(value.str.contains(CONTROL_CHARS))
                found.append(issues(name, rows, col.name, f"{col.name} contains control characters"))
            rows = parsed.filter(value.str.len_chars() > col.max_length)
            found.append(issues(name, rows, col.name, f"{col.name} is longer than {col.max_length} characters"))
    return found
