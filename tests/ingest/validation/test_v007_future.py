from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_a_request_received_after_the_as_of_date(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["requests"].append({**tables["requests"][1], "request_id": "R6", "received_date": "2025-03-15"})
    tables["requests"].append({**tables["requests"][1], "request_id": "R7", "received_date": "2025-03-14"})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V007")
    assert where(row) == ("V007", "requests", "requests.csv", 5, "R6", "received_date")
    assert "R7" in read_snapshot(engine)["requests"]["request_id"].to_list()  # as-of day itself is fine


def test_a_plan_starting_after_the_as_of_date(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["plans"][0]["start_date"] = "2025-04-01"
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V007")
    assert where(row) == ("V007", "plans", "plans.csv", 2, "PL1", "start_date")
    assert row["message"] == "plan starts after the as-of date"
