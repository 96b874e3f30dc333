"""Planning: every due touchpoint into the outbox, once (docs/touchpoints.md, At most once, always).

Events x recipients -> rows of `touchpoints`, inserted in bulk with ON CONFLICT DO NOTHING on the
unique key (stage, case_ref, event_date, contact_id): re-planning never duplicates, and a row's
first verdict (baseline, suppressed, skipped, pending or held) is the one that stays.

Before go-live nothing is sent (`baseline`, golive.py); a run that would queue more new emails
than the hold limit records them `held` (hold.py) and says so in its counts (`held_reason`).
"""

from datetime import date, timedelta

import polars as pl
from sqlalchemy import Connection, Engine, text

from ehcp_monitor.config import Settings
from ehcp_monitor.db.bulk import read_frame, write_frame
from ehcp_monitor.db.in_force import reads_results, require_results_as_of
from ehcp_monitor.db.results import read_results as stored_results
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.db.withheld import read_withheld
from ehcp_monitor.logs import get_logger
from ehcp_monitor.touchpoints.events import find_events
from ehcp_monitor.touchpoints.golive import settle_go_live
from ehcp_monitor.touchpoints.hold import HELD, hold_limit, record_plan_run

log = get_logger()

NO_CONTACT = "none"  # contact_id of the row recording that a person has no contact at all
# One address, no spaces or line breaks (input validation V009 applies the full rule).
EMAIL_PATTERN = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"
OUTBOX_COLUMNS = (
    "stage", "case_ref", "event_date", "contact_id", "person_id", "request_id", "plan_id",
    "variant", "status", "reason", "attempts", "planned_as_of", "context",
)


# Only the stored results touchpoints use: due dates of the decision and 20-week clocks, open
# review cycles, and every overdue statutory clock.
RESULTS_USED = {
    "measures": ("DECIDE_6W", "FINAL_20W"),
    "open_measures": ("REVIEW_12M", "REVIEW_EY"),
    "overdue_kind": "statutory",
}
KEY = ("stage", "case_ref", "event_date", "contact_id")


def read_results(conn: Connection) -> pl.DataFrame:
    """The stored results touchpoints use (RESULT_SCHEMA), read as columns."""
    return stored_results(conn, **RESULTS_USED)


def read_planned_keys(conn: Connection) -> pl.DataFrame:
    schema = {"stage": pl.Utf8, "case_ref": pl.Utf8, "event_date": pl.Date, "contact_id": pl.Utf8}
    return read_frame(conn, f"SELECT {', '.join(KEY)} FROM touchpoints", schema)


def plan_rows(events: pl.DataFrame, contacts: pl.DataFrame, settings: Settings, *, as_of: date,
              go_live: date | None = None) -> pl.DataFrame:
    """One outbox row per event and recipient, with its first verdict."""
    oldest = as_of - timedelta(days=settings.touchpoints.max_event_age_days)
    recipients = contacts.select("contact_id", "person_id", "email", "opted_out")
    rows = events.join(recipients, on="person_id", how="left")
    email_ok = pl.col("email").str.strip_chars().str.contains(EMAIL_PATTERN).fill_null(False)
    before_go_live = pl.lit(False) if go_live is None else pl.col("event_date") < go_live
    verdict = (
        pl.when(before_go_live)
        .then(pl.struct(status=pl.lit("baseline"), reason=pl.lit(f"before go-live ({go_live})")))
        .when(pl.col("event_date") < oldest)
        .then(pl.struct(status=pl.lit("suppressed"),
                        reason=pl.lit(f"event older than {settings.touchpoints.max_event_age_days} days "
                                      "when first seen")))
        .when(pl.col("contact_id").is_null())
        .then(pl.struct(status=pl.lit("skipped"), reason=pl.lit("no contact recorded")))
        .when(pl.col("opted_out").fill_null(False))
        .then(pl.struct(status=pl.lit("skipped"), reason=pl.lit("opted out")))
        .when(~email_ok)
        .then(pl.struct(status=pl.lit("skipped"), reason=pl.lit("no valid email address")))
        .otherwise(pl.struct(status=pl.lit("pending"), reason=pl.lit(None, pl.Utf8)))
        .alias("verdict")
    )
    return (
        rows.with_columns(pl.col("contact_id").fill_null(NO_CONTACT), verdict)
        .unnest("verdict")
        .with_columns(pl.lit(0).alias("attempts"), pl.lit(as_of).alias("planned_as_of"))
        .unique(subset=list(KEY), keep="first", maintain_order=True)
        # A suppressed or baseline row is never sent: it keeps no facts.
        .with_columns(pl.when(pl.col("status").is_in(["suppressed", "baseline"])).then(pl.lit("{}"))
                      .otherwise("context").alias("context"))
        .select(OUTBOX_COLUMNS)
    )


