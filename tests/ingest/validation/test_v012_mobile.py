import polars as pl
import pytest

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.transports import normalise_uk_mobile
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where

REACH = {"mobile": "", "address_line_1": "", "address_line_2": "", "postcode": "", "preferred_channel": ""}


def _tables(*extra):
    tables = base_tables()
    tables["contacts"] = [{**row, **REACH} for row in tables["contacts"]]
    tables["contacts"] += [{**tables["contacts"][0], **row} for row in extra]
    return tables


@pytest.mark.parametrize("mobile", ["01632 960123", "+33 6 12 34 56 78", "0770090012", "call the school"])
def test_a_mobile_that_is_not_a_uk_mobile(engine, lenient, as_of, tmp_path, mobile):
    assert normalise_uk_mobile(mobile) is None  # the rule and the transport agree
    ingest_csv(engine, lenient, tmp_path / "x", _tables({"contact_id": "C7", "mobile": mobile}), as_of)

    (row,) = [r for r in quarantine_of(engine) if r["code"].startswith("V")]  # warnings aside
    assert where(row) == ("V012", "contacts", "contacts.csv", 4, "C7", "mobile")
    # The contact loads without the number (no clock needs it), which is never shown.
    assert (row["action"], row["bad_value"]) == ("cleared", "***")
    contacts = read_snapshot(engine)["contacts"]
    assert contacts.filter(contacts["contact_id"] == "C7")["mobile"].to_list() == [None]


def test_uk_mobiles_in_any_usual_form_load_with_the_address(engine, lenient, as_of, tmp_path):
    forms = ["07700 900123", "+44 (0)7700 900123", "0044 7700-900-123", "447700900123"]
    rows = [{"contact_id": f"M{n}", "mobile": mobile, "address_line_1": "1 Lane", "address_line_2": "Town",
             "postcode": "EX1 2AB", "preferred_channel": "SMS"} for n, mobile in enumerate(forms)]
    assert {normalise_uk_mobile(m) for m in forms} == {"+447700900123"}
    ingest_csv(engine, lenient, tmp_path / "x", _tables(*rows), as_of)

    assert [r for r in quarantine_of(engine) if r["code"].startswith("V")] == []
    contacts = read_snapshot(engine)["contacts"].filter(pl.col("contact_id").str.starts_with("M"))
    assert contacts.sort("contact_id")["mobile"].to_list() == forms
    assert set(contacts["preferred_channel"]) == {"sms"} and set(contacts["postcode"]) == {"EX1 2AB"}
    assert set(contacts["address_line_2"]) == {"Town"} and contacts["address_line_3"].null_count() == 4
