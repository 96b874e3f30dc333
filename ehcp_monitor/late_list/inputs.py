"""What the weekly list reads from the store: stored results, never recomputed clocks.

Only the columns the list shows are read: from the snapshot the requests' officer, team,
received date and decision, the people's forename and surname (for initials only), the
assessments' exception reason, and the advice and draft dates the breach forecast needs; no dates
of birth, UPNs or contacts. Of the stored results only the rows the list uses (RESULTS_USED) and
the review cycles its recovery sections use (RESULTS_READ): at national scale most results are
clocks long completed. The last ingest's findings come as its data quality report (personal values
masked). Everything is read in one go, under the shared store lock, so every section of the list
is from the same check run.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
from sqlalchemy import Connection, Engine, select

from ehcp_monitor.capacity import INTAKE_DAYS, INTAKE_LAG_DAYS
from ehcp_monitor.data_quality import DataQualityReport, load_report
from ehcp_monitor.db.bulk import read_table
from ehcp_monitor.db.in_force import reads_results
from ehcp_monitor.db.models import CheckRun, ReportRun
from ehcp_monitor.db.results import STORED_SCHEMA as RESULT_SCHEMA  # noqa: F401 - the stored rows' schema
from ehcp_monitor.db.results import check_as_of, read_overdue_history, read_results, stored_run_id
from ehcp_monitor.db.snapshot import stored_schema
from ehcp_monitor.domain.vocabulary import OPEN_STATUSES
from ehcp_monitor.errors import JobFailed
from ehcp_monitor.forecast import HISTORY_DAYS
from ehcp_monitor.review_recovery import (
    LISTED_DAYS,
    RECOVERY_MEASURES,
    RecoveryFrames,
    history_since,
    read_review_history,
    recovery_frames,
)

REPORT_KIND = "late_list"

# What identifies one clock from run to run (overdue_history has the same columns).
CLOCK_KEY = ("measure", "request_id", "plan_id", "item", "anchor_date")
SNAPSHOT_COLUMNS = {
    "requests": ("request_id", "person_id", "received_date", "request_outcome", "request_outcome_date",
                 "case_officer", "team"),
    "people": ("person_id", "forename", "surname"),
    "assessments": ("request_id", "exception_reason"),
    # When each open 20-week case entered its stage, for the breach forecast.
    "advice": ("request_id", "requested_date", "received_date"),
    "drafts": ("request_id", "draft_plan_date"),
    # Who holds each plan: a plan's clocks go to its own officer and team, else its request's.
    "plans": ("plan_id", "request_id", "case_officer", "team"),
}


# Only the stored results the list uses: every clock still running (overdue, due soon or not
# yet due), and every 20-week clock (the breach forecast learns from the plans issued); with
# every review cycle, those are also all the results the recovery sections use, read in the same go.
RESULTS_USED = {"statuses": OPEN_STATUSES, "measures": ("FINAL_20W",)}
RESULTS_READ = {"statuses": OPEN_STATUSES, "measures": RECOVERY_MEASURES}
# Of those measures' completed clocks, only the ones completed within this many days before the
# results' date (a clock completes after it starts): the longest any section looks back (the breach
# forecast learns from the last 12 months' plans; capacity counts the last 3 months' requests, 6
# weeks back, and plans issued; the targets and review recovery, the last week and 4 weeks; the
# recovery tables list whoever held a review cycle in the last year). Older ones are most of a
# national store's results (bench/README.md, fourteenth session) and change nothing on the list.
LOOKBACK_DAYS = max(HISTORY_DAYS, INTAKE_LAG_DAYS + INTAKE_DAYS, LISTED_DAYS)


@dataclass
class LateListInputs:
    as_of: date
    check_run_id: int
    results_as_of: date
    results: pl.DataFrame  # the stored run's RESULTS_USED rows (domain.results.RESULT_SCHEMA)
    requests: pl.DataFrame
    people: pl.DataFrame
    assessments: pl.DataFrame
    advice: pl.DataFrame
    drafts: pl.DataFrame
    current_overdue: pl.DataFrame
    # None when there is no earlier list to compare with.
    previous_overdue: pl.DataFrame | None
    previous_as_of: date | None
    # The last ingest's data quality report (loaded or refused); None before the first ingest.
    data_quality: DataQualityReport | None
    plans: pl.DataFrame | None = None  # plan_id, request_id, case_officer, team
    # What the targets, review recovery and capacity sections use, read in the same transaction.
    recovery: RecoveryFrames | None = None  # None: the list has no recovery sections


def _snapshot_table(conn: Connection, table: str) -> pl.DataFrame:
    full = stored_schema(table)
    schema = {c: full[c] for c in SNAPSHOT_COLUMNS[table]}
    return read_table(conn, table, schema)


def _history(conn: Connection, run_id: int) -> pl.DataFrame:
    return read_overdue_history(conn, run_id, CLOCK_KEY)


def _previous_list(conn: Connection, as_of: date) -> tuple[int, date] | None:
    """The check run of the latest list dated before `as_of`, and that list's date.

    By the lists' dates, not the order they were built in: a list built out of order (a later
    week first, or a past week rebuilt) still compares with the week before it.
    """
    row = conn.execute(
        select(ReportRun.check_run_id, ReportRun.as_of)
        .join(CheckRun, CheckRun.id == ReportRun.check_run_id)
        .where(ReportRun.kind == REPORT_KIND, ReportRun.as_of < as_of)
        .order_by(ReportRun.as_of.desc(), ReportRun.id.desc())
        .limit(1)
    ).one_or_none()
    return (row[0], row[1]) if row else None


@reads_results("late list")
def load_inputs(engine: Engine, *, as_of: date, lookback_days: int | None = LOOKBACK_DAYS) -> LateListInputs:
    """Everything the list shows, read in one go. `lookback_days` None: every completed clock
    (the same list, read the long way)."""
    with engine.connect() as conn:
        check_run_id = stored_run_id(conn)
        if check_run_id is None:
            raise JobFailed("late list: no stored check results; run `ehcp-monitor check` first")
        results_as_of = check_as_of(conn, check_run_id) or as_of
        previous = _previous_list(conn, as_of)
        since = None if lookback_days is None else results_as_of - timedelta(days=lookback_days)
        results = read_results(conn, **RESULTS_READ, measures_since=since)
        requests = _snapshot_table(conn, "requests")
        plans = _snapshot_table(conn, "plans")
        return LateListInputs(
            as_of=as_of,
            check_run_id=check_run_id,
            results_as_of=results_as_of,
            results=results.filter(
                pl.col("status").is_in(RESULTS_USED["statuses"]) | pl.col("measure").is_in(RESULTS_USED["measures"])
            ),
            requests=requests,
            people=_snapshot_table(conn, "people"),
            assessments=_snapshot_table(conn, "assessments"),
            advice=_snapshot_table(conn, "advice"),
            drafts=_snapshot_table(conn, "drafts"),
            plans=plans,
            current_overdue=_history(conn, check_run_id),
            previous_overdue=_history(conn, previous[0]) if previous else None,
            previous_as_of=previous[1] if previous else None,
            data_quality=load_report(conn),
            recovery=recovery_frames(results, requests, plans,
                                     read_review_history(conn, since=history_since(results_as_of))),
        )
