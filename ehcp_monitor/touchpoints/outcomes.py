"""A message that tells an outcome (docs/touchpoints.md, When the records change: outcomes).

A review decision's message says what was decided: maintain, amend or cease (its `variant`,
part of the outbox key). Recorded with no outcome (a code not yet mapped, an outcome keyed the
day after its date) its variant is "", and the message says only that the decision was made and
the letter sent. So that a family hears one decision once, whatever order the records arrive in:

- a decision with no outcome is not planned once the outbox has a row of that decision for the
  contact, whatever its outcome (an outcome unreadable for a night is not news), nor beside the
  same decision with an outcome found this run;
- a decision with an outcome is not planned once the family was sent that decision without one
  (they were told it was made and the letter sent: the same decision told again is not news);
- two outcomes found for one decision (two review rows on one date) are held for a person, the
  new messages and those still waiting alike: the family is told neither until someone checks.

An outcome corrected after the family was told another is held by corrections.hold_corrections.
"""

import polars as pl
from sqlalchemy import Connection, bindparam, update

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.domain.vocabulary import TOUCHPOINT_STAGE_WORDS
from ehcp_monitor.touchpoints.hold import BY_ITS_ID, HELD, TWO_OUTCOMES

STAGES = ("review_decision",)  # the stages whose message tells an outcome (events.py gives the variant)
DECISION = ("stage", "case_ref", "event_date")
CONTACT_DECISION = (*DECISION, "contact_id")
UNKNOWN = ""
TOLD = ("sent", "unknown", "claimed", "sending")
WAITING = ("pending", "retry")
HOLDABLE = (*WAITING, "failed")  # what a two-outcome hold applies to: waiting, or failed (a retry would send it)


def _of_stages(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("stage").is_in(STAGES))


def _unknown() -> pl.Expr:
    return pl.col("variant").fill_null(UNKNOWN) == UNKNOWN


def not_news(rows: pl.DataFrame, planned: pl.DataFrame, told: pl.DataFrame) -> pl.DataFrame:
    """`rows` (new outbox rows) less the decisions that would tell the family nothing new: with no
    outcome, when `planned` (the outbox's keys) has that decision for the contact or `rows` has
    it with an outcome; with one, when `told` (outbox rows: key and status) shows it was sent with
    none."""
    tells = rows.filter(pl.col("stage").is_in(STAGES))
    if tells.is_empty():
        return rows
    unknown, known = tells.filter(_unknown()), tells.filter(~_unknown())
    on = list(CONTACT_DECISION)
    dropped = []
    if unknown.height:  # a semi-join each: `planned` is the whole outbox
        dropped += [unknown.join(_of_stages(planned), on=on, how="semi"), unknown.join(known, on=on, how="semi")]
    if known.height:
        told_unknown = _of_stages(told).filter(pl.col("status").is_in(TOLD) & _unknown())
        dropped.append(known.join(told_unknown, on=on, how="semi"))
    gone = pl.concat([d.select(*on, "variant") for d in dropped])
    return rows.join(gone, on=[*on, "variant"], how="anti") if gone.height else rows


def not_back(returning: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """`returning` (superseded rows whose event is back: corrections.back) less the decisions
    with no outcome whose contact has that decision with an outcome sent or waiting (`rows`:
    corrections.read_rows_to_compare): the outcome keyed, then unreadable for a night, must not
    bring back the vaguer message."""
    unknown = returning.filter(pl.col("stage").is_in(STAGES) & _unknown())
    if unknown.is_empty():
        return returning
    known = _of_stages(rows).filter(pl.col("status").is_in((*TOLD, *WAITING, HELD, "discarded")) & ~_unknown())
    stay = unknown.join(known, on=list(CONTACT_DECISION), how="semi").select("id")
    return returning.join(stay, on="id", how="anti")


def two_outcomes(keys: pl.DataFrame, *, since) -> pl.DataFrame:
    """The decisions dated `since` or later (older ones are never told) that this run's events
    (`keys`) give two or more outcomes: stage, case_ref, event_date and `reason`."""
    return (
        _of_stages(keys).filter(~_unknown() & (pl.col("event_date") >= since))
        .group_by(DECISION).agg(pl.col("variant").unique().sort())
        .filter(pl.col("variant").list.len() > 1)
        .select(*DECISION, reason=pl.concat_str(
            pl.lit(TWO_OUTCOMES),
            pl.col("stage").replace_strict(TOUCHPOINT_STAGE_WORDS, default=pl.col("stage")).str.to_lowercase(),
            pl.lit(" dated "), pl.col("event_date").dt.to_string("%Y-%m-%d"), pl.lit(" ("),
            pl.col("variant").list.join(", "),
            pl.lit(f"); check the record, then {BY_ITS_ID}"),
        ))
    )


def hold_two_outcomes(fresh: pl.DataFrame, conflicts: pl.DataFrame) -> pl.DataFrame:
    """`fresh` with its pending rows of `conflicts` (two_outcomes) held, with the reason."""
    if conflicts.is_empty():
        return fresh
    return (
        fresh.join(conflicts, on=list(DECISION), how="left", suffix="_two")
        .with_columns(
            held=(pl.col("status") == "pending") & pl.col("reason_two").is_not_null(),
        )
        .with_columns(status=pl.when("held").then(pl.lit(HELD)).otherwise("status"),
                      reason=pl.when("held").then("reason_two").otherwise("reason"))
        .drop("reason_two", "held")
    )


def hold_waiting(conn: Connection, rows: pl.DataFrame, conflicts: pl.DataFrame) -> int:
    """Hold the outbox's waiting rows (`rows`: corrections.read_rows_to_compare) of `conflicts`
    (two_outcomes), each if no dispatcher took it since. Returns how many were held."""
    if conflicts.is_empty():
        return 0
    # A failed one too: `touchpoints retry` would otherwise send one of the two.
    waiting = (rows.filter(pl.col("status").is_in(HOLDABLE)).select("id", *DECISION)
               .join(conflicts, on=list(DECISION)))
    statement = (update(Touchpoint).where(Touchpoint.id == bindparam("row_id"), Touchpoint.status.in_(HOLDABLE))
                 .values(status=HELD, reason=bindparam("new_reason"), next_attempt_at=None))
    # A handful of rows, if any: one statement each, so each says whether it was still waiting.
    return sum(conn.execute(statement, {"row_id": r["id"], "new_reason": r["reason"]}).rowcount
               for r in waiting.iter_rows(named=True))


SETTLED = f"held: the records held two outcomes for this decision, and now hold one; check the record, then {BY_ITS_ID}"


def settle(conn: Connection, rows: pl.DataFrame, conflicts: pl.DataFrame) -> int:
    """Held rows of `rows` (corrections.read_rows_to_compare) held for two outcomes whose decision
    the records now give one (`conflicts`: two_outcomes): still held, for a person to check, but
    with a reason that says so, and released with the rest (hold.release). Returns how many."""
    held = rows.filter((pl.col("status") == HELD) & pl.col("reason").str.starts_with(TWO_OUTCOMES).fill_null(False))
    settled = held.join(conflicts, on=list(DECISION), how="anti")
    statement = (update(Touchpoint).where(Touchpoint.id == bindparam("row_id"), Touchpoint.status == HELD)
                 .values(reason=SETTLED))
    return sum(conn.execute(statement, {"row_id": r["id"]}).rowcount for r in settled.iter_rows(named=True))
