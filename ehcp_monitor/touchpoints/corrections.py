"""When the records change under a message (docs/touchpoints.md, When the records change).

An LA corrects a mistyped date or outcome the next day, or a record is withdrawn. The outbox key
(stage, case, event date, contact) then sees a new event, and the message planned for the old one
is about something that did not happen. Every planning run, before it inserts anything:

- **superseded**: a row still waiting to be sent (`pending`, `retry` or `held`) whose event the
  records no longer have (the same stage, case, date and variant), or have about another child,
  becomes `superseded`, never sent.
  A progress update is not checked: its event is the family's silence, found once (the update is
  then itself the last touch). When the event is found again while not too old to tell (a
  record set aside for one night, a date put back), the row waits again (`revive`) with the
  event's facts as they are now, held again if it was held;
- **held as a correction**: a new message of a once-per-case stage (ONCE_PER_CASE: a request
  received, the decision on it, the draft, the final plan or the decision not to issue one) for a
  case whose family was already sent (or may have been sent) a message of the same group about
  another date or outcome is `held` with the reason: a person checks the record, then releases or
  discards it (hold.py). So is a new message of a recurring stage (RECURRING: a review decision,
  an amended plan, a review upcoming) when the family was told of one of that case dated within
  MOVED_WITHIN_DAYS, whose review began before it, and the records no longer have it: the date
  was most likely corrected, and the family would hear of one decision twice. So is a new
  message of any stage whose very event (stage, case, date) the family was told with another
  outcome (a review decision corrected from amend to cease: the variant is in the outbox's key).
  So is one whose child's family was told of the group under another case within
  SAME_EVENT_WITHIN_DAYS (a request re-keyed, or keyed twice).
  A legitimate second event (a second draft, a decision changed on appeal) waits for that
  person too: a wrong message to a family is the worse fault. So is a delay notice naming a late
  step the family was told was done, or a progress update after the final plan was told
  (DONE_TOLD_BY). So is a new message of any stage
  whose very event the family was sent under a contact ID the records no longer have (a contact
  re-keyed by the case system would otherwise get it twice), and one to a contact last written
  to about another child (a contact linked to the wrong child). So is a draft's message, new or
  still waiting, while its case's message of the plan's outcome is held: the draft's message
  says where things are now (the final plan issued, or not), which a person is checking.
"""

import json
from datetime import date, timedelta

import polars as pl
from sqlalchemy import Connection, bindparam, case, or_, select, update

from ehcp_monitor.db.bulk import read_table, sql_strings
from ehcp_monitor.db.gone_dates import read_gone_since
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.domain.canonical import STEP_DONE_DATES
from ehcp_monitor.domain.measures import measure
from ehcp_monitor.domain.vocabulary import TOUCHPOINT_STAGE_WORDS
from ehcp_monitor.touchpoints import outcomes
from ehcp_monitor.touchpoints.events import PLAN_MEASURES, Events
from ehcp_monitor.touchpoints.hold import BULK_RELEASABLE, BY_ITS_ID, HELD, RELEASED_BY_ID, WAS_HELD

SUPERSEDED = "superseded"
WAITING = ("pending", "retry", HELD)  # not sent, and no dispatcher has it
FAILED = "failed"
# Set aside when their event leaves the records: what waits, and what failed (an operator may
# send it again: touchpoints/failed.py) while its event is not too old to tell.
SET_ASIDE = (*WAITING, FAILED)
WAS_FAILED = "; it had failed"  # ends the reason of a failed row superseded: it comes back failed
FAILED_AGAIN = ("failed before its event was set aside for a while; its event is back: `ehcp-monitor touchpoints "
                "retry` sends it once the cause of the failure is fixed")
TOLD = ("sent", "unknown", "claimed", "sending")  # sent, or may have been
LINKED = (*TOLD, "pending", "retry", "failed")  # a contact's rows that show whose they were
LINK_SCHEMA: dict[str, pl.DataType] = {"contact_id": pl.Utf8, "person_id": pl.Utf8}
NOT_FOUND_AGAIN = ("progress_update",)
# Stage -> its group: at most one event of a group per case is expected.
ONCE_PER_CASE = {
    "request_received": "request_received",
    "decision_to_assess": "decision",
    "decision_not_to_assess": "decision",
    "draft_plan_issued": "draft_plan_issued",
    "final_plan_issued": "plan_outcome",
    "decision_not_to_issue": "plan_outcome",
}
# Stages a case has again and again, each months apart (a review every 12 months, CFA 2014 s44,
# or every 3 to 6 for the under-5s, CoP 9.178): a told event of one that left the records, and a
# new one dated within MOVED_WITHIN_DAYS of it, is most likely the same event with its date
# corrected, unless the new one's review began after the told event (its `review_began` fact,
# events.py: the start of a review upcoming's cycle, the last review; the meeting of a decision
# or amended plan where the plan's reviews are only its latest, so the last left the records).
RECURRING = ("review_decision", "amended_plan_issued", "review_upcoming")
MOVED_WITHIN_DAYS = 90
# A next review's meeting comes weeks after the last decision at the least; a meeting days after
# it is the same review with both dates corrected.
NEXT_MEETING_AFTER_DAYS = 28
# A late step (a delay notice's `late_steps`) -> the messages that told the family it was done,
# and whether the told event must be dated on or after the step's start (its due date less the
# clock's days: a review decision or amended plan of that review, not of an earlier one).
# A notice saying the step is late, after they were told it was done, is a correction to check.
DONE_TOLD_BY: dict[str, tuple[tuple[str, ...], bool]] = {
    "DECIDE_6W": (("decision_to_assess", "decision_not_to_assess"), False),
    "NOT_ISSUE_16W": (("final_plan_issued", "decision_not_to_issue"), False),
    "FINAL_20W": (("final_plan_issued", "decision_not_to_issue"), False),
    "REVIEW_DECISION_4W": (("review_decision",), True),
    "AMEND_FINAL_8W": (("amended_plan_issued",), True),
}
LATE_STEPS = pl.Struct({"late_steps": pl.List(pl.Struct({"measure": pl.Utf8, "due_date": pl.Date}))})
# A received date corrected by this many days or less moves every date the family was told by as
# much: what follows from it is told as usual.
RECEIVED_MOVED_DAYS = 7
# A child's second request, decision, draft or plan within this many days of the first, under
# another case, is most likely the same one re-keyed or entered twice.
SAME_EVENT_WITHIN_DAYS = 28
# A plan whose decision to cease it is this old and still has no cease date goes on (an appeal
# upheld, most often): its next review's notice and first apologies fall within it, later ones go.
CEASE_SETTLED_DAYS = 400
EVENT = ("stage", "case_ref", "event_date", "variant")
ROW_SCHEMA: dict[str, pl.DataType] = {"id": pl.Int64, "stage": pl.Utf8, "case_ref": pl.Utf8,
                                      "event_date": pl.Date, "variant": pl.Utf8, "contact_id": pl.Utf8,
                                      "person_id": pl.Utf8, "status": pl.Utf8, "reason": pl.Utf8}
