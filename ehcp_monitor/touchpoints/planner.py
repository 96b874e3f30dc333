"""Planning: every due touchpoint into the outbox, once (docs/touchpoints.md, At most once, always).

Events x recipients -> rows of `touchpoints`, inserted in bulk with ON CONFLICT DO NOTHING on the
unique key (stage, case_ref, event_date, contact_id, variant): re-planning never duplicates, and a row's
first verdict (baseline, suppressed, skipped, pending or held) is the one that stays. The keys
earlier runs planned are left out before the contacts' details are joined, channels chosen,
verdicts given and facts encoded: those steps run only for what is new (finding the events
still goes over the whole history, without their facts).

Each row also records its channel (docs/touchpoints.md, Channels): the contact's
`preferred_channel` when usable, else email, else a text message, else a letter
(transports.choose_channel). A text or a letter is usable for a stage only when the LA has set a
Notify template for it. One message per event and contact, whichever channel.

Before go-live nothing is sent (`baseline`, golive.py); a run that would queue more new emails
than the hold limit records them `held` (hold.py) and says so in its counts (`held_reason`).
"""

from datetime import date, datetime, time, timedelta, timezone

import polars as pl
from sqlalchemy import Connection, DateTime, Engine, bindparam, case, text, update

from ehcp_monitor.config import Settings
from ehcp_monitor.db.bulk import read_table, write_frame
from ehcp_monitor.db.in_force import reads_results, require_results_as_of
from ehcp_monitor.db.models import OUTBOX_KEY, Touchpoint
from ehcp_monitor.db.outbox import first_of_each_key, load_if_empty
from ehcp_monitor.db.results import read_results as stored_results
from ehcp_monitor.db.snapshot import read_snapshot, stored_schema
from ehcp_monitor.db.withheld import read_withheld
from ehcp_monitor.domain.calendar import school_leaving_date_expr
from ehcp_monitor.domain.canonical import TABLE_ORDER
from ehcp_monitor.domain.vocabulary import (
    ADULT_NAMED,
    AGE_UNKNOWN,
    OPTED_OUT,
    UNDER_SCHOOL_AGE,
    UNDER_SCHOOL_AGE_NO_PARENT,
    YOUNG_PERSON,
)
from ehcp_monitor.logs import get_logger
from ehcp_monitor.touchpoints import corrections, outcomes, unreached
from ehcp_monitor.touchpoints.events import (
    Events,
    find_all,
    future_step_cases,
    open_20_week,
    read_last_touches,
)
from ehcp_monitor.touchpoints.golive import settle_go_live
from ehcp_monitor.touchpoints.hold import HELD, WAS_HELD, hold_limit, record_plan_run
from ehcp_monitor.transports import choose_channel
from ehcp_monitor.working_days import LONDON

log = get_logger()

NO_CONTACT = "none"  # contact_id of the row recording that a person has no contact at all
# One address, no spaces or line breaks (input validation V009 applies the full rule).
EMAIL_PATTERN = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"
OUTBOX_COLUMNS = (
    "stage", "case_ref", "event_date", "contact_id", "person_id", "request_id", "plan_id",
    "variant", "status", "reason", "attempts", "planned_as_of", "context", "channel",
)
ADDRESS_LINES = tuple(f"address_line_{n}" for n in range(1, 6))
RECIPIENT_COLUMNS = ("contact_id", "person_id", "role", "email", "opted_out", "mobile", *ADDRESS_LINES, "postcode",
                     "preferred_channel")
# What a contact lacks, named in a skipped row's reason, for each channel open to the stage.
MISSING = {"email": "valid email address", "sms": "UK mobile number", "letter": "postal address"}


