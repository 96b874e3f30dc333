"""The SEN2 example export and its hand-written canonical twin give the same clocks.

The twin (tests/checks/data/sen2_twin) is canonical, so its reviews table is taken as the full
history (docs/rules.md, Review cycles), while SEN2 carries only the latest review: the SEN2 plan 43 therefore has
only the cycle anchored on its latest review, and the twin also has the completed cycle before it
(from the 2016 start date to the 2024 review). Every other row must be identical.
"""

from datetime import date
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from ehcp_monitor.checks import evaluate, run_check
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.ingest import run_ingest
from tests.conftest import SEN2_EXAMPLE

TWIN = Path(__file__).parent / "data" / "sen2_twin"
AS_OF = date(2025, 3, 14)
CYCLES = ["REVIEW_12M", "REVIEW_EY"]


def test_sen2_export_and_canonical_twin_give_the_same_clocks(engine, settings):
    run_ingest(engine, settings, str(TWIN), as_of=AS_OF)
    twin = evaluate(read_snapshot(engine), settings, AS_OF)
    run_ingest(engine, settings, str(SEN2_EXAMPLE), as_of=AS_OF)
    sen2 = run_check(engine, settings, as_of=AS_OF).frame

    assert read_snapshot(engine)["plans"]["review_history"].unique().to_list() == ["latest_only"]
    hidden_history = pl.col("measure").is_in(CYCLES) & pl.col("completed_date").is_not_null()
    assert twin.filter(hidden_history).select("plan_id", "anchor_date", "completed_date", "status").rows() == [
        ("43", date(2016, 9, 20), date(2024, 10, 29), "late"),
    ]
    assert_frame_equal(sen2, twin.filter(~hidden_history))
    assert sen2.select("measure", "request_id", "status").rows() == [
        ("DECIDE_6W", "21", "met"),
        ("DECIDE_6W", "22", "overdue"),
        ("FINAL_20W", "21", "late"),
        ("REVIEW_12M", "21", "pending"),
        ("REVIEW_12M", "23", "pending"),
        ("REVIEW_DECISION_4W", "23", "met"),
    ]
