"""Validation (docs/input-formats.md, Bad input): one rule per module, registered here.

`validate(ctx)` runs every rule, decides what each finding costs (`ingest.disposition`: the row,
some clocks, one value, or nothing), then runs V005, which needs to know which rows were
quarantined so that dependants of a quarantined row follow it. It returns every finding with its
code and action.
"""

import polars as pl

from ehcp_monitor.ingest.disposition import QUARANTINED, decide
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
    v011_fields,
    v012_mobile,
    v013_plan_without_final,
    w004_no_officer,
    w005_future_step,
    w006_same_day_request,
)
from ehcp_monitor.ingest.validation.base import ISSUE_SCHEMA, Context

RULES = (v001_required, v002_date, v003_code, v004_duplicate, v005_reference, v006_order,
         v007_future, v008_outcome_date, v009_email, v010_text, v011_fields, v012_mobile, v013_plan_without_final,
         w004_no_officer, w005_future_step, w006_same_day_request)
REGISTRY = {rule.CODE: rule for rule in RULES}


def _coded(rule, frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    return [f.with_columns(pl.lit(rule.CODE).alias("code")) for f in frames if f.height]


def _run(ctx: Context, rules) -> pl.DataFrame:
    empty = pl.DataFrame(schema={**ISSUE_SCHEMA, "code": pl.Utf8})
    found = [f for rule in rules for f in _coded(rule, rule.find(ctx))]
    return decide(pl.concat([empty, *found], how="vertical"), ctx)


def validate(ctx: Context, earlier: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every finding: table_name, __row, column_name, message, code, action, measure, effect.

    `earlier` are findings made before the rules ran (placeholder dates), decided the same way."""
    first = _run(ctx, [r for r in RULES if not getattr(r, "RUNS_AFTER_QUARANTINE", False)])
    if earlier is not None and earlier.height:
        first = pl.concat([decide(earlier, ctx), first], how="vertical")
    # A row that does not fit its header (V011) has its values in the wrong columns: what the other
    # rules say of them is noise, and could quote a value from a personal column as a code.
    unfit = first.filter(pl.col("code") == v011_fields.CODE).select("table_name", ROW).unique()
    if unfit.height:
        first = pl.concat([first.filter(pl.col("code") == v011_fields.CODE),
                           first.filter(pl.col("code") != v011_fields.CODE).join(unfit, on=["table_name", ROW],
                                                                                 how="anti")])
    quarantined = first.filter(pl.col("action") == QUARANTINED)
    for name in ctx.parsed:
        ctx.bad_rows[name] = quarantined.filter(pl.col("table_name") == name).select(ROW).unique()
    later = _run(ctx, [r for r in RULES if getattr(r, "RUNS_AFTER_QUARANTINE", False)])
    return pl.concat([first, later], how="vertical")


__all__ = ["REGISTRY", "RULES", "Context", "validate"]
