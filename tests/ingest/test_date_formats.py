"""Dates a person would recognise: a column written in another common form is refused in one line
naming the form and the setting, never guessed and never quarantined row by row."""

import pytest

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, with_more_people

DATES = ("received_date", "request_outcome_date")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rewrite(tables, form):
    for row in tables["people"]:
        row["date_of_birth"] = form(*row["date_of_birth"].split("-"))
    for row in tables["requests"]:
        for col in DATES:
            if row[col]:
                row[col] = form(*row[col].split("-"))
    return tables


@pytest.mark.parametrize("form, named, setting", [
    (lambda y, m, d: f"{d}/{m}/{y}", "dd/mm/yyyy", "%d/%m/%Y"),
    (lambda y, m, d: f"{y}-{MONTHS[int(m) - 1]}-{d} 00:00:00", "SEN2's yyyy-Mon-dd 00:00:00", "%Y-%b-%d %H:%M:%S"),
    (lambda y, m, d: f"{d}.{m}.{y}", "dd.mm.yyyy", "%d.%m.%Y"),
])
def test_a_column_in_another_form_is_refused_naming_the_form_and_the_setting(
        engine, settings, as_of, tmp_path, form, named, setting):
    tables = with_more_people({k: v for k, v in base_tables().items() if k in ("people", "requests")})
    tables = _rewrite(tables, form)
    with pytest.raises(IngestRefused) as refused:
        ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    assert str(refused.value) == (
        f"people.csv column date_of_birth: 15 of 15 dates are not in the declared form %Y-%m-%d but read as "
        f'{named}; set source.date_format = "{setting}" in the config file')
    assert read_snapshot(engine).ingest_id is None  # nothing replaced, nothing quarantined row by row

    ingest_csv(engine, settings.replace(**{"source.date_format": setting}), tmp_path / "y", tables, as_of)
    assert sorted(read_snapshot(engine)["requests"]["received_date"].cast(str).to_list())[:3] == [
        "2023-03-01", "2024-09-02", "2024-11-13"]


@pytest.mark.parametrize("form", [
    lambda y, m, d: f"{y}-{m}-{d} 00:00",  # a time of day added by a spreadsheet
    lambda y, m, d: "NULL",  # a database export's text for no date
])
def test_a_column_in_a_form_no_one_names_is_refused_not_loaded_as_findings(engine, settings, as_of, tmp_path, form):
    tables = with_more_people({k: v for k, v in base_tables().items() if k in ("people", "requests")})
    tables = _rewrite(tables, form)
    with pytest.raises(IngestRefused) as refused:
        ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    assert str(refused.value) == (
        "people.csv column date_of_birth: 15 of 15 dates are not in the declared form %Y-%m-%d, nor in another "
        "date form this reader knows; write the dates as yyyy-mm-dd in the extract, and an empty cell for no date")
    assert read_snapshot(engine).ingest_id is None


def test_when_the_data_cannot_tell_day_from_month_both_are_named(engine, settings, as_of, tmp_path):
    tables = with_more_people({k: v for k, v in base_tables().items() if k in ("people", "requests")})
    for i, row in enumerate(tables["requests"]):
        row["received_date"], row["request_outcome_date"] = f"{1 + i % 12:02d}/{1 + i % 9:02d}/2024", ""
    with pytest.raises(IngestRefused, match=r"read as dd/mm/yyyy \(or mm/dd/yyyy \(US\): no day in the column is "
                                            r"above 12, so the data cannot tell\)"):
        ingest_csv(engine, settings, tmp_path / "x", tables, as_of)


def test_spreadsheet_day_numbers_are_named_without_quoting_them(engine, settings, as_of, tmp_path):
    tables = with_more_people({k: v for k, v in base_tables().items() if k in ("people", "requests")})
    for i, row in enumerate(tables["people"]):
        row["date_of_birth"] = str(42096 + i)
    with pytest.raises(IngestRefused) as refused:
        ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    assert str(refused.value).startswith("people.csv column date_of_birth: 15 of 15 dates are not in the declared "
                                         "form %Y-%m-%d: they are spreadsheet day numbers")
    assert "42096" not in str(refused.value)


def test_a_few_bad_dates_are_findings_at_their_rows_not_a_refusal(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["requests"][1]["received_date"] = "06/01/2025"  # one of three: a typo, not a format
    ingest_csv(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), tmp_path / "x", tables, as_of)
    (row,) = [r for r in quarantine_of(engine) if r["code"] == "V002"]
    assert (row["record_id"], row["bad_value"], row["action"]) == ("R2", "06/01/2025", "quarantined")


def test_one_column_in_another_form_beside_declared_ones_says_the_extract_mixes_forms(
        engine, settings, as_of, tmp_path):
    tables = with_more_people({k: v for k, v in base_tables().items() if k in ("people", "requests")})
    tables = _rewrite(tables, lambda y, m, d: f"{d}/{m}/{y}")
    for row in tables["requests"]:  # the requests stay ISO: no one setting reads both
        row["received_date"] = "2024-11-13"
    with pytest.raises(IngestRefused, match=r"read as dd/mm/yyyy; but requests.csv received_date is in the declared "
                                            r"form: the extract mixes date forms"):
        ingest_csv(engine, settings, tmp_path / "x", tables, as_of)


def test_a_single_date_in_another_form_is_a_finding_not_a_refusal(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["plans"][0]["cease_date"] = "31/12/2024"  # the only cease date of the extract
    ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    (row,) = quarantine_of(engine)
    assert (row["code"], row["column_name"], row["action"]) == ("V002", "cease_date", "withheld")
