from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_a_request_without_its_received_date_is_quarantined(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["requests"].append({**tables["requests"][1], "request_id": "R4", "received_date": " "})
    result = ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V001")
    assert where(row) == ("V001", "requests", "requests.csv", 5, "R4", "received_date")
    assert row["message"] == "received_date is missing"
    assert result.counts["requests"] == {"read": 4, "loaded": 3, "quarantined": 1, "by_code": {"V001": 1},
                                         "withheld_by_code": {}, "cleared_by_code": {}, "warnings_by_code": {}}
    assert result.summary["cases"] == 4 + 2 and result.summary["cases_fully_monitored"] == 3 + 2
    assert "R4" not in read_snapshot(engine)["requests"]["request_id"].to_list()
