from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_control_characters_and_overlong_text(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["people"].append({**tables["people"][0], "person_id": "P7", "surname": "Morgan\x07"})
    tables["people"].append({**tables["people"][0], "person_id": "P8", "postcode": "SY1 1AA EXTRA"})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V010")
    assert [where(r) for r in rows] == [
        ("V010", "people", "people.csv", 5, "P7", "surname"),
        ("V010", "people", "people.csv", 6, "P8", "postcode"),
    ]
    assert rows[0]["message"] == "surname contains control characters"
    assert rows[1]["message"] == "postcode is longer than 10 characters"
    # The children load without the bad values; the values themselves are personal, so masked.
    assert [(r["action"], r["bad_value"]) for r in rows] == [("cleared", "***"), ("cleared", "***")]
    people = read_snapshot(engine)["people"].sort("person_id")
    assert people["person_id"].to_list() == ["P1", "P2", "P3", "P7", "P8"]
    assert people.select("surname", "postcode").rows()[3:] == [(None, "SY1 1AA"), ("Morgan", None)]