SUPERSEDED_REASON = "its event is no longer in the records (corrected or removed) when planned again on {as_of}"
CLOSED_REASON = ("its request is no longer an open 20-week request (plan issued, assessment ended or withdrawn, "
                 "or the request gone from the records) when planned again on {as_of}")
OVERTAKEN_REASON = ("overtaken by news of the case planned for the same contact on {as_of}: the update would "
                    "say where things were before it")
HELD_AGAIN = ("held again: it was held when its event left the records, and its event is back; check the "
              "data, then `ehcp-monitor touchpoints release` or `discard`")
CHUNK = 10_000
# Facts a person set on a waiting row (hold.release --as-correction), kept when it takes tonight's.
KEPT_FACTS = ("corrects",)


def read_rows_to_compare(conn: Connection, *, since: date) -> pl.DataFrame:
    """The outbox rows the rules look at (ROW_SCHEMA): every waiting row, and every row the family
    was or may have been sent of a once-per-case stage, or of a recurring stage dated up to
    MOVED_WITHIN_DAYS before `since`; of the events dated `since` or later (not yet too old to
    tell), also the superseded and discarded rows and every row sent."""
    recent = f"event_date >= '{since.isoformat()}'"
    moved_since = (since - timedelta(days=MOVED_WITHIN_DAYS)).isoformat()
    where = (f"status IN ({sql_strings(WAITING)}) OR (status = '{FAILED}' AND {recent}) OR "
             f"(status IN ('{SUPERSEDED}', 'discarded') AND {recent}) OR "
             f"(status IN ({sql_strings(TOLD)}) AND (stage IN ({sql_strings(ONCE_PER_CASE)}) OR {recent} OR "
             f"(stage IN ({sql_strings(RECURRING)}) AND event_date >= '{moved_since}')))")
    return read_table(conn, "touchpoints", ROW_SCHEMA, where)


