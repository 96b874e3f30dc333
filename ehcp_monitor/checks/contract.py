"""The results contract (outputs.md section 2): columns, types, order and the CSV form."""

from pathlib import Path

import polars as pl

from ehcp_monitor.reporting.safe_cells import csv_bytes

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "measure": pl.Utf8,
    "request_id": pl.Utf8,
    "plan_id": pl.Utf8,
    "person_id": pl.Utf8,
    "item": pl.Utf8,
    "anchor_date": pl.Date,
    "due_date": pl.Date,
    "completed_date": pl.Date,
    "status": pl.Utf8,
    "days_late": pl.Int64,
    "exception": pl.Boolean,
    "very_late": pl.Boolean,
    "stage": pl.Utf8,
    "kind": pl.Utf8,
    "basis": pl.Utf8,
}
RESULT_COLUMNS: tuple[str, ...] = tuple(RESULT_SCHEMA)
# The contract's order. Two instances can share all five keys (two reviews of a plan with the
# same meeting date); due date, completion date and status then break the tie. Rows equal on all
# eight are equal in every column (the rest follow from the case, the measure and these dates),
# so every implementation gives the same frame.
SORT_KEYS = ("measure", "request_id", "plan_id", "anchor_date", "item")
_TIE_BREAK = ("due_date", "completed_date", "status")


def finish(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Cast to the contract's types, put the columns in order and sort (nulls first)."""
    typed = frame.lazy().select([pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()])
    return typed.sort(list(SORT_KEYS) + list(_TIE_BREAK), nulls_last=False, maintain_order=True).collect()


def write_results_csv(frame: pl.DataFrame, path: Path) -> int:
    """The CSV of outputs.md section 2 (through safe_cells: no ID can start a formula)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(frame))
    return frame.height