# Only the stored results touchpoints use: due dates of the decision and 20-week clocks, open
# review cycles, and every overdue statutory clock.
RESULTS_USED = {
    "measures": ("DECIDE_6W", "FINAL_20W"),
    # The open advice clocks: a progress update's next date may be an advice's (events.py).
    "open_measures": ("REVIEW_12M", "REVIEW_EY", "ADVICE_6W"),
    "overdue_kind": "statutory",
}
KEY = OUTBOX_KEY
# The snapshot the events come from: no UPNs or home postcodes of children, and not the phase
# transfer or QA audit tables (no touchpoint stage reads them). The date of birth says only who
# is told (school_leavers); it never reaches the outbox.
SNAPSHOT_USED = {
    **{table: tuple(stored_schema(table)) for table in TABLE_ORDER if table not in ("phase_transfers", "qa_audits")},
    "people": ("person_id", "forename", "surname", "date_of_birth"),
    # A final plan after a phase transfer dated ahead holds the plan's apologies (future_step_cases).
    "phase_transfers": ("plan_id", "final_date"),
}


def read_results(conn: Connection) -> pl.DataFrame:
    """The stored results touchpoints use (RESULT_SCHEMA), read as columns."""
    return stored_results(conn, **RESULTS_USED)


def read_planned_keys(conn: Connection) -> pl.DataFrame:
    schema = {"stage": pl.Utf8, "case_ref": pl.Utf8, "event_date": pl.Date, "contact_id": pl.Utf8,
              "variant": pl.Utf8}
    return read_table(conn, "touchpoints", schema)


def _missing_reason(sms: bool, letter: bool) -> str:
    open_to = ["email", *(["sms"] if sms else []), *(["letter"] if letter else [])]
    names = [MISSING[c] for c in open_to]
    return "no " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}")


