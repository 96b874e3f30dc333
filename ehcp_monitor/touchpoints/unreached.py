"""Told once the contact can be reached (docs/touchpoints.md, When a contact could not be reached).

A message is `skipped` when its contact cannot be reached: no usable email, mobile or address for
the channels open to the stage, or the contact gone from the records or linked to another child
when the message was to be sent. That is most often a record being corrected (an address mistyped
on the night, a contact row missing from one extract). So a skipped row stays open to its planner
while its event is not too old to tell (`max_event_age_days`): every planning run gives it its
verdict again with the records as they are now, and when the contact can be reached it waits to
be sent (`pending`, or `held` by the rules any new message obeys), planned afresh: its child and
facts as the records have them that night (an outcome corrected meanwhile is another event, with
a row of its own: the variant is in the outbox's key). An opt-out is final: the family's choice
at the time is kept, whatever they choose later. A row skipped by who is told (the child's age on
the event's date) follows the records: a date of birth or a contact corrected gives it tonight's
verdict, as any other.

A progress update skipped so does not count as the case's last touch while it stays open
(events.read_last_touches): the same update is found again and told once the contact is back.
"""

import json
from datetime import date

import polars as pl
from sqlalchemy import Connection, bindparam, update

from ehcp_monitor.db.bulk import read_table
from ehcp_monitor.db.models import OUTBOX_KEY, Touchpoint
from ehcp_monitor.domain.vocabulary import OPTED_OUT
from ehcp_monitor.touchpoints.hold import HELD, WAS_HELD

SKIPPED = "skipped"
KEY = OUTBOX_KEY
ROW_SCHEMA: dict[str, pl.DataType] = {"id": pl.Int64, "stage": pl.Utf8, "case_ref": pl.Utf8,
                                      "event_date": pl.Date, "contact_id": pl.Utf8, "variant": pl.Utf8,
                                      "reason": pl.Utf8}
REACHED = ("pending", "held")  # the verdicts that reopen a skipped row
HELD_AGAIN = ("held again: it was held when its contact was set aside (no longer the one to tell, or not "
              "reachable), and can be told now; check the data, then `ehcp-monitor touchpoints release` or "
              "`discard`")


def still_open(since: date) -> str:
    """The SQL condition of an outbox row skipped for want of a reachable contact whose event is
    dated `since` or later: planned again by every run."""
    return (f"status = '{SKIPPED}' AND COALESCE(reason, '') <> '{OPTED_OUT}' "
            f"AND event_date >= '{since.isoformat()}'")


def read_unreached(conn: Connection, *, since: date) -> pl.DataFrame:
    """The rows still open (`still_open`): id and the outbox key (ROW_SCHEMA)."""
    return read_table(conn, "touchpoints", ROW_SCHEMA, still_open(since))


def held_again(rows: pl.DataFrame, unreached: pl.DataFrame) -> pl.DataFrame:
    """`rows` (this run's, before the surge hold) with those reopening a row skipped while it was
    held (its reason ends WAS_HELD) `held` again (HELD_AGAIN) when they could be sent: no
    message a person held goes without their release. Skipped again, they keep that they were
    held (but an opt-out, which closes them)."""
    was_held = (unreached.filter(pl.col("reason").str.ends_with(WAS_HELD).fill_null(False))
                .select(*KEY, pl.lit(True).alias("_was_held")))
    if was_held.is_empty():
        return rows
    flag = pl.col("_was_held").fill_null(False)
    return (rows.join(was_held, on=list(KEY), how="left", maintain_order="left")
            .with_columns(
                status=pl.when(flag & (pl.col("status") == "pending")).then(pl.lit(HELD)).otherwise("status"),
                reason=pl.when(flag & (pl.col("status") == "pending")).then(pl.lit(HELD_AGAIN))
                .when(flag & (pl.col("status") == SKIPPED) & (pl.col("reason") != OPTED_OUT))
                .then(pl.col("reason") + WAS_HELD)
                .otherwise("reason"))
            .drop("_was_held"))


def reached(rows: pl.DataFrame, unreached: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(`rows` new to the outbox, `rows` that reopen a skipped one, `rows` skipped again for
    another reason than their open skipped one's), the last two with the skipped row's `id`. A
    row skipped again for the same reason is in none: it stays as it is. One skipped again as
    opted out is closed by taking that reason."""
    again = rows.join(unreached.select("id", *KEY, pl.col("reason").alias("_was")), on=list(KEY), how="inner")
    other_reason = (pl.col("status") == SKIPPED) & (pl.col("reason") != pl.col("_was").fill_null(""))
    return (rows.join(unreached.select(KEY), on=list(KEY), how="anti"),
            again.filter(pl.col("status").is_in(REACHED)).drop("_was"),
            again.filter(other_reason).drop("_was"))


# What a reopened row takes from this run's planning: the event as the records have it now (its
# child, request and plan may have been corrected while nobody could be told) and the verdict.
# `planned_at` stays: the promise counts from the first planning (promise.py).
REPLANNED = ("person_id", "request_id", "plan_id", "status", "reason", "channel", "context",
             "planned_as_of")


def reopen(conn: Connection, rows: pl.DataFrame) -> int:
    """Give each skipped row of `rows` (`reached`'s second frame) this run's planning of its
    event (REPLANNED), if it is still skipped. Returns how many were given."""
    if rows.is_empty():
        return 0
    conn.execute(
        update(Touchpoint)
        .where(Touchpoint.id == bindparam("row_id"), Touchpoint.status == SKIPPED)
        .values(**{c: bindparam(f"new_{c}") for c in REPLANNED}, next_attempt_at=None, transport=None,
                last_error=None),
        [{"row_id": r["id"], **{f"new_{c}": r[c] for c in REPLANNED},
          "new_context": json.loads(r["context"])} for r in rows.iter_rows(named=True)],
    )
    return rows.height
