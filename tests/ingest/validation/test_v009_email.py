import pytest

from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


@pytest.mark.parametrize("email", [
    "pat@example.org\r\nBcc: everyone@example.org",
    "pat@example.org, sam@example.org",
    "Pat <pat@example.org>",
    "pat at example.org",
    "pat@localhost",
])
def test_an_email_that_is_not_one_valid_address(engine, lenient, as_of, tmp_path, email):
    tables = base_tables()
    tables["contacts"].append({**tables["contacts"][0], "contact_id": "C7", "email": email})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine)
    assert where(row) == ("V009", "contacts", "contacts.csv", 4, "C7", "email")
    assert "example" not in row["message"]  # the address itself never reaches the message
    # The contact loads without the address (no clock needs it): recorded, never emailed.
    assert (row["action"], row["bad_value"]) == ("cleared", "***")
    contacts = read_snapshot(engine)["contacts"]
    assert contacts.filter(contacts["contact_id"] == "C7")["email"].to_list() == [None]
