"""V006: dates in an impossible order.

The orders of docs/input-formats.md, Bad input (a decision before the request, a final plan before the
request, a review decision before its meeting, a plan ceasing before it started, a request before
the child's birth) plus completions before their anchors (advice received before requested, a
draft before the request, an amended final plan before its amendment notice: reg 22).
"""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.source import ROW
from ehcp_monitor.ingest.validation.base import Context, issues, with_parent

CODE = "V006"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

# (table, later column, earlier column, message, effect): both in the same row. The effect (what
# the finding costs, ingest.disposition) is the column's own unless named.
SAME_ROW = (
    ("requests", "request_outcome_date", "received_date", "request outcome date is before the request was received",
     None),
    ("advice", "received_date", "requested_date", "advice received before it was requested", None),
    ("plans", "cease_date", "start_date", "plan ceases before it started", None),
    # Only the 4-week clock of that review: the decision still completes its cycle (docs/input-formats.md, Bad input).
    ("reviews", "decision_date", "meeting_date", "review decision is before its meeting", "review_4w"),
    ("reviews", "amended_final_date", "amendment_notice_date", "amended final plan is before its amendment notice",
     None),
)
# (table, later column, parent, key, parent's earlier column, message, effect)
ACROSS = (
    ("requests", "received_date", "people", "person_id", "date_of_birth", "request received before the child was born",
     None),
    ("assessments", "assessment_outcome_date", "requests", "request_id", "received_date",
     "assessment decision is before the request was received", None),
    ("drafts", "draft_plan_date", "requests", "request_id", "received_date",
     "draft plan is before the request was received", None),
    ("advice", "requested_date", "requests", "request_id", "received_date",
     "advice requested before the request was received", None),
    # The signature of a plan transferred in from another LA: the request is this LA's record of the
    # transfer, dated after the plan began. A warning (W003), never a cost (docs/input-formats.md, Bad input).
    ("plans", "start_date", "requests", "request_id", "received_date", "final plan is before the request was received",
     "transferred_in"),
    # A review completes a cycle of the plan: one dated before the plan began puts the plan's
    # cycles in doubt (docs/rules.md, Review cycles), not its other clocks.
    ("reviews", "meeting_date", "plans", "plan_id", "start_date", "review meeting is before the plan started",
     "plan_cycles"),
    ("reviews", "decision_date", "plans", "plan_id", "start_date", "review decision is before the plan started",
     "plan_cycles"),
)


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for table, later, earlier, message, effect in SAME_ROW:
        if table in ctx.parsed:
            rows = ctx.parsed[table].filter(pl.col(later) < pl.col(earlier))
            found.append(issues(table, rows, later, message, effect))
    for table, later, parent, key, earlier, message, effect in ACROSS:
        joined = with_parent(ctx, table, parent, key, [earlier])
        if joined is not None:
            rows = joined.filter(pl.col(later) < pl.col(f"parent_{earlier}")).unique(ROW, keep="first")
            found.append(issues(table, rows, later, message, effect))
    return found
