"""A hand-built store for the late-list tests: snapshot, two check runs, a previous list, quarantine.

Results as of 2025-03-14 (check run 2); the previous list was built on check run 1 (2025-03-07).
Stored rows are what the clock engine would write; the list must never recompute them.
"""

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import insert

from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import CheckRun, IngestRun, ReportRun
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot

AS_OF = date(2025, 3, 14)
PREVIOUS_AS_OF = date(2025, 3, 7)
HYPERLINK_OFFICER = '=HYPERLINK("http://x","y")'
SCRIPT_REASON = "<script>alert('x')</script>"
LOADED = datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
D = date

PEOPLE = pl.DataFrame(
    {
        "person_id": ["P1", "P2", "P3", "P4", "P5"],
        "date_of_birth": [D(2015, 1, 2), D(2012, 5, 6), D(2016, 7, 8), D(2019, 9, 10), D(2010, 11, 12)],
        "forename": ["Jane", "Tom", "Ali", "bob", None],
        "surname": ["Smith", "Brown", "Khan", " jones", None],
        "upn": ["A123456789012", None, None, None, None],
    }
)
REQUESTS = pl.DataFrame(
    {
        "request_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
        "person_id": ["P1", "P2", "P3", "P4", "P5", "P3", "P1"],
        "received_date": [D(2024, 6, 3), D(2023, 12, 1), D(2024, 10, 1), D(2025, 1, 6), D(2019, 5, 1),
                          D(2025, 2, 6), D(2025, 3, 14)],
        "request_outcome": ["Y", "Y", "Y", "A", "Y", "A", "A"],
        "request_outcome_date": [D(2024, 7, 1), D(2024, 1, 10), D(2024, 11, 1), None, D(2019, 6, 1), None, None],
        "case_officer": ["Amy Officer", HYPERLINK_OFFICER, "Amy Officer", None, "Ben Officer", "Ben Officer",
                         "Amy Officer"],
        "team": ["North", "South", "North", None, "South", "South", "North"],
    }
)
ASSESSMENTS = pl.DataFrame(
    {
        "request_id": ["R1", "R2", "R3"],
        "assessment_outcome": ["A", "A", "A"],
        "week20": [False, True, False],
        "exception_reason": [None, SCRIPT_REASON, None],
    }
)
PLANS = pl.DataFrame({"plan_id": ["PL5"], "person_id": ["P5"], "request_id": ["R5"], "start_date": [D(2019, 9, 1)]})

_RESULT_COLUMNS = ("measure", "request_id", "plan_id", "person_id", "item", "anchor_date", "due_date",
                   "completed_date", "status", "days_late", "exception", "very_late", "stage", "kind", "basis")
# measure, request, plan, person, item, anchor, due, completed, status, days_late, exception, very_late,
# stage, kind, basis
RESULTS = [
    ("DECIDE_6W", "R1", None, "P1", None, D(2024, 6, 3), D(2024, 7, 15), D(2024, 7, 1), "met", None, False, False,
     None, "statutory", "reg 5(1)"),
    ("ADVICE_6W", "R1", None, "P1", "education", D(2024, 7, 1), D(2024, 8, 12), D(2024, 8, 1), "met", None, False,
     False, None, "statutory", "reg 8"),
    ("ADVICE_6W", "R1", None, "P1", "health", D(2024, 7, 1), D(2024, 8, 12), None, "overdue", 214, False, True,
     None, "statutory", "reg 8"),
    ("ADVICE_6W", "R1", None, "P1", "social_care", D(2025, 2, 10), D(2025, 3, 24), None, "due_soon", None, False,
     False, None, "statutory", "reg 8"),
    ("DRAFT_LOCAL", "R1", None, "P1", None, D(2024, 6, 3), D(2024, 9, 9), None, "overdue", 186, False, False, None,
     "local", "none"),
    ("FINAL_20W", "R1", None, "P1", None, D(2024, 6, 3), D(2024, 10, 21), None, "overdue", 144, False, True,
     "gathering_advice", "statutory", "reg 13(2)"),
    ("FINAL_20W", "R2", None, "P2", None, D(2023, 12, 1), D(2024, 4, 19), None, "overdue", 329, True, True,
     "finalising", "statutory", "reg 13(2)"),
    ("FINAL_20W", "R3", None, "P3", None, D(2024, 10, 1), D(2025, 2, 18), None, "overdue", 24, False, False,
     "drafting", "statutory", "reg 13(2)"),
    ("DECIDE_6W", "R4", None, "P4", None, D(2025, 1, 6), D(2025, 2, 17), None, "overdue", 25, False, False, None,
     "statutory", "reg 5(1)"),
    ("REVIEW_12M", "R5", "PL5", "P5", None, D(2024, 1, 10), D(2025, 1, 10), None, "overdue", 63, False, True, None,
     "statutory", "CFA s44; reg 18"),
    ("DECIDE_6W", "R6", None, "P3", None, D(2025, 2, 6), D(2025, 3, 20), None, "due_soon", None, False, False, None,
     "statutory", "reg 5(1)"),
    ("DECIDE_6W", "R7", None, "P1", None, D(2025, 3, 14), D(2025, 4, 25), None, "pending", None, False, False, None,
     "statutory", "reg 5(1)"),
]
RESULT_SCHEMA = {
    "measure": pl.Utf8, "request_id": pl.Utf8, "plan_id": pl.Utf8, "person_id": pl.Utf8, "item": pl.Utf8,
    "anchor_date": pl.Date, "due_date": pl.Date, "completed_date": pl.Date, "status": pl.Utf8,
    "days_late": pl.Int64, "exception": pl.Boolean, "very_late": pl.Boolean, "stage": pl.Utf8, "kind": pl.Utf8,
    "basis": pl.Utf8,
}
HISTORY_COLUMNS = ("measure", "request_id", "plan_id", "person_id", "item", "anchor_date", "due_date", "days_late",
                   "very_late")