def insert_new(conn: Connection, rows: pl.DataFrame) -> int:
    """Insert the rows not already in the outbox (bulk, through a temporary table); returns how many.

    ON CONFLICT DO NOTHING on the once key keeps this right when two planners overlap.
    """
    cols = ", ".join(OUTBOX_COLUMNS)
    conn.exec_driver_sql("DROP TABLE IF EXISTS touchpoints_new")
    empty = "false" if conn.dialect.name == "postgresql" else "0"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE touchpoints_new AS SELECT {cols} FROM touchpoints WHERE {empty}")
    write_frame(conn, "touchpoints_new", rows)
    # "WHERE 1 = 1" keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    inserted = conn.execute(text(
        f"INSERT INTO touchpoints ({cols}, planned_at) SELECT {cols}, CURRENT_TIMESTAMP FROM touchpoints_new "
        "WHERE 1 = 1 ON CONFLICT (stage, case_ref, event_date, contact_id) DO NOTHING"
    )).rowcount
    conn.exec_driver_sql("DROP TABLE touchpoints_new")
    return inserted


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
def plan_touchpoints(engine: Engine, settings: Settings, *, as_of: date) -> dict:
    """Find every due touchpoint and record it in the outbox. Returns counts of new rows.

    `held` > 0 means this run's new emails were held (`held_reason` says why): the caller
    reports it as a failure (exit 1) so a person looks before anything is sent.
    """
    snap = read_snapshot(engine)
    with engine.begin() as conn:
        # Before go-live can be fixed: never by a run with nothing to plan, or on another day's results.
        require_results_as_of(conn, "touchpoints plan", as_of)
        go_live = settle_go_live(conn, settings, as_of=as_of)
        results = read_results(conn)
        events = find_events(snap, results, settings, as_of=as_of, withheld=read_withheld(conn, snap.ingest_id))
        rows = plan_rows(events, snap["contacts"], settings, as_of=as_of, go_live=go_live.day)
        # Most events were planned on earlier nights: leave those out before the database does.
        fresh = rows.join(read_planned_keys(conn), on=list(KEY), how="anti")
        limit = hold_limit(conn, settings)
        new_emails = fresh.filter(pl.col("status") == "pending").height
        reason = limit.message(new_emails)
        fresh = hold_surge(fresh, limit.limit, f"surge held: {new_emails} new emails in one run, "
                                               f"more than {limit.limit}")
        inserted = insert_new(conn, fresh)
        # `fresh` is what was inserted unless another planner raced this one (then `planned` is less).
        by_status = dict(fresh.group_by("status").len().iter_rows())
        record_plan_run(conn, as_of=as_of, queued=by_status.get("pending", 0), held=by_status.get(HELD, 0),
                        baseline=by_status.get("baseline", 0))
    emails = fresh.filter(pl.col("status").is_in(["pending", HELD]))
    by_stage = dict(emails.group_by("stage").len().sort("stage").iter_rows())
    counts = {
        "events": events.height,
        "planned": inserted,
        "pending": by_status.get("pending", 0),
        "held": by_status.get(HELD, 0),
        "baseline": by_status.get("baseline", 0),
        "suppressed": by_status.get("suppressed", 0),
        "skipped": by_status.get("skipped", 0),
        "already_planned": rows.height - inserted,
        "by_stage": by_stage,
        "go_live": go_live.day.isoformat() if go_live.day else None,
        "hold_limit": limit.limit,
    }
    if counts["held"]:
        counts["held_reason"] = reason
    log.info("touchpoints planned", as_of=str(as_of), planned=counts["planned"],
             suppressed=counts["suppressed"], skipped=counts["skipped"],
             counts={"held": counts["held"], "baseline": counts["baseline"], "by_stage": by_stage})
    return counts
