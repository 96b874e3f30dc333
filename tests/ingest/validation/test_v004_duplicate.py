from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_every_row_sharing_a_duplicate_id_is_quarantined(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["contacts"].append({**tables["contacts"][0], "email": "other@example.org"})
    result = ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V004")
    assert [where(r) for r in rows] == [
        ("V004", "contacts", "contacts.csv", 2, "C1", "contact_id"),
        ("V004", "contacts", "contacts.csv", 4, "C1", "contact_id"),
    ]
    assert rows[0]["message"] == "duplicate contact_id: 2 rows share it"
    assert result.counts["contacts"]["quarantined"] == 2
    assert read_snapshot(engine)["contacts"]["contact_id"].to_list() == ["C3"]
