from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_a_missing_parent_and_the_dependants_of_a_quarantined_row(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["contacts"].append({**tables["contacts"][0], "contact_id": "C9", "person_id": "P404"})
    # Plan PL3 is quarantined (it starts after the as-of date); its review, transfer follow it.
    tables["plans"][1]["start_date"] = "2025-06-01"
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V005")
    assert [where(r) for r in rows] == [
        ("V005", "reviews", "reviews.csv", 2, "PL3", "plan_id"),
        ("V005", "phase_transfers", "phase_transfers.csv", 2, "PL3", "plan_id"),
        ("V005", "contacts", "contacts.csv", 4, "C9", "person_id"),
    ]
    assert rows[0]["message"] == "plan_id PL3 was quarantined in plans"
    assert rows[2]["message"] == "person_id P404 not found in people"
    snap = read_snapshot(engine)
    assert snap["reviews"].height == 0 and snap["phase_transfers"].height == 0
    assert snap["plans"]["plan_id"].to_list() == ["PL1"]
