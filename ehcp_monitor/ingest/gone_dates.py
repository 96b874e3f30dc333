"""Done dates gone from the records (docs/touchpoints.md, When the records change).

A done date the snapshot in force has and the new extract does not (a review left out of a partial
extract, a decision date cleared) turns a step that was done into one that is late, or a review
held into one still to come: a family would be told so. The snapshot guards refuse an extract
that loses a whole table or column, or more than a share of a table's rows; what a partial
extract loses under that share loads. So each ingest compares, case by case, how many dates of
each column of STEP_DONE_DATES (not the audits: no family's step) the two snapshots hold, and
records every case that has fewer now, with the latest date gone; the planner holds that case's
apologies, updates, review reminders and drafts' messages for a person. Counted, not matched: a date corrected
(moved) keeps the count. A case gone whole, or a plan ceased, is counted too (nothing of it is
told while it is gone; back without its dates, it is held). Not counted: the last review's and
transfer's dates of a plan whose extract carries only its latest (SEN2), once the next is
recorded (_without_leftovers).
"""

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_table
from ehcp_monitor.db.gone_dates import FOUND_SCHEMA
from ehcp_monitor.domain.canonical import REVIEW_HISTORY_LATEST_ONLY, STEP_DONE_DATES

# Each table's case: the request, or the plan.
CASE_KEY = {"requests": "request_id", "assessments": "request_id", "drafts": "request_id",
            "advice": "request_id", "reviews": "plan_id", "phase_transfers": "plan_id"}
COMPARED: dict[str, list[str]] = {}
for _table, _column, _ in STEP_DONE_DATES:
    if _table in CASE_KEY:
        COMPARED.setdefault(_table, []).append(_column)


# Where an extract carries only each plan's latest review and transfer (SEN2: plans.review_history),
# the last one's dates leave it when the next is recorded: they are its leftovers, not dates gone.
# Where a row begins, per table: the next one begins at least NEXT_AFTER_DAYS after the last began
# or was decided (a meeting days after the last decision is the same review re-keyed).
BEGINS = {"reviews": ("meeting_date", "decision_date"), "phase_transfers": ("transfer_date", "due_date")}
NEXT_AFTER_DAYS = 28


def _without_leftovers(table: str, key: str, old: pl.DataFrame, new: pl.DataFrame,
                       frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """`old` less the done dates of a latest-only plan's rows that the new rows follow (the new
    rows begin NEXT_AFTER_DAYS or more after the old row's last start or decision): the last
    review's decision and amendment once the next review is recorded, the last transfer's final
    plan once the next transfer is due. Any other row's dates are counted as any case's (the same
    review re-keyed, or a date cleared while another is keyed, loses a date)."""
    plans = frames.get("plans")
    if table not in BEGINS or plans is None or "review_history" not in plans.columns:
        return old
    latest_only = plans.filter(pl.col("review_history") == REVIEW_HISTORY_LATEST_ONLY).select(pl.col(key).cast(pl.Utf8))
    begins = [c for c in BEGINS[table] if c in old.columns and c in new.columns]
    if latest_only.is_empty() or not begins:
        return old
    new_begin = (new.join(latest_only, on=key, how="semi")
                 .group_by(key).agg(pl.min_horizontal(*begins).min().alias("new_begins")))
    followed = (pl.max_horizontal(*begins) + pl.duration(days=NEXT_AFTER_DAYS)) <= pl.col("new_begins")
    return (old.join(new_begin, on=key, how="left")
            .with_columns(pl.when(followed.fill_null(False)).then(None).otherwise(pl.col(c)).alias(c)
                          for c in COMPARED[table] if c in old.columns)
            .drop("new_begins"))


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
        read = list(dict.fromkeys([*columns, *BEGINS.get(table, ())]))
        old = read_table(conn, table, {key: pl.Utf8, **{c: pl.Date for c in read}})
        new = frames.get(table, pl.DataFrame())
        new = new.select(pl.col(key).cast(pl.Utf8) if key in new.columns else pl.lit(None, pl.Utf8).alias(key),
                         *(pl.col(c).cast(pl.Date) if c in new.columns else pl.lit(None, pl.Date).alias(c)
                           for c in read))
        old = _without_leftovers(table, key, old, new, frames)
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