def _event(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("stage", "case_ref", "event_date", pl.col("variant").fill_null(""))


def _same_child(rows: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """`rows` (outbox rows) joined to `current` (events: EVENT and person_id) on their event, when
    the event is still about the row's child. A request moved to another child (a keying error
    put right) keeps its stage, case and date: the message planned for the first child's family
    is then about a child who is not theirs. A row with no child recorded matches its event."""
    return (rows.with_columns(pl.col("variant").fill_null(""))
            .join(current.rename({"person_id": "event_person"}), on=list(EVENT))
            .filter(pl.col("person_id").is_null() | (pl.col("person_id") == pl.col("event_person")))
            .drop("event_person"))


def gone(rows: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """The waiting rows of `rows` (read_rows_to_compare) whose event is not among `found` (the
    events of this run: stage, case_ref, event_date, variant, person_id), or is now about another
    child: their ids."""
    waiting = rows.filter(pl.col("status").is_in(SET_ASIDE))
    # Only the waiting rows' cases: at national scale `found` is millions of events, `waiting` a few.
    current = (found.join(waiting.select("case_ref").unique(), on="case_ref", how="semi")
               .select(*EVENT, "person_id").with_columns(pl.col("variant").fill_null(""))
               .unique())
    events = waiting.filter(~pl.col("stage").is_in(NOT_FOUND_AGAIN))
    # A progress update's event is the family's silence, not found again; but a case now found
    # only about another child was moved to that child.
    updates = waiting.filter(pl.col("stage").is_in(NOT_FOUND_AGAIN) & pl.col("person_id").is_not_null())
    owners = current.select("case_ref", "person_id").unique()
    moved = (updates.join(owners, on="case_ref", how="semi")
             .join(owners, on=["case_ref", "person_id"], how="anti").select("id"))
    return pl.concat([
        events.select("id").join(_same_child(events, current).select("id").unique(), on="id", how="anti"),
        moved,
    ])


def back(rows: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """The superseded rows of `rows` whose event is among `found` (Events.keys) again, about the
    same child (a record set aside for a night, a date put back): id, stage, case_ref, event_date,
    variant, reason, and the event's `_part` and `_row` (for its facts as they are now)."""
    superseded = rows.filter(pl.col("status") == SUPERSEDED)
    current = (found.join(superseded.select("case_ref").unique(), on="case_ref", how="semi")
               .with_columns(pl.col("variant").fill_null(""))
               .unique([*EVENT, "person_id"], keep="first", maintain_order=True)
               .select(*EVENT, "person_id", "_part", "_row"))
    return (_same_child(superseded, current).unique("id", keep="first", maintain_order=True)
            .select("id", *EVENT, "contact_id", "person_id", "reason", "_part", "_row"))


def revive(conn: Connection, rows: pl.DataFrame, events: Events, contacts: pl.Series | None = None,
           conflicts: pl.DataFrame | None = None, future: pl.Series | None = None,
           people: pl.Series | None = None) -> dict[str, int]:
    """Superseded rows whose event is back (`back`) wait again, with their event's facts as the
    records have them now: `pending`; `held` again when they were held (HELD_AGAIN); `held` as a
    correction when the family was since sent another event of the group, or for two outcomes of
    its decision (`conflicts`: outcomes.two_outcomes). A decision with no outcome whose contact
    has it with one stays superseded (outcomes.not_back). Counts: `pending`, `held_again`,
    `correction` (of which `dated_ahead`: held for a step dated after today), `two_outcomes`."""
    returning = outcomes.not_back(back(rows, events.keys), rows)
    was_failed = pl.col("reason").str.ends_with(WAS_FAILED).fill_null(False)
    failed_again = _failed_again(conn, returning.filter(was_failed), events)
    returning = returning.filter(~was_failed)
    if returning.is_empty():
        return {"failed_again": failed_again} if failed_again else {}
    was_held = pl.col("reason").str.ends_with(WAS_HELD).fill_null(False)
    # With their facts as they are now: the rules that read them (a late step told done) apply.
    verdicts = (returning.with_columns(status=pl.lit("pending"), reason=pl.lit(None, pl.Utf8), _was_held=was_held)
                .join(events.contexts(returning), on=["_part", "_row"], how="left"))
    if conflicts is not None:  # first: a keying error in the records, whatever was sent before
        verdicts = outcomes.hold_two_outcomes(verdicts, conflicts)
    # Every rule a new row meets (a row held by one comes back held by it, not merely "held again").
    verdicts = hold_corrections(verdicts, rows, contacts, links=read_contact_links(conn), found=events.keys,
                                future=future, people=people)
    verdicts = (
        verdicts
        .with_columns(kind=pl.when(pl.col("reason").str.starts_with(outcomes.TWO_OUTCOMES).fill_null(False))
                      .then(pl.lit("two_outcomes"))
                      .when(pl.col("status") == HELD).then(pl.lit("correction"))
                      .when("_was_held").then(pl.lit("held_again")).otherwise(pl.lit("pending")))
        .with_columns(status=pl.when(pl.col("kind") == "pending").then(pl.lit("pending")).otherwise(pl.lit(HELD)),
                      reason=pl.when(pl.col("kind") == "held_again").then(pl.lit(HELD_AGAIN)).otherwise("reason"))
    )
    kept = _kept_facts(conn, verdicts["id"].to_list())
    conn.execute(
        update(Touchpoint)
        .where(Touchpoint.id == bindparam("row_id"), Touchpoint.status == SUPERSEDED)
        .values(status=bindparam("new_status"), reason=bindparam("new_reason"), context=bindparam("new_context"),
                next_attempt_at=None),
        [{"row_id": r["id"], "new_status": r["status"], "new_reason": r["reason"],
          "new_context": {**json.loads(r["context"]), **kept.get(r["id"], {})}}
         for r in verdicts.iter_rows(named=True)],
    )
    # Of the corrections, those held for a step the records date after today (the run's line says so).
    dated = verdicts.filter(pl.col("reason") == DATED_AHEAD_REASON).height
    return {**dict(verdicts.group_by("kind").len().iter_rows()), **({"failed_again": failed_again}
                                                                     if failed_again else {}),
            **({"dated_ahead": dated} if dated else {})}


def _failed_again(conn: Connection, returning: pl.DataFrame, events: Events) -> int:
    """Rows of `returning` (`back`) that had failed when set aside -> `failed` again, with their
    event's facts as they are now: an operator sends them with `touchpoints retry`, as before."""
    if returning.is_empty():
        return 0
    facts = returning.join(events.contexts(returning), on=["_part", "_row"], how="left")
    return sum(conn.execute(
        update(Touchpoint).where(Touchpoint.id == r["id"], Touchpoint.status == SUPERSEDED)
        .values(status=FAILED, reason=FAILED_AGAIN, context=json.loads(r["context"]), next_attempt_at=None)
    ).rowcount for r in facts.iter_rows(named=True))  # a handful, if any


def refresh(conn: Connection, rows: pl.DataFrame, events: Events) -> int:
    """Waiting rows of `rows` (read_rows_to_compare) whose event is found, about the same child,
    take its facts as the records have them tonight: a delay notice planned on Friday lists the
    steps late on Friday, and the final plan issued on Monday morning is not one of them when it
    goes. Run after `supersede`. Returns how many rows were given their facts."""
    waiting = rows.filter(pl.col("status").is_in(SET_ASIDE) & ~pl.col("stage").is_in(NOT_FOUND_AGAIN))
    if waiting.is_empty():
        return 0
    current = (events.keys.join(waiting.select("case_ref").unique(), on="case_ref", how="semi")
               .with_columns(pl.col("variant").fill_null(""))
               .unique([*EVENT, "person_id"], keep="first", maintain_order=True)
               .select(*EVENT, "person_id", "_part", "_row"))
    found = _same_child(waiting, current).unique("id", keep="first", maintain_order=True)
    if found.is_empty():
        return 0
    facts = found.join(events.contexts(found), on=["_part", "_row"], how="left")
    kept = _kept_facts(conn, found["id"].to_list())
    conn.execute(
        # executemany: no expanding IN, so the statuses are spelt out.
        update(Touchpoint)
        .where(Touchpoint.id == bindparam("row_id"), or_(*(Touchpoint.status == s for s in SET_ASIDE)))
        .values(context=bindparam("new_context")),
        [{"row_id": r["id"], "new_context": {**json.loads(r["context"]), **kept.get(r["id"], {})}}
         for r in facts.select("id", "context").iter_rows(named=True)],
    )
    return found.height


def _kept_facts(conn: Connection, ids: list[int]) -> dict[int, dict]:
    """The facts of rows `ids` that a person set, not the records (KEPT_FACTS), by row id."""
    kept = {}
    for chunk in _chunks(ids):
        for row in conn.execute(select(Touchpoint.id, Touchpoint.context).where(Touchpoint.id.in_(chunk))):
            facts = {k: row.context[k] for k in KEPT_FACTS if k in (row.context or {})}
            if facts:
                kept[row.id] = facts
    return kept


def supersede(conn: Connection, ids: pl.Series, *, as_of, reason: str = SUPERSEDED_REASON) -> int:
    """Rows `ids` -> superseded, if they are still waiting (a dispatcher may have taken one since),
    with `reason` ({as_of}: the run's as-of date)."""
    reason = reason.format(as_of=as_of.isoformat())
    done = 0
    for chunk in _chunks(ids.to_list()):
        done += conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id.in_(bindparam("ids", expanding=True)), Touchpoint.status.in_(SET_ASIDE))
            .values(status=SUPERSEDED, next_attempt_at=None,
                    reason=case((Touchpoint.status == HELD, reason + WAS_HELD),
                                (Touchpoint.status == FAILED, reason + WAS_FAILED), else_=reason)),
            {"ids": chunk},
        ).rowcount
    return done


def _chunks(values: list) -> list[list]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def hold_corrections(fresh: pl.DataFrame, rows: pl.DataFrame, contacts: pl.Series | None = None,
                     links: pl.DataFrame | None = None, found: pl.DataFrame | None = None,
                     future: pl.Series | None = None, people: pl.Series | None = None,
                     gone: pl.DataFrame | None = None) -> pl.DataFrame:
    """`fresh` (new rows: stage, case_ref, event_date, variant, contact_id, person_id, status,
    reason) with every pending row held when its case's family was or may have been told (`rows`,
    read_rows_to_compare) of another event of the same once-per-case group; of an event of the
    same recurring stage that `found` (this run's events: EVENT and person_id) no longer has,
    dated within MOVED_WITHIN_DAYS, whose review began before it (RECURRING); of this very event
    with another outcome, or under a contact ID that `contacts` (the contact IDs in the records)
    no longer has; or when its contact was last written to about another child (`links`:
    read_contact_links), or told it this very event about a child `people` (the person IDs in the
    records) no longer has; or when it is an apology or update of a case whose records date a step
    after today (`future`: events.future_step_cases); or when it is an apology, update, review
    reminder or draft's message of a case a recent ingest found with done dates gone (`gone`:
    read_gone)."""
    # When the row's review began (RECURRING), from the facts where the row has them (a new row
    # does; a row coming back is given its facts after this): a new review from a re-dated one.
    has_facts = "context" in fresh.columns
    began = (pl.col("context").str.json_path_match("$.review_began").str.to_date(strict=False)
             if has_facts else pl.lit(None, pl.Date))
    pending = (fresh.with_row_index("_fresh").filter(pl.col("status") == "pending")
               .select("_fresh", "stage", "case_ref", "event_date", pl.col("variant").fill_null(""), "contact_id",
                       began.alias("review_began"), *(["person_id"] if "person_id" in fresh.columns else []),
                       *(["context"] if has_facts else [])))
    told = rows.filter(pl.col("status").is_in(TOLD)).with_columns(pl.col("variant").fill_null(""))
    each = [_another_event(pending, told), _another_outcome(pending, told)]
    # A correction dated too long ago to send, or before go-live, is never sent; but the family
    # still holds the message it corrects (another stage or outcome: not a date put right, which
    # the next message gives), so a person must hear of it.
    quiet = (fresh.with_row_index("_fresh").filter(pl.col("status").is_in(NEVER_SENT))
             .select("_fresh", "stage", "case_ref", "event_date", pl.col("variant").fill_null("")))
    if quiet.height and told.height:
        each += [found.with_columns(reason=pl.col("reason") + TOO_OLD_TO_SEND)
                 for found in (_another_event(quiet, told, moved=False), _another_outcome(quiet, told))]
    if "person_id" in pending.columns:
        each += [_another_case(pending, told), _same_event_another_case(pending, told)]
        if people is not None:
            each.append(_same_event_to_this_contact_another_child(pending, told, people))
    each.append(_an_event_held_for_another_contact(pending, rows))
    if has_facts:
        each.append(_after_a_cease_decision(pending))
    if found is not None:
        each.append(_a_moved_event(pending, told, found))
        if has_facts:
            steps, left = _steps(pending), _left(told, pending, found)
            each += [_a_done_step_late(steps, left), _after_a_told_event_left(steps, left, found)]
    if gone is not None:
        each.append(_a_case_with_dates_gone(pending, gone))
    if contacts is not None:
        each.append(_under_a_gone_contact(pending, told, contacts))
    if links is not None:
        each.append(_to_a_relinked_contact(pending, links))
    if future is not None:
        each.append(_a_step_dated_ahead(pending, future))
    reasons = pl.concat(each).unique("_fresh", keep="first", maintain_order=True)
    if reasons.is_empty():
        return fresh
    return (
        fresh.with_row_index("_fresh")
        .join(reasons, on="_fresh", how="left", maintain_order="left", suffix="_correction")
        .with_columns(
            status=pl.when(pl.col("reason_correction").is_not_null()).then(pl.lit(HELD)).otherwise("status"),
            reason=pl.coalesce("reason_correction", "reason"),
        )
        .drop("_fresh", "reason_correction")
    )


def _by_latest_told(frame: pl.DataFrame, reason: pl.Expr) -> pl.DataFrame:
    """_fresh, reason: one row per new row of `frame` (a join of new rows with told ones), the
    reason given by the latest told one (`told_date`)."""
    return frame.sort("_fresh", "told_date").unique("_fresh", keep="last").select("_fresh", reason=reason)


def _another_event(pending: pl.DataFrame, told: pl.DataFrame, *, moved: bool = True) -> pl.DataFrame:
    """_fresh, reason: pending once-per-case rows whose family was told another event of the group
    (`moved`: or the same one on another date)."""
    group = pl.col("stage").replace_strict(ONCE_PER_CASE, default=None)
    told = told.filter(pl.col("stage").is_in(list(ONCE_PER_CASE))).select(
        group.alias("group"), "case_ref", pl.col("stage").alias("told_stage"),
        pl.col("event_date").alias("told_date"), pl.col("variant").alias("told_variant"))
    return (
        pending.filter(pl.col("stage").is_in(list(ONCE_PER_CASE)))
        .with_columns(group.alias("group"))
        .join(told, on=["group", "case_ref"])
        .filter((pl.col("told_stage") != pl.col("stage"))
                | ((pl.col("told_date") != pl.col("event_date")) & moved)
                | (pl.col("told_variant") != pl.col("variant")))
        .pipe(_by_latest_told, pl.concat_str(_told_of(), pl.lit(CHECK_THE_RECORD)))
    )


def _another_case(pending: pl.DataFrame, told: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending once-per-case rows whose child's family was told an event of the
    same group dated within SAME_EVENT_WITHIN_DAYS under another case: the request re-keyed with
    a new ID, or entered twice, and the family would hear of it again under a new reference."""
    group = pl.col("stage").replace_strict(ONCE_PER_CASE, default=None)
    told = told.filter(pl.col("stage").is_in(list(ONCE_PER_CASE)) & pl.col("person_id").is_not_null()).select(
        group.alias("group"), "person_id", pl.col("case_ref").alias("told_case"),
        pl.col("stage").alias("told_stage"), pl.col("event_date").alias("told_date"))
    return (
        pending.filter(pl.col("stage").is_in(list(ONCE_PER_CASE)) & pl.col("person_id").is_not_null())
        .with_columns(group.alias("group"))
        .join(told, on=["group", "person_id"])
        .filter((pl.col("told_case") != pl.col("case_ref")),
                (pl.col("event_date") - pl.col("told_date")).dt.total_days().abs() <= SAME_EVENT_WITHIN_DAYS)
        .pipe(_by_latest_told, pl.concat_str(
            _told_of(), pl.lit(" under case "), pl.col("told_case"),
            pl.lit(" (the same request re-keyed, or entered twice?)" + CHECK_THE_RECORD)))
    )


def _same_event_another_case(pending: pl.DataFrame, told: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending rows of any stage whose child's family was told the same stage and
    outcome on the same date under another case: the case re-keyed in the records (an SEN2 XML
    record whose identifying fields changed), and the family would hear it again."""
    told = told.filter(pl.col("person_id").is_not_null()).select(
        "person_id", "stage", "event_date", "variant", pl.col("case_ref").alias("told_case"),
        pl.col("stage").alias("told_stage"), pl.col("event_date").alias("told_date"))
    return (
        pending.filter(pl.col("person_id").is_not_null())
        .join(told, on=["person_id", "stage", "event_date", "variant"])
        .filter(pl.col("told_case") != pl.col("case_ref"))
        .pipe(_by_latest_told, pl.concat_str(
            _told_of(), pl.lit(" under case "), pl.col("told_case"),
            pl.lit(" (the case re-keyed in the records?)" + CHECK_THE_RECORD)))
    )


def _same_event_to_this_contact_another_child(pending: pl.DataFrame, told: pl.DataFrame,
                                              people: pl.Series) -> pl.DataFrame:
    """_fresh, reason: pending rows whose contact was told this very stage, outcome and date under
    another case of another child, a child no longer in the records (not in `people`): an SEN2
    XML child re-keyed (a corrected UPN, name or birth date gives new person, request and plan IDs)
    while the contact's ID stayed. Read as "written to about another child", a person would release
    the family's news a second time. (A child still in the records is another child: _to_a_relinked_contact.)"""
    gone = pl.col("person_id").is_in(people.drop_nulls().unique().implode()).not_()
    told = told.filter(pl.col("person_id").is_not_null() & gone).select(
        "contact_id", "stage", "event_date", "variant", pl.col("case_ref").alias("told_case"),
        pl.col("person_id").alias("told_person"), pl.col("stage").alias("told_stage"),
        pl.col("event_date").alias("told_date"))
    return (
        pending.filter(pl.col("person_id").is_not_null())
        .join(told, on=["contact_id", "stage", "event_date", "variant"])
        .filter((pl.col("told_case") != pl.col("case_ref")) & (pl.col("told_person") != pl.col("person_id")))
        .pipe(_by_latest_told, pl.concat_str(
            _told_of(), pl.lit(" under case "), pl.col("told_case"), pl.lit(" of person "), pl.col("told_person"),
            pl.lit(" (the child re-keyed in the records: a corrected UPN, name or birth date?); if it is the same "
                   "child `ehcp-monitor touchpoints discard --id N`, else `release --id N`")))
    )


def hold_successors(fresh: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """`fresh` (new rows) with every pending row held whose case has another row of the same stage
    to the same contact held in a surge, or held again (`rows`: read_rows_to_compare, read before
    tonight's supersede). A held delay notice is set aside when the case's next notice comes (a
    repeat, or another step late); that one tells the same steps, so without this the apology a
    person was asked to check would go unchecked a night or a few days later. It goes with a
    release or discard of every held row, as the held one would have. (A row held by a rule of its
    own needs nothing here: the rules look at every new row, and let it go when they are settled.)"""
    # A row held with no reason (by an older version, or by hand) goes with a bulk release too.
    bulk = pl.when(pl.col("held_reason") == "").then(pl.lit(BULK_RELEASABLE[0])).otherwise(pl.lit(None, pl.Utf8))
    for prefix in BULK_RELEASABLE:
        bulk = pl.when(pl.col("held_reason").str.starts_with(prefix)).then(pl.lit(prefix)).otherwise(bulk)
    held = (rows.filter(pl.col("status") == HELD)
            .select("case_ref", "contact_id", "stage", pl.col("id").alias("held_id"),
                    pl.col("event_date").alias("held_date"), pl.col("reason").fill_null("").alias("held_reason"))
            .with_columns(bulk.alias("prefix")).filter(pl.col("prefix").is_not_null()))
    pending = fresh.with_row_index("_fresh").filter(pl.col("status") == "pending")
    if held.is_empty() or pending.is_empty():
        return fresh
    reasons = (
        pending.select("_fresh", "case_ref", "contact_id", "stage", "event_date")
        .join(held, on=["case_ref", "contact_id", "stage"])  # re-dated, or its outcome changed
        .sort("_fresh", "held_date").unique("_fresh", keep="last")
        .select("_fresh", successor=pl.concat_str(
            "prefix", pl.lit(": another message of this stage to this contact (row "), pl.col("held_id").cast(pl.Utf8),
            pl.lit(", dated "), pl.col("held_date").cast(pl.Utf8),
            pl.lit(") was held; check the data, then `ehcp-monitor touchpoints release` or `discard`, "
                   "as for that one")))
    )
    if reasons.is_empty():
        return fresh
    return (fresh.with_row_index("_fresh").join(reasons, on="_fresh", how="left", maintain_order="left")
            .with_columns(status=pl.when(pl.col("successor").is_not_null()).then(pl.lit(HELD)).otherwise("status"),
                          reason=pl.coalesce("successor", "reason"))
            .drop("_fresh", "successor"))


def _an_event_held_for_another_contact(pending: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending rows whose very event (stage, case, date, variant) has a row held
    (or discarded by a person) for another contact: a contact added to the child while a surge or
    a correction waits for a person would otherwise be told what the others are not."""
    kept_back = (rows.filter(pl.col("status").is_in([HELD, "discarded"]))
                 .with_columns(pl.col("variant").fill_null(""))
                 .select(*EVENT, pl.col("contact_id").alias("other_contact"), pl.col("status").alias("other_status")))
    return (
        pending.join(kept_back, on=list(EVENT))
        .filter(pl.col("other_contact") != pl.col("contact_id"))
        .sort("_fresh", "other_status", descending=[False, True])  # held before discarded
        .unique("_fresh", keep="first")
        .select("_fresh", reason=pl.concat_str(
            pl.lit("held: the message of this event to contact "), pl.col("other_contact"),
            pl.when(pl.col("other_status") == HELD).then(pl.lit(" is held")).otherwise(pl.lit(" was discarded")),
            pl.lit(f"; release or discard this one as you did that one ({BY_ITS_ID})")))
    )


def _another_outcome(pending: pl.DataFrame, told: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending rows whose very event (stage, case, date) the family was told with
    another outcome (variant): a review decision keyed amend and corrected to cease on the same date."""
    # With no outcome on either side there is nothing to contradict (outcomes.not_news).
    told = told.filter(pl.col("variant") != "").select(
        "stage", "case_ref", "event_date", pl.col("variant").alias("told_variant"))
    return (
        pending.filter(pl.col("variant") != "").join(told, on=["stage", "case_ref", "event_date"])
        .filter(pl.col("told_variant") != pl.col("variant"))
        .sort("_fresh", "told_variant")
        .unique("_fresh", keep="first")
        .select("_fresh", reason=pl.concat_str(
            pl.lit("held as a correction: the family was already sent "),
            pl.col("stage").replace_strict(TOUCHPOINT_STAGE_WORDS, default=pl.col("stage")).str.to_lowercase(),
            pl.lit(" dated "), pl.col("event_date").dt.to_string("%Y-%m-%d"), pl.lit(" with the outcome "),
            pl.col("told_variant"), pl.lit(", and this one tells "), pl.col("variant"),
            pl.lit(CHECK_THE_RECORD),
        ))
    )


def _a_moved_event(pending: pl.DataFrame, told: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending rows of a recurring stage whose case's family was told of an event
    of that stage dated within MOVED_WITHIN_DAYS that the records (`found`) no longer have, about
    the same child: a review decision's date corrected after it was sent. Not when the new
    row's review began after the told event (RECURRING: its meeting, or its cycle's start): that
    is the next review (in an extract that keeps only each plan's latest, the last one leaves
    the records; a review upcoming's leaves them once the review is held)."""
    fresh = pending.filter(pl.col("stage").is_in(list(RECURRING)))
    told = told.filter(pl.col("stage").is_in(list(RECURRING))).join(fresh.select("stage", "case_ref").unique(),
                                                              on=["stage", "case_ref"], how="semi")
    if fresh.is_empty() or told.is_empty():
        return pl.DataFrame(schema={"_fresh": pl.UInt32, "reason": pl.Utf8})
    current = (found.join(told.select("case_ref").unique(), on="case_ref", how="semi")
               .select(*EVENT, "person_id").with_columns(pl.col("variant").fill_null("")).unique())
    left = told.join(_same_child(told, current).select("id").unique(), on="id", how="anti")
    return (
        fresh.join(left.select("stage", "case_ref", pl.col("event_date").alias("told_date")),
                   on=["stage", "case_ref"])
        .filter((pl.col("event_date") - pl.col("told_date")).dt.total_days().abs() <= MOVED_WITHIN_DAYS,
                ~(pl.col("review_began") > pl.col("told_date") + pl.duration(days=pl.when(
                    pl.col("stage") == "review_upcoming").then(0).otherwise(NEXT_MEETING_AFTER_DAYS)))
                .fill_null(False))
        .pipe(_by_latest_told, pl.concat_str(
            pl.lit("held as a correction: the family was already sent "),
            pl.col("stage").replace_strict(TOUCHPOINT_STAGE_WORDS, default=pl.col("stage")).str.to_lowercase(),
            pl.lit(" dated "), pl.col("told_date").dt.to_string("%Y-%m-%d"),
            pl.lit(", which the records no longer have (a date corrected?)" + CHECK_THE_RECORD),
        ))
    )


def _steps(pending: pl.DataFrame) -> pl.DataFrame:
    """_fresh, case_ref, event_date, measure, due_date, says: the steps each pending delay notice
    names as late (its `late_steps`), and for each progress update the 20-week clock, open."""
    notices = pending.filter(pl.col("stage") == "delay_notice")
    updates = pending.filter(pl.col("stage") == "progress_update")
    return pl.concat([
        notices.select("_fresh", "case_ref", "event_date", pl.col("context").str.json_decode(LATE_STEPS)
                       .struct.field("late_steps").alias("step"))
        .explode("step").unnest("step").with_columns(says=pl.concat_str(pl.col("measure"), pl.lit(" is late"))),
        updates.select("_fresh", "case_ref", "event_date", measure=pl.lit("FINAL_20W"),
                       due_date=pl.lit(None, pl.Date), says=pl.lit("the assessment goes on")),
    ])


def _told_of() -> pl.Expr:
    """The start of a reason naming a told row (`told_stage`, `told_date`)."""
    return pl.concat_str(
        pl.lit("held as a correction: the family was already sent "),
        pl.col("told_stage").replace_strict(TOUCHPOINT_STAGE_WORDS, default=pl.col("told_stage")).str.to_lowercase(),
        pl.lit(" dated "), pl.col("told_date").dt.to_string("%Y-%m-%d"))


NO_REASONS = pl.DataFrame(schema={"_fresh": pl.UInt32, "reason": pl.Utf8})
CHECK_THE_RECORD = f"; check the record, then {BY_ITS_ID}"


def _left(told: pl.DataFrame, pending: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """The told rows of `pending`'s cases whose event the records (`found`) no longer have, about
    the same child (removed, re-dated, its outcome changed): told_stage, case_ref, told_date."""
    told = told.join(pending.select("case_ref").unique(), on="case_ref", how="semi")
    current = (found.join(told.select("case_ref").unique(), on="case_ref", how="semi")
               .select(*EVENT, "person_id").with_columns(pl.col("variant").fill_null("")).unique())
    return (told.join(_same_child(told, current).select("id").unique(), on="id", how="anti")
            .select(pl.col("stage").alias("told_stage"), "case_ref", pl.col("event_date").alias("told_date")))


def _within_moved_days() -> pl.Expr:
    """The new row (`event_date`) dated within MOVED_WITHIN_DAYS after the told one (`told_date`):
    after that the correction is taken as settled, and what the records say now is told."""
    return (pl.col("event_date") - pl.col("told_date")).dt.total_days() <= MOVED_WITHIN_DAYS


def _a_done_step_late(steps: pl.DataFrame, left: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending delay notices naming a late step whose family was told it was done
    (DONE_TOLD_BY), and progress updates (which say the assessment goes on: FINAL_20W open)
    whose family was told its outcome (`steps`: _steps), when that told event has since left the
    records (`left`: _left) within MOVED_WITHIN_DAYS: the final plan's date removed after the
    family was sent "your final plan has been issued", and the notice would apologise that it
    is late. (A told event still in the records is another one: the last review's decision, not
    this one's.)"""
    if steps.is_empty() or left.is_empty():
        return NO_REASONS
    done = pl.DataFrame(
        [(code, stage, measure(code).days if dated else None)
         for code, (stages, dated) in DONE_TOLD_BY.items() for stage in stages],
        schema={"measure": pl.Utf8, "told_stage": pl.Utf8, "step_days": pl.Int64}, orient="row")
    return (
        steps.join(done, on="measure").join(left, on=["case_ref", "told_stage"])
        .filter(pl.col("step_days").is_null()
                | (pl.col("told_date") >= pl.col("due_date") - pl.duration(days=pl.col("step_days"))),
                _within_moved_days())
        .pipe(_by_latest_told, pl.concat_str(
            _told_of(), pl.lit(", and this message says "), pl.col("says"),
            pl.lit(" (a date removed or an outcome changed?)" + CHECK_THE_RECORD)))
    )


def _after_a_told_event_left(steps: pl.DataFrame, left: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending delay notices naming a late step of the request, and progress
    updates (`steps`: _steps), dated within MOVED_WITHIN_DAYS after a request received the
    family was told of and the records no longer have (`left`: _left): its date was corrected (a
    request received in January, not March) or it was removed, and the message would rest on
    dates the family was told otherwise (a decision "due by 13 April" now "was due by 16
    February"). The request's received date anchors its clocks; a draft or decision re-dated
    does not move them. The corrected request received is held too, or too old to tell. A date
    moved by RECEIVED_MOVED_DAYS or less changes the dates told by as much: not held."""
    steps = steps.filter(~pl.col("measure").is_in(PLAN_MEASURES))
    left = left.filter(pl.col("told_stage") == "request_received")
    if steps.is_empty() or left.is_empty():
        return NO_REASONS
    received_now = (found.filter(pl.col("stage") == "request_received")
                    .join(left.select("case_ref").unique(), on="case_ref", how="semi")
                    .group_by("case_ref").agg(pl.col("event_date").max().alias("received_now")))
    moved = (pl.col("received_now") - pl.col("told_date")).dt.total_days().abs() > RECEIVED_MOVED_DAYS
    return (
        steps.join(left, on="case_ref")
        .join(received_now, on="case_ref", how="left")
        .filter(_within_moved_days(), moved.fill_null(True))
        .pipe(_by_latest_told, pl.concat_str(
            _told_of(), pl.lit(", which the records no longer have (a date corrected or removed?), and this "
                               "message rests on the records as they are now" + CHECK_THE_RECORD)))
    )


GONE_MARK = "held: the extract of "  # begins the reason of a row held for a case's dates gone
DONE_WORDS = {(table, column): words for table, column, words in STEP_DONE_DATES}
GONE_SCHEMA: dict[str, pl.DataType] = {"case_ref": pl.Utf8, "reason": pl.Utf8}
GONE_TABLES = ("requests", "assessments", "drafts", "advice", "plans", "reviews", "phase_transfers")
# What a case's dates gone holds: the messages that say a step is late or still to come, and the
# draft's, which says whether the final plan was issued (its `final_outcome`).
GONE_HOLDS = ("delay_notice", "progress_update", "review_upcoming", "draft_plan_issued")


def _back(found: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The rows of `found` (read_gone_since) whose case holds as many dates of the column again in
    `tables` (tonight's snapshot), the latest date gone among them: the extract run again with
    them back. (Another date in its place, a later review's decision say, is not the one gone.)"""
    back = []
    for (table, column), rows in found.group_by("table_name", "column_name"):
        key = "request_id" if rows["request_id"].null_count() < rows.height else "plan_id"
        if table not in tables or column not in tables[table].columns:
            continue
        dates = tables[table].select(pl.col(key).cast(pl.Utf8), pl.col(column).alias("date"))
        now = dates.group_by(key).agg(pl.col("date").count().alias("now"))
        back.append(rows.join(now, on=key).filter(pl.col("now") >= pl.col("before")).drop("now")
                    .join(dates, left_on=[key, "latest_gone"], right_on=[key, "date"], how="semi"))
    return pl.concat(back) if back else found.clear()


def read_gone(conn: Connection, *, as_of: date, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """GONE_SCHEMA: the cases an ingest dated within MOVED_WITHIN_DAYS up to `as_of` found with
    fewer done dates than the snapshot before it (ingest/gone_dates.py), and `tables` (tonight's
    snapshot) does not hold again, each under its case as the outbox keys it (its request, else its
    plan's request, else its plan: events.py), with the reason a message of the case is held for
    (the latest ingest's, the column that lost most)."""
    found = read_gone_since(conn, as_of - timedelta(days=MOVED_WITHIN_DAYS)).filter(pl.col("as_of") <= as_of)
    found = found.join(_back(found, tables), on=list(found.columns), how="anti", nulls_equal=True)
    if found.is_empty():
        return pl.DataFrame(schema=GONE_SCHEMA)
    plans = tables["plans"]
    words = pl.DataFrame([(t, c, w) for (t, c), w in DONE_WORDS.items()],
                         schema={"table_name": pl.Utf8, "column_name": pl.Utf8, "words": pl.Utf8}, orient="row")
    fewer = pl.col("before") - pl.col("after")
    return (
        found.join(plans.select("plan_id", pl.col("request_id").alias("plan_request_id")), on="plan_id", how="left")
        .join(words, on=["table_name", "column_name"], how="left")
        .with_columns(pl.coalesce("request_id", "plan_request_id", "plan_id").alias("case_ref"), fewer.alias("fewer"))
        .sort(["as_of", "fewer"], descending=True).unique("case_ref", keep="first", maintain_order=True)
        .select("case_ref", reason=pl.concat_str(
            pl.lit(GONE_MARK), pl.col("as_of").dt.to_string("%Y-%m-%d"), pl.lit(" has "), pl.col("fewer").cast(pl.Utf8),
            pl.lit(" "), pl.coalesce("words", "column_name"),
            pl.when(pl.col("fewer") == 1).then(pl.lit(" date")).otherwise(pl.lit(" dates")),
            pl.lit(" fewer for this case than the one before it (the latest gone: "),
            pl.col("latest_gone").dt.to_string("%Y-%m-%d"),
            pl.lit("; left out of a partial extract, or removed?), and this message says a step is late or still "
                   "to come" + CHECK_THE_RECORD)))
    )


def _a_case_with_dates_gone(pending: pl.DataFrame, gone: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending apologies, updates, review reminders and drafts' messages
    (GONE_HOLDS) of a case an ingest found with done dates gone (`gone`: read_gone). A review
    left out of a partial extract would otherwise have the family told their review is late, or
    coming up, months after it was held; so would a later review's decision gone, which had put an
    old amendment's apology to rest. Any such message of the case: what the records lost may be
    what settled any step of it. Held again at each repeat within MOVED_WITHIN_DAYS, as the
    other rules here are."""
    if gone.is_empty():
        return NO_REASONS
    return (pending.filter(pl.col("stage").is_in(GONE_HOLDS)).join(gone, on="case_ref")
            .select("_fresh", "reason"))


def hold_waiting_gone(conn: Connection, waiting: pl.DataFrame, gone: pl.DataFrame) -> int:
    """Waiting rows (`waiting`: read_rows_to_compare; pending or retry) of the stages and cases
    _a_case_with_dates_gone holds when new: a notice waiting to retry, or come back (revive), takes
    tonight's late steps without a new row to hold. Returns how many."""
    if gone.is_empty():
        return 0
    rows = (waiting.filter(pl.col("status").is_in(["pending", "retry"]) & pl.col("stage").is_in(GONE_HOLDS))
            .join(gone, on="case_ref"))
    return sum(_hold_waiting(conn, pl.Series(ids, dtype=pl.Int64), reason)
               for reason, ids in rows.group_by("reason").agg("id").iter_rows())


# New rows never to be sent: dated before go-live, or too old when first seen (planner.plan_rows).
NEVER_SENT = ("baseline", "suppressed")
# Dispatch knows such a row by this beginning (its end, the instruction, has changed between versions).
TOO_OLD_MARK = " (this one is dated before go-live or too long ago to send"
TOO_OLD_TO_SEND = (TOO_OLD_MARK + ", so a release suppresses it: tell the family by hand, then "
                   "`ehcp-monitor touchpoints discard --id N` it)")


# The stages that say a step is still to come, or late.
STILL_TO_COME = ("delay_notice", "progress_update", "review_upcoming")


DATED_AHEAD_REASON = ("held: the records date a step of this case after today (W005: a mistyped year?), so its "
                      "clock reads as not done" + CHECK_THE_RECORD)


def _dated_ahead(future: pl.Series) -> pl.Expr:
    return pl.col("stage").is_in(STILL_TO_COME) & pl.col("case_ref").is_in(future.implode())


def _a_step_dated_ahead(pending: pl.DataFrame, future: pl.Series) -> pl.DataFrame:
    """_fresh, reason: a pending apology, update or review reminder of a case whose records date a
    step as done after today: a plan issued on 14/04/2025 typed 2099 would be apologised for."""
    return pending.filter(_dated_ahead(future)).select("_fresh", reason=pl.lit(DATED_AHEAD_REASON))


def hold_waiting_dated_ahead(conn: Connection, waiting: pl.DataFrame, future: pl.Series) -> int:
    """Waiting rows (`waiting`: read_rows_to_compare) not yet held, of the stages and cases
    _a_step_dated_ahead holds when new: an apology planned before the step was recorded (with its
    year mistyped), waiting to retry, is held too. Returns how many."""
    ids = waiting.filter(pl.col("status").is_in(["pending", "retry"]) & _dated_ahead(future))["id"]
    return _hold_waiting(conn, ids, DATED_AHEAD_REASON)


def _hold_waiting(conn: Connection, ids: pl.Series, reason: str) -> int:
    """Hold the rows `ids` with `reason`, each if it still waits (pending or retry: no dispatcher
    took it since). Returns how many."""
    done = 0
    for chunk in _chunks(ids.to_list()):
        done += conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id.in_(bindparam("ids", expanding=True)), Touchpoint.status.in_(["pending", "retry"]))
            .values(status=HELD, next_attempt_at=None, reason=reason),
            {"ids": chunk},
        ).rowcount
    return done


# A draft's message says where things are now when the records hold the plan's outcome (its
# `final_outcome` fact, events.py): "we have issued the final EHC plan", or "decided not to issue one".
TELLS_THE_OUTCOME = "draft_plan_issued"
OUTCOME_STAGES = tuple(stage for stage, group in ONCE_PER_CASE.items() if group == "plan_outcome")
OUTCOME_HELD_REASON = ("held: its case's message of the plan's outcome (the final plan issued, or not) is held for a "
                       "person to check, and a draft's message tells the family that outcome" + CHECK_THE_RECORD)


def read_held_outcomes(conn: Connection) -> pl.DataFrame:
    """The outbox's messages of a plan's outcome held now, however held (new, revived, held
    again): stage, case_ref, status."""
    return read_table(conn, "touchpoints", {"stage": pl.Utf8, "case_ref": pl.Utf8, "status": pl.Utf8},
                      f"status = '{HELD}' AND stage IN ({sql_strings(OUTCOME_STAGES)})")


def _held_outcome_cases(fresh: pl.DataFrame, held: pl.DataFrame) -> pl.Series:
    """The cases whose message of the plan's outcome is held: new (`fresh`, as it goes in) or in
    the outbox (`held`: read_held_outcomes)."""
    outcome = pl.col("stage").is_in(OUTCOME_STAGES) & (pl.col("status") == HELD)
    return pl.concat([fresh.filter(outcome)["case_ref"], held.filter(outcome)["case_ref"]]).unique()


def hold_drafts_beside_held_outcomes(fresh: pl.DataFrame, held: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """`fresh` (new rows, after every other rule that holds one) with each pending draft's message
    held whose case's outcome message is held (in `fresh`, or `held`: read_held_outcomes): it
    would tell the family what a person is still checking (a family told that no plan would be
    issued, the records then saying it was). And how many."""
    draft = ((pl.col("status") == "pending") & (pl.col("stage") == TELLS_THE_OUTCOME)
             & pl.col("case_ref").is_in(_held_outcome_cases(fresh, held).implode()))
    count = fresh.filter(draft).height
    if not count:
        return fresh, 0
    return fresh.with_columns(status=pl.when(draft).then(pl.lit(HELD)).otherwise("status"),
                              reason=pl.when(draft).then(pl.lit(OUTCOME_HELD_REASON)).otherwise("reason")), count


def hold_waiting_drafts_beside_held_outcomes(conn: Connection, waiting: pl.DataFrame, fresh: pl.DataFrame,
                                             held: pl.DataFrame) -> int:
    """Waiting draft messages (`waiting`: read_rows_to_compare) of a case whose outcome message is
    held (new in `fresh`, as it goes in, a surge's hold included; or `held`: read_held_outcomes):
    planned before and waiting to retry, the draft takes tonight's facts and would tell that
    outcome. Not one a person released by its ID. Returns how many."""
    ids = waiting.filter(pl.col("status").is_in(["pending", "retry"]) & (pl.col("stage") == TELLS_THE_OUTCOME)
                         & (pl.col("reason").fill_null("") != RELEASED_BY_ID)
                         & pl.col("case_ref").is_in(_held_outcome_cases(fresh, held).implode()))["id"]
    return _hold_waiting(conn, ids, OUTCOME_HELD_REASON)


def _after_a_cease_decision(pending: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: a pending review upcoming, or delay notice for the plan's steps alone, of
    a plan whose latest review decided to cease it and that has no cease date (its `cease_decided`
    fact, events.py): the family was told the plan would stop. Right only if the plan goes on
    (an appeal against the decision): a person looks."""
    decided = pl.col("context").str.json_path_match("$.cease_decided")
    settled = (pl.col("event_date") - decided.str.to_date(strict=False)).dt.total_days() > CEASE_SETTLED_DAYS
    return (pending.filter(pl.col("stage").is_in(["review_upcoming", "delay_notice"]) & decided.is_not_null()
                           & ~settled.fill_null(False))
            .select("_fresh", reason=pl.concat_str(
                pl.lit("held: the plan's last review decided on "), decided,
                pl.lit(" to cease it, and no cease date is recorded; if the plan goes on (an appeal) "
                       "`ehcp-monitor touchpoints release --id N`, else record the cease date and `discard --id N`"))))


def _under_a_gone_contact(pending: pl.DataFrame, told: pl.DataFrame, contacts: pl.Series) -> pl.DataFrame:
    """_fresh, reason: pending rows whose very event the family was told under a contact ID the
    records no longer have: most often the same person re-keyed by the case system."""
    gone_contacts = told.filter(~pl.col("contact_id").is_in(contacts.implode())).select(
        *EVENT, pl.col("contact_id").alias("told_contact"))
    return (
        pending.join(gone_contacts, on=list(EVENT))
        .filter(pl.col("told_contact") != pl.col("contact_id"))
        .sort("_fresh", "told_contact")
        .unique("_fresh", keep="first")
        .select("_fresh", reason=pl.concat_str(
            pl.lit("held: the family was already sent this message under contact "), pl.col("told_contact"),
            pl.lit(", no longer in the records (re-keyed or replaced?); if it is the same person "
                   "`ehcp-monitor touchpoints discard --id N`, else `release --id N`"),
        ))
    )


def read_contact_links(conn: Connection) -> pl.DataFrame:
    """Each contact's child as last written to (LINK_SCHEMA): the `person_id` of the contact's
    latest row (by id) that was sent, or may be, or was to be (LINKED). A row held, discarded,
    superseded, skipped, suppressed or recorded before go-live vouches for no link: planning
    records those for a contact whatever child the records link them to that night."""
    rows = read_table(conn, "touchpoints", {"id": pl.Int64, "contact_id": pl.Utf8, "person_id": pl.Utf8},
                      f"status IN ({sql_strings(LINKED)}) AND person_id IS NOT NULL")
    return rows.sort("id").unique("contact_id", keep="last").select(LINK_SCHEMA.keys())


def _to_a_relinked_contact(pending: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """_fresh, reason: pending rows whose contact was last written to about another child
    (`links`: read_contact_links). A contact ID belongs to one child's record (the contacts' key),
    so the link changed: most often a keying error, when the message would tell one family of
    another's child. Once a person releases one, it is sent and the new link stands."""
    other = links.rename({"person_id": "other_person"})
    return (
        pending.filter(pl.col("person_id").is_not_null())
        .join(other, on="contact_id")
        .filter(pl.col("other_person") != pl.col("person_id"))
        .select("_fresh", reason=pl.concat_str(
            pl.lit("held: contact "), pl.col("contact_id"), pl.lit(" was written to about another child (person "),
            pl.col("other_person"), pl.lit(f") before; check which child the contact belongs to, then {BY_ITS_ID}"),
        ))
    )
