"""The touchpoint promise, measured (docs/touchpoints.md, The promise, measured): for every stage
event, whether a message went out within one working day of the event being seen.

Seen: the day (in England) the event's first outbox row was planned. Sent: the day of its first
message sent, on any channel, to any of its contacts. Kept: sent on or before the working day after
the day seen (working_days.add_working_days: weekends and England and Wales bank holidays are not
working days), so an event seen on a Friday and told on the Monday is kept.

Not counted: events before go-live (`baseline`), events already too old to tell when first seen
(`suppressed`), messages whose event the records no longer had when they were to be sent
(`superseded`: a corrected date is not an event), and events whose every contact opted out or is
not the one to tell (docs/touchpoints.md, Who is told).
Everything else counts, including an event nobody could be reached about: that is a promise not
kept.

Pure: takes the outbox as columns (db.outbox.read_outbox) and gives counts; shared by
`touchpoints report` and the board pack.
"""

from datetime import date

import polars as pl

from ehcp_monitor.domain.vocabulary import NOT_TO_TELL
from ehcp_monitor.working_days import LONDON, with_added_working_days

NOT_PROMISED = ("baseline", "suppressed", "superseded")
EVENT = ("stage", "case_ref", "event_date")
PROMISE_SCHEMA = {"stage": pl.Utf8, "month": pl.Date, "events": pl.Int64, "within": pl.Int64, "later": pl.Int64,
                  "not_sent": pl.Int64, "waiting": pl.Int64, "share_within": pl.Float64}
OUTCOMES = ("within", "later", "not_sent", "waiting")


def _local_day(column: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(LONDON.key).dt.date()


def promise_events(outbox: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """One row per counted stage event: stage, case_ref, event_date, seen, sent (dates), due (the
    last day that keeps the promise) and outcome: `within` (kept), `later` (sent after `due`),
    `not_sent` (nothing sent and `due` is past on `as_of`) or `waiting` (nothing sent yet and
    there is still time)."""
    counted = outbox.filter(
        ~pl.col("status").is_in(NOT_PROMISED)
        & ~((pl.col("status") == "skipped") & pl.col("reason").is_in(NOT_TO_TELL)).fill_null(False)
    )
    events = counted.group_by(EVENT).agg(
        _local_day("planned_at").min().alias("seen"),
        _local_day("sent_at").filter(pl.col("status") == "sent").min().alias("sent"),
    )
    events = with_added_working_days(events.sort(EVENT), "seen", 1, alias="due")
    outcome = (
        pl.when(pl.col("sent").is_not_null() & (pl.col("sent") <= pl.col("due"))).then(pl.lit("within"))
        .when(pl.col("sent").is_not_null()).then(pl.lit("later"))
        .when(pl.col("due") < as_of).then(pl.lit("not_sent"))
        .otherwise(pl.lit("waiting"))
    )
    return events.with_columns(outcome.alias("outcome"))


def promise_by_stage_and_month(outbox: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Counts of events by stage and month seen (PROMISE_SCHEMA): `share_within` is the percentage
    kept of the events decided (all but those still `waiting`), null when none is."""
    events = promise_events(outbox, as_of=as_of).with_columns(pl.col("seen").dt.truncate("1mo").alias("month"))
    counts = events.group_by("stage", "month").agg(
        pl.len().cast(pl.Int64).alias("events"),
        *((pl.col("outcome") == o).sum().cast(pl.Int64).alias(o) for o in OUTCOMES),
    )
    decided = pl.col("events") - pl.col("waiting")
    return (
        counts.with_columns(
            pl.when(decided > 0).then((100 * pl.col("within") / decided).round(1)).alias("share_within"))
        .sort("month", "stage")
        .select(list(PROMISE_SCHEMA))
        .cast(PROMISE_SCHEMA)  # type: ignore[arg-type]
    )
