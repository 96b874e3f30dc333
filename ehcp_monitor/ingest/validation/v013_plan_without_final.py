"""V013: a plan recorded against a request whose assessment records no final plan issued.

A plan's start date is the day its final plan was first issued, and the request's 20-week clock is
completed by the assessment's outcome Y with its date (docs/rules.md). A plan that has started,
recorded against a request decided Y whose assessment is missing, still open (A) or Y without a
date (but a plan transferred in, begun before the request, with the assessment under way), is the
records disagreeing with themselves: most often an extract that left assessment rows out. Read as
it stands, the 20-week clock would be overdue, the case listed as a very late plan and the family
apologised to for a plan issued long ago; so the request's assessment clocks are withheld until
the records agree, and the data team is told.
"""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V013"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    plans, requests = ctx.parsed.get("plans"), ctx.parsed.get("requests")
    if plans is None or requests is None or "request_id" not in plans.columns:
        return []
    decided_y = requests.filter(pl.col("request_outcome").str.to_uppercase() == "Y").select("request_id",
                                                                                          "received_date")
    under_way = pl.DataFrame(schema={"request_id": pl.Utf8})
    assessments = ctx.parsed.get("assessments")
    if assessments is not None:
        outcome = pl.col("assessment_outcome").str.to_uppercase()
        still_open = (outcome == "A") | ((outcome == "Y") & pl.col("assessment_outcome_date").is_null())
        decided_y = decided_y.join(assessments.filter(~still_open.fill_null(False)).select("request_id"),
                                   on="request_id", how="anti")
        under_way = assessments.filter((outcome == "A").fill_null(False)).select("request_id")
    # Not a plan that began before the request (transferred in from another LA, W003) while the
    # request's assessment is under way (A): a new assessment of that child, whose 20-week clock runs.
    transferred = (pl.col("start_date") < pl.col("received_date")) & pl.col("request_id").is_in(
        under_way["request_id"].implode())
    rows = (plans.filter(pl.col("start_date") <= ctx.as_of)
            .join(decided_y.unique("request_id"), on="request_id", how="inner")
            .filter(~transferred))
    return [issues("plans", rows, "request_id",
                   "a plan that has started is recorded against this request, but its assessment records no final "
                   "plan issued (assessment rows left out of the extract?): the request's assessment clocks are "
                   "withheld", "assessment")]