def choose_channels(rows: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """`rows` with `channel` (null: no usable one, or the row is not `_sendable`) and `no_channel`
    (the skipped reason then).

    choose_channel runs once per distinct contact and set of channels open to the stage, not per
    row: a contact has one answer whatever the number of its events. It runs only for rows that
    could be sent (`_sendable`): a row before go-live or too old is never sent and records no choice.
    """
    tp = settings.touchpoints
    rows = rows.with_columns(
        pl.col("stage").is_in(list(tp.notify_sms_templates)).alias("sms_open"),
        pl.col("stage").is_in(list(tp.notify_letter_templates)).alias("letter_open"),
        # The stricter planner rule for an email address (one address, no separators).
        pl.when(pl.col("email").str.strip_chars().str.contains(EMAIL_PATTERN).fill_null(False))
        .then(pl.col("email")).alias("usable_email"),
    )
    key = ["contact_id", "sms_open", "letter_open"]
    distinct = rows.filter(pl.col("_sendable")).unique(subset=key).select(
        *key, "usable_email", "mobile", *ADDRESS_LINES, "postcode", "preferred_channel")
    choices = pl.DataFrame(
        {
            **{k: distinct[k] for k in key},
            "channel": [
                choose_channel(r["usable_email"], r["mobile"] if r["sms_open"] else None,
                               ([r[c] for c in ADDRESS_LINES], r["postcode"]) if r["letter_open"] else None,
                               r["preferred_channel"])
                for r in distinct.iter_rows(named=True)
            ],
        },
        schema={"contact_id": pl.Utf8, "sms_open": pl.Boolean, "letter_open": pl.Boolean, "channel": pl.Utf8},
    )
    reasons = pl.DataFrame(
        [(sms, letter, _missing_reason(sms, letter)) for sms in (False, True) for letter in (False, True)],
        schema={"sms_open": pl.Boolean, "letter_open": pl.Boolean, "no_channel": pl.Utf8}, orient="row")
    return (rows.join(choices, on=key, how="left").join(reasons, on=["sms_open", "letter_open"], how="left")
            .with_columns(channel=pl.when("_sendable").then("channel"))
            .drop("sms_open", "letter_open", "usable_email"))


def school_leavers(people: pl.DataFrame, contacts: pl.DataFrame) -> pl.DataFrame:
    """person_id, `school_leaving_date` (null with no date of birth), `young_person_named` (the
    records name the young person as a contact) and `other_contact_named` (and someone else)."""
    young_person = (pl.col("role") == YOUNG_PERSON).fill_null(False)
    named = contacts.filter(young_person).select("person_id").unique()
    others = contacts.filter(~young_person).select("person_id").unique()
    return people.select(
        "person_id",
        school_leaving_date=school_leaving_date_expr(pl.col("date_of_birth")),
        young_person_named=pl.col("person_id").is_in(named["person_id"].implode()),
        other_contact_named=pl.col("person_id").is_in(others["person_id"].implode()),
    )


def with_ages(rows: pl.DataFrame, people: pl.DataFrame | None, contacts: pl.DataFrame) -> pl.DataFrame:
    """`rows` (person_id, event_date) with `over_school_age` on the event's date (the same answer
    whenever the event is planned; null with no date of birth) and `young_person_named`."""
    if people is None:
        return rows.with_columns(over_school_age=pl.lit(None, pl.Boolean), young_person_named=pl.lit(False),
                                 other_contact_named=pl.lit(True))
    return (rows.join(school_leavers(people, contacts), on="person_id", how="left", maintain_order="left")
            .with_columns(over_school_age=pl.col("event_date") > pl.col("school_leaving_date")))


def not_the_one_to_tell() -> pl.Expr:
    """Why a row's contact (`role`) is not the one to tell (`with_ages`), or null when they are."""
    young_person = (pl.col("role") == YOUNG_PERSON).fill_null(False)
    named = pl.col("young_person_named").fill_null(False)
    return (pl.when(named & pl.col("over_school_age").is_null()).then(pl.lit(AGE_UNKNOWN))
            .when(young_person & (pl.col("over_school_age") == False))  # noqa: E712 (null: no date of birth)
            .then(pl.when(pl.col("other_contact_named").fill_null(True)).then(pl.lit(UNDER_SCHOOL_AGE))
                  .otherwise(pl.lit(UNDER_SCHOOL_AGE_NO_PARENT)))
            .when(~young_person & pl.col("over_school_age").fill_null(False) & named).then(pl.lit(ADULT_NAMED)))


def skip_waiting_not_to_tell(conn: Connection, rows: pl.DataFrame, people: pl.DataFrame,
                             contacts: pl.DataFrame) -> int:
    """Waiting rows of `rows` (corrections.read_rows_to_compare) whose contact is no longer the one
    to tell (a young person named since, a date of birth corrected) -> skipped, with the reason,
    if no dispatcher took them since. Returns how many."""
    waiting = rows.filter(pl.col("status").is_in(corrections.WAITING))
    if waiting.is_empty():
        return 0
    roles = contacts.select("contact_id", pl.col("role") if "role" in contacts.columns else pl.lit(None, pl.Utf8))
    found = (with_ages(waiting.join(roles, on="contact_id", how="left"), people, contacts)
             .with_columns(not_told=not_the_one_to_tell()).filter(pl.col("not_told").is_not_null()))
    # A held row keeps that it was held (WAS_HELD): told again later, it comes back held.
    statement = (update(Touchpoint).where(Touchpoint.id == bindparam("row_id"),
                                          Touchpoint.status.in_(corrections.WAITING))
                 .values(status="skipped", next_attempt_at=None,
                         reason=case((Touchpoint.status == HELD, bindparam("new_reason") + WAS_HELD),
                                     else_=bindparam("new_reason"))))
    # A handful of rows, if any: one statement each, so each says whether it was still waiting.
    return sum(conn.execute(statement, {"row_id": r["id"], "new_reason": r["not_told"]}).rowcount
               for r in found.iter_rows(named=True))


def plan_rows(events: Events, contacts: pl.DataFrame, settings: Settings, *, as_of: date,
              go_live: date | None = None, planned: pl.DataFrame | None = None,
              people: pl.DataFrame | None = None) -> tuple[pl.DataFrame, int]:
    """One outbox row per event and recipient, with its first verdict and channel, and how many
    of them are left out because their key is in `planned` (what earlier runs planned: those rows
    keep their first verdict). Facts are encoded only for the rows that keep them. `people`
    (person_id, date_of_birth) says who is told, by the child's age on the event's date: a young
    person under compulsory school age is not, nor the parent carer of one over it whom the
    records name as a contact (UNDER_SCHOOL_AGE, ADULT_NAMED), nor anyone while a young person is
    named and the child's age is unknown (AGE_UNKNOWN); without it, every contact is."""
    oldest = as_of - timedelta(days=settings.touchpoints.max_event_age_days)
    recipients = contacts.select(
        [pl.col(c) if c in contacts.columns else pl.lit(None, pl.Utf8).alias(c) for c in RECIPIENT_COLUMNS])
    found = (
        events.keys.join(recipients.select("person_id", "contact_id"), on="person_id", how="left",
                         maintain_order="left")
        .with_columns(_no_contact=pl.col("contact_id").is_null(), contact_id=pl.col("contact_id").fill_null(NO_CONTACT))
        .pipe(first_of_each_key)
    )
    # Before the contacts' details are joined and the channels chosen: on most nights nearly
    # every event was planned before. contact_id is the contacts' key, so the pair finds one
    # contact (validate: a snapshot breaking that key fails here rather than planning twice).
    new = (found if planned is None else found.join(planned, on=list(KEY), how="anti")).with_row_index("_place")
    before_go_live = pl.lit(False) if go_live is None else pl.col("event_date") < go_live
    too_old = pl.col("event_date") < oldest
    # A row before go-live or too old is never sent: it records no contact's details, channel or
    # facts (most of the go-live night's millions of rows), so it skips the joins that find them.
    never = before_go_live | too_old
    unsent = new.filter(never).with_columns(
        pl.when(before_go_live).then(pl.lit("baseline")).otherwise(pl.lit("suppressed")).alias("status"),
        pl.when(before_go_live).then(pl.lit(f"before go-live ({go_live})"))
        .otherwise(pl.lit(f"event older than {settings.touchpoints.max_event_age_days} days when first seen"))
        .alias("reason"),
        pl.lit("{}").alias("context"),
        # A row never sent keeps the default channel: it records no choice.
        pl.lit("email").alias("channel"),
    )
    rows = new.filter(~never).join(recipients, on=["person_id", "contact_id"], how="left", maintain_order="left",
                                   validate="m:1")
    rows = with_ages(rows, people, recipients)
    rows = choose_channels(rows.with_columns(_sendable=~pl.col("_no_contact")), settings)
    verdict = (
        pl.when(pl.col("_no_contact"))
        .then(pl.struct(status=pl.lit("skipped"), reason=pl.lit("no contact recorded")))
        .when(not_the_one_to_tell().is_not_null())
        .then(pl.struct(status=pl.lit("skipped"), reason=not_the_one_to_tell()))
        .when(pl.col("opted_out").fill_null(False))
        .then(pl.struct(status=pl.lit("skipped"), reason=pl.lit(OPTED_OUT)))
        .when(pl.col("channel").is_null())
        .then(pl.struct(status=pl.lit("skipped"), reason=pl.col("no_channel")))
        .otherwise(pl.struct(status=pl.lit("pending"), reason=pl.lit(None, pl.Utf8)))
        .alias("verdict")
    )
    rows = rows.with_columns(verdict).unnest("verdict").with_columns(pl.col("channel").fill_null("email"))
    rows = rows.join(events.contexts(rows), on=["_part", "_row"], how="left", maintain_order="left")
    columns = [c for c in OUTBOX_COLUMNS if c not in ("attempts", "planned_as_of")]
    return (
        pl.concat([unsent.select("_place", *columns), rows.select("_place", *columns)])
        .sort("_place")
        .with_columns(pl.lit(0).alias("attempts"), pl.lit(as_of).alias("planned_as_of"))
        .select(OUTBOX_COLUMNS)
    ), found.height - new.height


def insert_new(conn: Connection, rows: pl.DataFrame, *, planned_at: datetime) -> int:
    """Insert the rows not already in the outbox (bulk, through a temporary table); returns how many.

    ON CONFLICT DO NOTHING on the once key keeps this right when two planners overlap. Into an
    empty outbox (the go-live night) the rows go straight in (outbox.load_if_empty).
    """
    loaded = load_if_empty(conn, rows, planned_at=planned_at) if rows.height else None
    if loaded is not None:
        return loaded
    cols = ", ".join(OUTBOX_COLUMNS)
    conn.exec_driver_sql("DROP TABLE IF EXISTS touchpoints_new")
    empty = "false" if conn.dialect.name == "postgresql" else "0"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE touchpoints_new AS SELECT {cols} FROM touchpoints WHERE {empty}")
    write_frame(conn, "touchpoints_new", rows)
    # "WHERE 1 = 1" keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    inserted = conn.execute(text(
        f"INSERT INTO touchpoints ({cols}, planned_at) SELECT {cols}, :planned_at FROM touchpoints_new "
        f"WHERE 1 = 1 ON CONFLICT ({', '.join(KEY)}) DO NOTHING"
    ).bindparams(bindparam("planned_at", type_=DateTime(timezone=True))), {"planned_at": planned_at}).rowcount
    conn.exec_driver_sql("DROP TABLE touchpoints_new")
    return inserted


