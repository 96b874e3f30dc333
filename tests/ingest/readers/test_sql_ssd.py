"""`sql:ssd` against a database shaped like the Standard Safeguarding Dataset, built here."""

from datetime import date

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, create_engine

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.ingest import run_ingest
from tests.ingest.extract import quarantine_of, where

SSD = MetaData()
Table("ssd_person", SSD, Column("pers_person_id", String(48)), Column("pers_dob", Date),
      Column("pers_forename", String(100)))
Table("ssd_send", SSD, Column("send_table_id", String(48)), Column("send_person_id", String(48)))
Table("ssd_ehcp_requests", SSD, Column("ehcr_ehcp_request_id", String(48)), Column("ehcr_send_table_id", String(48)),
      Column("ehcr_ehcp_req_date", Date), Column("ehcr_ehcp_req_outcome_date", Date),
      Column("ehcr_ehcp_req_outcome", String(3)))
Table("ssd_ehcp_assessment", SSD, Column("ehca_ehcp_assessment_id", String(48)),
      Column("ehca_ehcp_request_id", String(48)), Column("ehca_ehcp_assessment_outcome_date", Date),
      Column("ehca_ehcp_assessment_outcome", String(3)), Column("ehca_ehcp_assessment_exceptions", String(100)))
Table("ssd_ehcp_named_plan", SSD, Column("ehcn_named_plan_id", String(48)), Column("ehcn_ehcp_asmt_id", String(48)),
      Column("ehcn_named_plan_start_date", Date), Column("ehcn_named_plan_ceased_date", Date),
      Column("ehcn_named_plan_ceased_reason", Integer))
Table("ssd_ehcp_active_plans", SSD, Column("ehcp_active_ehcp_id", String(48)),
      Column("ehcp_ehcp_request_id", String(48)), Column("ehcp_active_ehcp_last_review_date", Date))

ROWS = {
    "ssd_person": [
        {"pers_person_id": "1001", "pers_dob": date(2014, 5, 1), "pers_forename": "Dee"},
        {"pers_person_id": "1002", "pers_dob": date(2018, 8, 9), "pers_forename": "Eli"},
    ],
    "ssd_send": [{"send_table_id": "S1", "send_person_id": "1001"}, {"send_table_id": "S2", "send_person_id": "1002"}],
    "ssd_ehcp_requests": [
        {"ehcr_ehcp_request_id": "Q1", "ehcr_send_table_id": "S1", "ehcr_ehcp_req_date": date(2023, 1, 9),
         "ehcr_ehcp_req_outcome_date": date(2023, 2, 17), "ehcr_ehcp_req_outcome": "y"},
        {"ehcr_ehcp_request_id": "Q2", "ehcr_send_table_id": "S2", "ehcr_ehcp_req_date": date(2025, 1, 13),
         "ehcr_ehcp_req_outcome_date": None, "ehcr_ehcp_req_outcome": "N"},
    ],
    "ssd_ehcp_assessment": [
        {"ehca_ehcp_assessment_id": "A1", "ehca_ehcp_request_id": "Q1",
         "ehca_ehcp_assessment_outcome_date": date(2023, 5, 2), "ehca_ehcp_assessment_outcome": "Y",
         "ehca_ehcp_assessment_exceptions": "Y"},
    ],
    "ssd_ehcp_named_plan": [
        {"ehcn_named_plan_id": "N1", "ehcn_ehcp_asmt_id": "A1", "ehcn_named_plan_start_date": date(2023, 5, 26),
         "ehcn_named_plan_ceased_date": None, "ehcn_named_plan_ceased_reason": None},
    ],
    "ssd_ehcp_active_plans": [
        {"ehcp_active_ehcp_id": "AP1", "ehcp_ehcp_request_id": "Q1",
         "ehcp_active_ehcp_last_review_date": date(2024, 5, 20)},
    ],
}


def test_ssd_tables_map_onto_the_canonical_tables(engine, settings, as_of, db_url, monkeypatch):
    source = create_engine(db_url)
    SSD.create_all(source)
    with source.begin() as conn:
        for name, rows in ROWS.items():
            conn.execute(SSD.tables[name].insert(), rows)
    source.dispose()
    monkeypatch.setenv("EHCP_TEST_SSD_URL", db_url)
    lenient = settings.replace(**{"source.sql_url_env": "EHCP_TEST_SSD_URL", "ingest.max_reject_share": 1.0})

    result = run_ingest(engine, lenient, "sql:ssd", as_of=as_of)

    assert result.source_kind == "sql:ssd"
    snap = read_snapshot(engine)
    assert snap.tables_present == {"people", "requests", "assessments", "plans", "reviews"}
    assert sorted(snap["people"].rows()) == [("1001", date(2014, 5, 1), None, None, None, None),
                                             ("1002", date(2018, 8, 9), None, None, None, None)]
    # Q2 (outcome N without its date) loads; only its decision clock is withheld (V008).
    assert snap["requests"].select("request_id", "person_id", "received_date", "request_outcome").rows() == [
        ("Q1", "1001", date(2023, 1, 9), "Y"), ("Q2", "1002", date(2025, 1, 13), "N")]
    assert snap["assessments"].select("request_id", "week20", "exception_reason").rows() == [("Q1", True, None)]
    # no officer or team of its own
    assert snap["plans"].rows() == [("N1", "1001", "Q1", date(2023, 5, 26), None, None, None, None, "latest_only")]
    assert snap["reviews"].select("plan_id", "meeting_date", "decision_date").rows() == [
        ("N1", None, date(2024, 5, 20))]
    (row,) = quarantine_of(engine)  # Q2: outcome N without its date
    assert where(row) == ("V008", "requests", "sql/sources/ssd/requests.sql", 2, "Q2", "request_outcome_date")
    assert (row["action"], row["measure"]) == ("withheld", "DECIDE_6W")


def test_the_source_url_must_be_in_the_environment(engine, settings, as_of, monkeypatch):
    monkeypatch.delenv("EHCP_SOURCE_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="EHCP_SOURCE_DATABASE_URL, which is not set"):
        run_ingest(engine, settings, "sql:ssd", as_of=as_of)
    with pytest.raises(ConfigError, match="no SQL source named nothing"):
        run_ingest(engine, settings, "sql:nothing", as_of=as_of)
