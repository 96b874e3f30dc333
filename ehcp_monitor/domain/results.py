"""The results contract (docs/rules.md, The results contract): columns, types and order.

Pure: it imports nothing of ours (the CSV form is `ehcp_monitor.exports.write_results_csv`).
"""

from collections.abc import Mapping

import polars as pl

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


def finish(parts: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> pl.DataFrame:
    """The contract's frame from one frame of instances per measure, in any order.

    Measure is the first sort key, so each measure is sorted on its own (in parallel) and the
    sorted parts are stacked in measure order: the same rows as one sort of the whole result.
    """
    keys = [k for k in SORT_KEYS + _TIE_BREAK if k != "measure"]
    ordered = [parts[m].lazy().sort(keys, nulls_last=False, maintain_order=True) for m in sorted(parts)]
    return stack(dict(zip(sorted(parts), pl.collect_all(ordered, engine="in-memory"), strict=True)))


def stack(parts: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The contract's frame from one frame per measure already in the contract's order."""
    if not parts:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    typed = [pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()]
    # One contiguous frame: each later pass over millions of rows (the counts, the filters, the
    # writes) is several times faster than over one chunk per measure (bench/README.md, twelfth session).
    return pl.concat([parts[m].select(typed) for m in sorted(parts)], rechunk=True)


def by_measure(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Split instances of several measures into the one-frame-per-measure form `finish` takes."""
    return {m: part for (m,), part in frame.partition_by("measure", as_dict=True).items()}