def without_coinciding_updates(fresh: pl.DataFrame, waiting: pl.DataFrame | None = None) -> pl.DataFrame:
    """`fresh` less the progress updates to contacts that this run also tells of a stage event of
    the same case: they hear the news, not a second message saying where things are. A contact
    the stage message cannot reach (no channel open to that stage) keeps the update. The stage
    message is the case's last touch from tomorrow, so the update is not found again
    (docs/touchpoints.md, Progress updates). Nor while a message of the case still waits to go
    to the contact (`waiting`: outbox rows pending or retry, when sending stopped for a while: it
    goes first, and the two would arrive together; or held, for a person to check)."""
    told = fresh.filter((pl.col("stage") != "progress_update") & pl.col("status").is_in(["pending", HELD]))
    if waiting is not None:
        told = pl.concat([told.select("case_ref", "contact_id"), waiting.select("case_ref", "contact_id")])
    update = pl.col("stage") == "progress_update"
    return pl.concat([fresh.filter(~update),
                      fresh.filter(update).join(told.select("case_ref", "contact_id").unique(),
                                                on=["case_ref", "contact_id"], how="anti")])


def closed_updates(rows: pl.DataFrame, results: pl.DataFrame) -> pl.Series:
    """The ids of the progress updates still waiting in the outbox (`rows`:
    corrections.read_rows_to_compare) whose request is no longer an open 20-week request in
    tonight's results (its final plan issued, the assessment withdrawn or ended, the request gone
    from the records): planned on Saturday, the update would go on Monday saying the assessment
    goes on."""
    open_20w = results.filter(open_20_week())["request_id"]
    return rows.filter((pl.col("stage") == "progress_update") & pl.col("status").is_in(corrections.SET_ASIDE)
                       & ~pl.col("case_ref").is_in(open_20w.implode()))["id"]


