"""Validation V001-V010 (input-format.md section 4): one rule per module, registered here.

`validate(ctx)` runs every rule, then V005 (which needs to know what the others quarantined, so
dependants of a quarantined row follow it), and returns every issue with its code.
"""

import polars as pl

from ehcp_monitor.ingest.source import ROW
from ehcp_monitor.ingest.validation import (
    v001_required,
    v002_date,
    v003_code,
    v004_duplicate,
    v005_reference,
    v006_order,
    v007_future,
    v008_outcome_date,
    v009_email,
    v010_text,
)
from ehcp_monitor.ingest.validation.base import ISSUE_SCHEMA, Context

RULES = (v001_required, v002_date, v003_code, v004_duplicate, v005_reference, v006_order,
         v007_future, v008_outcome_date, v009_email, v010_text)
REGISTRY = {rule.CODE: rule for rule in RULES}


def _coded(rule, frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    return [f.with_columns(pl.lit(rule.CODE).alias("code")) for f in frames if f.height]


def validate(ctx: Context) -> pl.DataFrame:
    """Every issue: table_name, __row, column_name, message, code."""
    empty = pl.DataFrame(schema={**ISSUE_SCHEMA, "code": pl.Utf8})
    first = [f for rule in RULES if not getattr(rule, "RUNS_AFTER_QUARANTINE", False)
             for f in _coded(rule, rule.find(ctx))]
    found = pl.concat([empty, *first], how="vertical")
    for name in ctx.parsed:
        ctx.bad_rows[name] = found.filter(pl.col("table_name") == name).select(ROW).unique()
    later = [f for rule in RULES if getattr(rule, "RUNS_AFTER_QUARANTINE", False)
             for f in _coded(rule, rule.find(ctx))]
    return pl.concat([found, *later], how="vertical")


__all__ = ["REGISTRY", "RULES", "Context", "validate"]
