from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_outcomes_that_need_a_date(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["requests"][0]["request_outcome_date"] = ""  # Y without its date
    tables["requests"][1]["request_outcome"] = "W"  # W needs none
    tables["assessments"].append({**tables["assessments"][0], "request_id": "R2", "assessment_outcome": "N",
                                  "assessment_outcome_date": ""})
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V008")
    assert [where(r) for r in rows] == [
        ("V008", "requests", "requests.csv", 2, "R1", "request_outcome_date"),
        ("V008", "assessments", "assessments.csv", 4, "R2", "assessment_outcome_date"),
    ]
    assert rows[0]["message"] == "request_outcome Y has no request_outcome_date"
