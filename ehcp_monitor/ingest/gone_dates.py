"""Done dates gone from the records (docs/touchpoints.md, When the records change).

A done date the snapshot in force has and the new extract does not (a review left out of a partial
extract, a decision date cleared) turns a step that was done into one that is late, or a review
held into one still to come: a family would be told so. The snapshot guards refuse an extract
that loses a whole table or column, or more than a share of a table's rows; what a partial
extract loses under that share loads. So each ingest compares, case by case, how many dates of
each column of STEP_DONE_DATES (not the audits: no family's step) the two snapshots hold, and
records every case that has fewer now, with the latest date gone; the planner holds that case's
apologies, updates and review reminders for a person. Counted, not matched: a date corrected
(moved) keeps the count. A plan whose latest review is later now has moved on: where an extract
carries only each plan's latest review (SEN2), the last one's dates leave with it (_moved_on).
"""

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_table
from ehcp_monitor.db.gone_dates import FOUND_SCHEMA
from ehcp_monitor.domain.canonical import STEP_DONE_DATES

# Each table's case: the request, or the plan.
CASE_KEY = {"requests": "request_id", "assessments": "request_id", "drafts": "request_id",
            "advice": "request_id", "reviews": "plan_id", "phase_transfers": "plan_id"}
COMPARED: dict[str, list[str]] = {}
for _table, _column, _ in STEP_DONE_DATES:
    if _table in CASE_KEY:
        COMPARED.setdefault(_table, []).append(_column)


def _moved_on(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """plan_id: the plans whose latest review (by its meeting, else its decision) is later in `new`
    than in `old`: where an extract carries only each plan's latest review (SEN2), the last one
    leaves it when the next is recorded, its meeting held and its decision still to come."""
    def latest(frame: pl.DataFrame) -> pl.DataFrame:
        held = pl.coalesce(pl.col("meeting_date").cast(pl.Date), pl.col("decision_date").cast(pl.Date))
        return frame.group_by(pl.col("plan_id").cast(pl.Utf8)).agg(held.max().alias("latest"))
    if not {"meeting_date", "decision_date"} <= set(new.columns):
        return pl.DataFrame(schema={"plan_id": pl.Utf8})
    return (latest(new).join(latest(old), on="plan_id", suffix="_before")
            .filter(pl.col("latest") > pl.col("latest_before")).select("plan_id"))


def gone_dates(conn: Connection, present: set[str] | None, frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """FOUND_SCHEMA: each case and column of which `frames` (the rows that would load) hold fewer
    done dates than the snapshot in force, whose tables are `present` (None: an empty store, and
    nothing to compare). Reads the snapshot in force's keys and done dates, a few columns; counts
    each table's columns per case in one pass on each side, and looks at the dates themselves only
    for the cases with fewer."""
    found = [pl.DataFrame(schema=FOUND_SCHEMA)]
    if present is None:
        return found[0]
    for table, columns in COMPARED.items():
        if table not in present:
            continue
        key = CASE_KEY[table]
        read = [*columns, *(["meeting_date"] if table == "reviews" else [])]
        old = read_table(conn, table, {key: pl.Utf8, **{c: pl.Date for c in read}})
        new = frames.get(table, pl.DataFrame())
        new = new.select(pl.col(key).cast(pl.Utf8) if key in new.columns else pl.lit(None, pl.Utf8).alias(key),
                         *(pl.col(c).cast(pl.Date) if c in new.columns else pl.lit(None, pl.Date).alias(c)
                           for c in read))
        if table == "reviews":
            old = old.join(_moved_on(old, new), on=key, how="anti")
        counts = [pl.col(c).count().alias(c) for c in columns]
        now = [pl.col(f"{c}_now").fill_null(0) for c in columns]
        fewer_than_before = pl.any_horizontal(n < pl.col(c) for n, c in zip(now, columns, strict=True))
        fewer_any = (old.group_by(key).agg(counts)
                     .join(new.group_by(key).agg(counts), on=key, how="left", suffix="_now")
                     .with_columns(now).filter(fewer_than_before))
        if fewer_any.is_empty():
            continue
        cases = fewer_any.select(key)
        old, new = old.join(cases, on=key, how="semi"), new.join(cases, on=key, how="semi")
        for column in columns:
            fewer = fewer_any.filter(pl.col(f"{column}_now") < pl.col(column))
            if fewer.is_empty():
                continue
            had = old.filter(pl.col(column).is_not_null()).join(fewer.select(key), on=key, how="semi")
            # The latest date not there now; a date kept once of two alike: the latest the case had.
            latest_of = pl.col(column).max().alias("latest_gone")
            latest = pl.concat([had.join(new, on=[key, column], how="anti").group_by(key).agg(latest_of),
                                had.group_by(key).agg(latest_of)]).unique(key, keep="first", maintain_order=True)
            found.append(
                fewer.join(latest, on=key, how="left")
                .select(pl.lit(table).alias("table_name"), pl.lit(column).alias("column_name"),
                        (pl.col(key) if key == "request_id" else pl.lit(None, pl.Utf8)).alias("request_id"),
                        (pl.col(key) if key == "plan_id" else pl.lit(None, pl.Utf8)).alias("plan_id"),
                        pl.col(column).cast(pl.Int64).alias("before"),
                        pl.col(f"{column}_now").cast(pl.Int64).alias("after"), "latest_gone"))
    return pl.concat(found, how="vertical_relaxed").select(list(FOUND_SCHEMA))


def gone_summary(gone: pl.DataFrame) -> dict:
    """For the ingest's summary and log: the cases with dates gone, and how many per column."""
    by_column = (gone.group_by(pl.concat_str("table_name", pl.lit("."), "column_name").alias("column")).len()
                 .sort("column"))
    return {"cases": gone.select("request_id", "plan_id").unique().height,
            "by_column": dict(zip(by_column["column"].to_list(), by_column["len"].to_list(), strict=True))}