def overtaken_updates(rows: pl.DataFrame, fresh: pl.DataFrame) -> pl.Series:
    """The ids of the progress updates still waiting in the outbox (`rows`:
    corrections.read_rows_to_compare) to a contact this run tells of a stage event of the same
    case (`fresh`): planned on Saturday, the update would go on Monday beside the draft plan's
    message, still saying the plan is being written (without_coinciding_updates, a night later)."""
    news = fresh.filter((pl.col("stage") != "progress_update") & pl.col("status").is_in(["pending", HELD]))
    return (rows.filter((pl.col("stage") == "progress_update") & pl.col("status").is_in(corrections.SET_ASIDE))
            .join(news.select("case_ref", "contact_id").unique(), on=["case_ref", "contact_id"], how="semi")["id"])


# The nightly job's record keeps a text only this long (jobs/counts.py, MAX_TEXT).
HELD_REASON_MAX = 200


def held_reason(limit, new_emails: int, corrections: int, held_again: int, two_outcomes: int = 0,
                dated_ahead: int = 0, successors: int = 0, gone: int = 0, surged: bool = False) -> str:
    """Why a run held messages, in one line short enough for a job's record (in brief when every
    kind of hold comes at once). `dated_ahead`: of the `corrections`, those held because their
    case's records date a step after today (W005), not because a family was sent something else;
    `gone`: those of a case whose done dates an ingest found gone (corrections.GONE_MARK). `successors`:
    held because another message of their stage to their contact is held in a surge. `surged`: the
    `new_emails` were held as a surge with the `gone` ones, though not over the limit alone."""
    if new_emails > limit.limit and not (corrections or held_again or two_outcomes or successors):
        return limit.message(new_emails)
    at_odds = corrections - dated_ahead - gone
    # A row held by a rule of its own goes only by its ID (hold.release).
    # BY_ITS_ID without the program's name, for the length.
    end = ("check each, then `touchpoints release --id N` or `discard --id N`" if corrections or two_outcomes
           else "check the data, then `ehcp-monitor touchpoints release` or `discard`")
    kinds = [  # (how many, said in full, said in brief)
        (new_emails if new_emails > limit.limit or surged else 0,
         f"new emails (over {limit.limit}{' with those of dates gone' if surged else ''})", "new emails"),
        (at_odds, "at odds with messages already sent", "at odds with messages sent"),
        (dated_ahead, "of cases with a step dated after today (W005)", "dated ahead (W005)"),
        (gone, "of cases whose done dates the extract no longer has (a partial extract?)", "dates gone"),
        (two_outcomes, "with two outcomes for one decision", "two outcomes"),
        (held_again, "held again (set aside, then back)", "held again"),
        (successors, "after a held message of their stage", "after a held one"),
    ]
    for brief in (False, True):
        parts = [f"{n} {said[brief]}" for n, *said in kinds if n]
        line = f"held {', '.join(parts)}; {end}"
        if len(line) <= HELD_REASON_MAX:
            break
    return line


