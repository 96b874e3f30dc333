"""W005: a step recorded as done on a date after the as-of date (a warning).

The clocks take such a date as not yet known (docs/rules.md, Status on the as-of date), so the step counts as not done
until that day: a decision typed 2027 for 2026 leaves its clock open, and overdue, with no other
sign. The row loads as it is; the data team is told.
"""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "W005"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

# Dates that record a step as done. Not those that may rightly lie ahead: a review meeting
# booked, a plan's planned cease date, a phase transfer's own and due dates (V007 has the start dates).
DONE = (
    ("requests", "request_outcome_date", "decision on the request"),
    ("assessments", "assessment_outcome_date", "assessment outcome"),
    ("drafts", "draft_plan_date", "draft plan"),
    ("advice", "requested_date", "advice request"),
    ("advice", "received_date", "advice received"),
    ("reviews", "decision_date", "review decision"),
    ("reviews", "amendment_notice_date", "amendment notice"),
    ("reviews", "amended_final_date", "amended plan"),
    ("phase_transfers", "final_date", "plan after the phase transfer"),
    ("qa_audits", "audit_date", "audit"),
)


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for table, column, step in DONE:
        frame = ctx.parsed.get(table)
        if frame is not None and column in frame.columns:
            rows = frame.filter(pl.col(column) > ctx.as_of)
            found.append(issues(table, rows, column, f"{step} dated after the as-of date: not counted as done "
                                                     "until that date (a mistyped year?)"))
    return found
