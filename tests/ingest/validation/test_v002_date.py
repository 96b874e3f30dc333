from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_a_uk_date_in_an_iso_extract_is_not_guessed(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["drafts"].append({"request_id": "R3", "draft_plan_date": "03/05/2023"})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V002")
    assert where(row) == ("V002", "drafts", "drafts.csv", 3, "R3", "draft_plan_date")
    assert row["message"] == "draft_plan_date '03/05/2023' is not a date in the form %Y-%m-%d"
    assert read_snapshot(engine)["drafts"]["request_id"].to_list() == ["R1"]


def test_a_date_of_birth_is_never_quoted_in_the_message(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["people"].append({**tables["people"][0], "person_id": "P9", "date_of_birth": "1st May 2015"})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V002")
    assert where(row) == ("V002", "people", "people.csv", 5, "P9", "date_of_birth")
    assert "May" not in row["message"]


def test_a_year_no_record_can_hold_is_v002_and_the_checks_still_run(engine, lenient, as_of, tmp_path):
    from ehcp_monitor.checks import run_check

    tables = base_tables()
    # A sign typed before the year, and a year of two digits padded to four.
    tables["people"][1]["date_of_birth"] = "-2019-11-20"
    tables["drafts"][0]["draft_plan_date"] = "0025-01-10"
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = sorted(quarantine_of(engine, "V002"), key=lambda r: r["table_name"])
    assert [where(r)[1:3] + where(r)[4:] for r in rows] == [
        ("drafts", "drafts.csv", "R1", "draft_plan_date"), ("people", "people.csv", "P2", "date_of_birth")]
    assert "2019" not in rows[1]["message"]
    assert run_check(engine, lenient, as_of=as_of).results > 0
