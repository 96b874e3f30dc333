from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_an_unknown_advice_type_is_quarantined_and_codes_are_case_insensitive(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["advice"].append({"request_id": "R3", "advice_type": "physio", "requested_date": "2023-04-10",
                             "received_date": ""})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V003")
    assert where(row) == ("V003", "advice", "advice.csv", 4, "R3", "advice_type")
    assert "'physio' is not one of education" in row["message"]
    snap = read_snapshot(engine)
    assert sorted(snap["advice"]["advice_type"].to_list()) == ["education", "health"]  # "Education" stored lower
    assert sorted(snap["requests"]["request_outcome"].to_list()) == ["A", "Y", "Y"]  # "a" stored upper


def test_a_flag_that_is_not_a_flag_is_quarantined(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["contacts"][1]["opted_out"] = "maybe"
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V003")
    assert where(row) == ("V003", "contacts", "contacts.csv", 3, "C3", "opted_out")
    assert read_snapshot(engine)["requests"].sort("request_id")["request_tribunal"].to_list() == [False, False, None]


def test_unmapped_review_outcome_is_quarantined_and_config_codes_map(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["reviews"].append({**tables["reviews"][0], "meeting_date": "2024-11-05", "decision_date": "2024-11-20",
                              "outcome": "R", "amendment_notice_date": "", "amended_final_date": ""})
    tables["reviews"].append({**tables["reviews"][-1], "meeting_date": "2024-12-05", "decision_date": "2024-12-20",
                              "outcome": "X"})
    settings = lenient.replace(**{"ingest.review_outcome_codes": {"R": "amend"}})
    ingest_csv(engine, settings, tmp_path / "x", tables, as_of)

    (row,) = quarantine_of(engine, "V003")
    assert where(row) == ("V003", "reviews", "reviews.csv", 4, "PL3", "outcome")
    # The review loads (it still completes its cycle); only its amendment clock is withheld.
    assert (row["action"], row["measure"], row["bad_value"]) == ("withheld", "AMEND_FINAL_8W", "X")
    assert sorted(read_snapshot(engine)["reviews"]["outcome"].to_list(), key=lambda o: (o is None, o)) == [
        "amend", "amend", None]