def start_of_day(as_of: date) -> datetime:
    """The start of the as-of day in England, in UTC: when a planning run is taken to have run if
    its caller gives no time."""
    return datetime.combine(as_of, time(0), tzinfo=LONDON).astimezone(timezone.utc)


def hold_surge(fresh: pl.DataFrame, limit: int, reason: str) -> pl.DataFrame:
    """Every new email of the run `held` (none sent) when there are more than `limit` of them."""
    if fresh.filter(pl.col("status") == "pending").height <= limit:
        return fresh
    pending = pl.col("status") == "pending"
    return fresh.with_columns(
        pl.when(pending).then(pl.lit(HELD)).otherwise("status").alias("status"),
        pl.when(pending).then(pl.lit(reason)).otherwise("reason").alias("reason"),
    )


@reads_results("touchpoints plan")
def plan_touchpoints(engine: Engine, settings: Settings, *, as_of: date, now: datetime | None = None) -> dict:
    """Find every due touchpoint and record it in the outbox. Returns counts of new rows.

    `now`: when this run plans (the CLI and the scheduler pass the clock; default the start of the
    as-of day in England). It is each new row's `planned_at`, the day the promise counts from
    (promise.py), and the time a go-live fixed by this run was set.

    `held` > 0 means this run's new emails were held (`held_reason` says why): the caller
    reports it as a failure (exit 1) so a person looks before anything is sent.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    planned_at = (now or start_of_day(as_of)).astimezone(timezone.utc)
    snap = read_snapshot(engine, SNAPSHOT_USED)
    with engine.begin() as conn:
        # Before go-live can be fixed: never by a run with nothing to plan, or on another day's results.
        require_results_as_of(conn, "touchpoints plan", as_of)
        go_live = settle_go_live(conn, settings, as_of=as_of, now=planned_at)
        results = read_results(conn)
        oldest = as_of - timedelta(days=settings.touchpoints.max_event_age_days)
        events = find_all(snap, results, settings, as_of=as_of, withheld=read_withheld(conn, snap.ingest_id),
                          touches=read_last_touches(conn, open_since=oldest))
        # Before anything new: what waits for an event the records no longer have is not sent, and
        # what was set aside so waits again when its event is back.
        compared = corrections.read_rows_to_compare(conn, since=oldest)
        contact_ids = snap["contacts"]["contact_id"]
        two_outcomes = outcomes.two_outcomes(events.keys, since=oldest)
        future = future_step_cases(snap, as_of)
        revived = corrections.revive(conn, compared, events, contact_ids, two_outcomes, future=future,
                                     people=snap["people"]["person_id"])
        # Not a row dated after this run's as-of date: a past night run again (Recovery) finds only
        # the events of that night, and must not set aside what later nights planned.
        gone = corrections.gone(compared.filter(pl.col("event_date") <= as_of), events.keys)["id"]
        superseded = corrections.supersede(conn, gone, as_of=as_of)
        closed = closed_updates(compared, results)
        superseded += corrections.supersede(conn, closed, as_of=as_of, reason=corrections.CLOSED_REASON)
        gone = pl.concat([gone, closed])
        # What still waits goes with its facts as they are tonight.
        corrections.refresh(conn, compared.filter(~pl.col("id").is_in(gone.implode())), events)
        # A message skipped for want of a reachable contact is planned again (unreached.py).
        unreachable = unreached.read_unreached(conn, since=oldest)
        planned = read_planned_keys(conn).join(unreachable.drop("id"), on=list(KEY), how="anti")
        found, already_planned = plan_rows(events, snap["contacts"], settings, as_of=as_of, go_live=go_live.day,
                                           planned=planned, people=snap["people"])
        # A decision's outcome told once, whatever order the records arrive in (outcomes.py).
        rows = outcomes.not_news(found, planned, compared)
        already_planned += found.height - rows.height
        # Held too: while a person checks a held message of the case, its records are in doubt,
        # and an update could tell the family what the held message says, or contradict it.
        still_waiting = compared.filter(pl.col("status").is_in(corrections.WAITING)
                                        & ~pl.col("id").is_in(gone.implode()))
        fresh = outcomes.hold_two_outcomes(without_coinciding_updates(rows, still_waiting), two_outcomes)
        superseded += corrections.supersede(conn, overtaken_updates(compared, fresh), as_of=as_of,
                                            reason=corrections.OVERTAKEN_REASON)
        fresh_two = fresh.filter(pl.col("status") == HELD).height
        # Read again: a row revived above is waiting now.
        waiting = corrections.read_rows_to_compare(conn, since=oldest) if revived else compared
        waiting_held = outcomes.hold_waiting(conn, waiting, two_outcomes)
        # An apology waiting (to retry, say) when the step it is about was recorded with a mistyped year.
        waiting_dated = corrections.hold_waiting_dated_ahead(conn, waiting, future)
        # An apology, update or reminder waiting, of a case whose done dates an ingest found gone (a partial extract?).
        gone = corrections.read_gone(conn, as_of=as_of, tables={t: snap[t] for t in corrections.GONE_TABLES})
        waiting_gone = corrections.hold_waiting_gone(conn, waiting, gone)
        outcomes.settle(conn, waiting, two_outcomes)
        not_to_tell_now = skip_waiting_not_to_tell(conn, waiting, snap["people"], snap["contacts"])
        sendable = fresh.filter(pl.col("status") == "pending").height
        fresh = corrections.hold_corrections(fresh, compared, contact_ids,
                                             links=corrections.read_contact_links(conn) if sendable else None,
                                             found=events.keys, future=future, people=snap["people"]["person_id"],
                                             gone=gone)
        fresh_corrections = fresh.filter(pl.col("status") == HELD).height - fresh_two
        # After a surge held: the case's next message of the stage (a notice's repeat) waits with it.
        fresh = corrections.hold_successors(fresh, compared)
        successors = fresh.filter(pl.col("status") == HELD).height - fresh_two - fresh_corrections
        dated_ahead = (fresh.filter(pl.col("reason") == corrections.DATED_AHEAD_REASON).height + waiting_dated
                       + revived.get("dated_ahead", 0))
        # Skipped while held, and can be told now: held again (unreached.HELD_AGAIN).
        fresh = unreached.held_again(fresh, unreachable)
        reheld = fresh.filter(pl.col("reason") == unreached.HELD_AGAIN).height
        held_again = revived.get("held_again", 0) + reheld
        # A draft's message beside its case's outcome message held by any rule above, or held in
        # the outbox (revived tonight too): last, so that it sees every hold.
        held_outcomes = corrections.read_held_outcomes(conn)
        fresh, drafts = corrections.hold_drafts_beside_held_outcomes(fresh, held_outcomes)
        two_outcomes_held = fresh_two + revived.get("two_outcomes", 0) + waiting_held
        limit = hold_limit(conn, settings)
        new_emails = fresh.filter(pl.col("status") == "pending").height
        # Held for a case's done dates gone, they tell of a fault in the data as a surge does: they
        # count towards it (a table left out and accepted: the rest of its harm is held with them).
        gone_new = fresh.filter(pl.col("reason").str.starts_with(corrections.GONE_MARK)).height
        surge = new_emails + gone_new > limit.limit
        fresh = hold_surge(fresh, limit.limit - gone_new,
                           f"surge held: {new_emails + gone_new} new emails in one run"
                           + (f" ({gone_new} of them of cases whose done dates are gone)" if gone_new else "")
                           + f", more than {limit.limit}")
        # One planned before and waiting, beside an outcome message held tonight (in a surge too).
        waiting_drafts = corrections.hold_waiting_drafts_beside_held_outcomes(conn, waiting, fresh, held_outcomes)
        corrections_held = (fresh_corrections + drafts + revived.get("correction", 0) + waiting_dated + waiting_drafts
                            + waiting_gone)
        reason = held_reason(limit, new_emails, corrections_held, held_again, two_outcomes_held, dated_ahead,
                             successors, gone_new + waiting_gone, surged=surge and new_emails <= limit.limit)
        new, reopened, reasoned = unreached.reached(fresh, unreachable)
        inserted = insert_new(conn, new, planned_at=planned_at)
        reached = unreached.reopen(conn, reopened)
        unreached.reopen(conn, reasoned)  # still skipped, for tonight's reason
        fresh = pl.concat([new, reopened.drop("id")])
        # `fresh` is what was inserted unless another planner raced this one (then `planned` is less).
        by_status = dict(fresh.group_by("status").len().iter_rows())
        held = (by_status.get(HELD, 0) + revived.get("correction", 0) + revived.get("held_again", 0)
                + revived.get("two_outcomes", 0) + waiting_held + waiting_dated + waiting_drafts + waiting_gone)
        record_plan_run(conn, as_of=as_of, planned_at=planned_at, queued=by_status.get("pending", 0),
                        held=by_status.get(HELD, 0) - fresh_corrections - drafts - fresh_two - reheld - successors,
                        baseline=by_status.get("baseline", 0),
                        ingest_id=snap.ingest_id)
    emails = fresh.filter(pl.col("status").is_in(["pending", HELD]))
    by_stage = dict(emails.group_by("stage").len().sort("stage").iter_rows())
    by_channel = dict(emails.group_by("channel").len().sort("channel").iter_rows())
    counts = {
        "events": events.keys.height,
        "planned": inserted,
        "pending": by_status.get("pending", 0),
        "held": held,
        "baseline": by_status.get("baseline", 0),
        "suppressed": by_status.get("suppressed", 0),
        "skipped": by_status.get("skipped", 0),
        # Found again (planned by an earlier run), or lost to a planner racing this one.
        "already_planned": already_planned + rows.height - inserted - reached,
        "reached_again": reached,
        "superseded": superseded,
        "revived": revived.get("pending", 0),
        "corrections_held": corrections_held,
        "two_outcomes_held": two_outcomes_held,
        "successors_held": successors,
        # Waiting messages whose contact is no longer the one to tell (docs/touchpoints.md, Who is told).
        "not_to_tell_now": not_to_tell_now,
        "by_stage": by_stage,
        "by_channel": by_channel,
        "go_live": go_live.day.isoformat() if go_live.day else None,
        "hold_limit": limit.limit,
    }
    if counts["held"]:
        counts["held_reason"] = reason
    if superseded:
        log.warning("touchpoints superseded: waiting messages set aside (their event gone from the records, "
                    "or overtaken by news of the case)",
                    superseded=superseded)
    log.info("touchpoints planned", as_of=str(as_of), planned=counts["planned"],
             suppressed=counts["suppressed"], skipped=counts["skipped"], superseded=superseded,
             revived=counts["revived"], reached_again=reached, corrections_held=corrections_held,
             two_outcomes_held=two_outcomes_held,
             counts={"held": counts["held"], "baseline": counts["baseline"], "by_stage": by_stage})
    return counts
