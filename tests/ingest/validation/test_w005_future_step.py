"""W005: a step recorded as done after the as-of date loads, with a warning for the data team."""

from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_a_step_dated_after_the_as_of_date_loads_with_a_warning(engine, lenient, as_of, tmp_path):
    """W005: the decision loads (its clock reads it as not yet known); the data team is told."""
    tables = base_tables()
    tables["requests"][0]["request_outcome_date"] = "2026-01-20"  # 2025 meant: after the as-of date
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "W005")
    assert where(row) == ("W005", "requests", "requests.csv", 2, tables["requests"][0]["request_id"],
                          "request_outcome_date")
    assert (row["action"], row["message"]) == (
        "warning", "decision on the request dated after the as-of date: not counted as done until that date "
                   "(a mistyped year?)")
    assert tables["requests"][0]["request_id"] in read_snapshot(engine)["requests"]["request_id"].to_list()
