"""W006: two requests for one child received on the same day load, with a warning for the data team."""

from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_a_request_keyed_twice_loads_with_a_warning_on_the_second(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    twice = {**tables["requests"][1], "request_id": "R2-B"}  # R2 again, under a new ID
    tables["requests"].append(twice)
    # Another child's request the same day, and the same child's on another day: no warning.
    tables["requests"].append({**tables["requests"][1], "request_id": "R9", "person_id": "P3"})
    tables["requests"].append({**tables["requests"][1], "request_id": "R8", "received_date": "2025-01-07"})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "W006")
    assert where(row) == ("W006", "requests", "requests.csv", 5, "R2-B", "received_date")
    assert (row["action"], row["message"]) == (
        "warning", "another request of the same child, R2, was received the same day: keyed twice, or re-keyed? "
                   "Messages repeating what the family was told of the first are held")
    assert {"R2", "R2-B"} <= set(read_snapshot(engine)["requests"]["request_id"].to_list())


def test_historical_records_of_one_day_are_not_warned_of(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    old = {**tables["requests"][2], "request_outcome": "H", "request_outcome_date": ""}
    tables["requests"][2] = old
    tables["requests"].append({**old, "request_id": "R3-B"})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)
    assert quarantine_of(engine, "W006") == []