# Run 1 (the previous list): R1 and R2 20-week, PL5's review, and R9's decision (resolved since).
PREVIOUS_OVERDUE = [
    ("FINAL_20W", "R1", None, "P1", None, D(2024, 6, 3), D(2024, 10, 21), 137, True),
    ("FINAL_20W", "R2", None, "P2", None, D(2023, 12, 1), D(2024, 4, 19), 322, True),
    ("REVIEW_12M", "R5", "PL5", "P5", None, D(2024, 1, 10), D(2025, 1, 10), 56, True),
    ("DECIDE_6W", "R9", None, "P4", None, D(2025, 1, 2), D(2025, 2, 13), 22, False),
]
# The last ingest's findings (ingest 2; ingest 1's must not show). A surname and an email stored
# unmasked (as an older or mistaken ingest might) must still never be shown.
QUARANTINE = [
    # ingest, table, file, line, record, code, column, message, action, measure, bad value
    (1, "requests", "requests.csv", 9, "R-OLD", "V001", "received_date", "an old ingest's row", "quarantined",
     None, None),
    (2, "requests", "requests.csv", 4, "@SUM(1+1)", "V004", "request_id", "duplicate ID", "quarantined", None,
     "@SUM(1+1)"),
    (2, "advice", "advice.csv", 2, "R1", "V003", "advice_type", "-2+3 is not an advice type", "quarantined", None,
     "-2+3"),
    *[(2, "advice", "advice.csv", line, f"A{line}", "V002", "received_date", "received_date is not a date",
       "withheld", "ADVICE_6W", value)
      for line, value in ((3, '=HYPERLINK("http://x","y")'), (5, None), (6, "soon"), (8, "31/02/2024"),
                          (9, "2024-13-01"))],
    (2, "people", "people.csv", 3, "P2", "V010", "surname", "surname has control characters", "quarantined", None,
     "Smith\x07"),
    (2, "contacts", "contacts.csv", 2, "C1", "V009", "email", "email is not a single valid address", "quarantined",
     None, "Jane.Brown@@example.org"),
    (2, "requests", "requests.csv", 6, "R3", "V003", "request_source", "request_source is not in its list",
     "cleared", None, "walk-in"),
    (2, "reviews", "reviews.csv", 4, "RV1", "V006", "decision_date", "review decision before its meeting",
     "withheld", "REVIEW_DECISION_4W", "2024-01-01"),
    (2, "plans", "plans.csv", 2, "PL5", "W001", "start_date", "historical record's start date missing", "warning",
     None, None),
]
QUARANTINE_SCHEMA = {
    "ingest_id": pl.Int64, "table_name": pl.Utf8, "source_file": pl.Utf8, "source_line": pl.Int64,
    "record_id": pl.Utf8, "code": pl.Utf8, "column_name": pl.Utf8, "message": pl.Utf8, "action": pl.Utf8,
    "measure": pl.Utf8, "bad_value": pl.Utf8,
}
INGEST_SUMMARY = {
    "rows_read": 40, "rows_loaded": 36, "rows_quarantined": 4, "cases": 8, "cases_fully_monitored": 6,
    "share_fully_monitored": 0.75,
}


def results_frame() -> pl.DataFrame:
    return pl.DataFrame(RESULTS, schema=RESULT_SCHEMA, orient="row")


def _history(run_id: int, as_of: date, rows) -> pl.DataFrame:
    df = pl.DataFrame(rows, schema={c: RESULT_SCHEMA[c] for c in HISTORY_COLUMNS}, orient="row")
    return df.with_columns(run_id=pl.lit(run_id, pl.Int64), as_of=pl.lit(as_of))


def current_history() -> pl.DataFrame:
    overdue = results_frame().filter(pl.col("status") == "overdue").select(HISTORY_COLUMNS)
    return _history(2, AS_OF, overdue.rows())


def load_dataset(engine, *, with_previous_list: bool = True) -> None:
    snapshot = Snapshot.from_frames(
        {"people": PEOPLE, "requests": REQUESTS, "assessments": ASSESSMENTS, "plans": PLANS},
        ingest_id=2, source_kind="canonical",
    )
    with engine.begin() as conn:
        replace_snapshot(conn, snapshot, loaded_at=LOADED)
        for run_id, as_of in ((1, PREVIOUS_AS_OF), (2, AS_OF)):
            conn.execute(insert(CheckRun).values(id=run_id, as_of=as_of, ingest_id=run_id, started_at=LOADED,
                                                 finished_at=LOADED, counts={}))
            conn.execute(insert(IngestRun).values(id=run_id, started_at=LOADED, finished_at=LOADED,
                                                  source="extract/", source_kind="canonical", as_of=as_of,
                                                  status="loaded", checksums={}, counts={},
                                                  summary=INGEST_SUMMARY if run_id == 2 else {}))
        write_frame(conn, "check_results", results_frame().with_columns(run_id=pl.lit(2, pl.Int64)))
        write_frame(conn, "overdue_history", _history(1, PREVIOUS_AS_OF, PREVIOUS_OVERDUE))
        write_frame(conn, "overdue_history", current_history())
        write_frame(conn, "quarantine", pl.DataFrame(QUARANTINE, orient="row", schema=QUARANTINE_SCHEMA))
        if with_previous_list:
            conn.execute(insert(ReportRun).values(kind="late_list", as_of=PREVIOUS_AS_OF, check_run_id=1,
                                                  created_at=LOADED, paths=[], counts={}))
