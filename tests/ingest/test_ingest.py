"""The ingest as a whole: counts, the ingest record, the snapshot, refusals keeping the old one."""

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ehcp_monitor.data_quality.findings import quarantined_rows
from ehcp_monitor.db.models import IngestRun
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from tests.ingest.extract import base_tables, ingest_csv, write_csv


def _runs(engine):
    with Session(engine) as session:
        return session.scalars(select(IngestRun).order_by(IngestRun.id)).all()


def test_a_good_extract_loads_whole(engine, settings, as_of, tmp_path):
    tables = base_tables()
    folder = write_csv(tmp_path / "good", tables)
    result = run_ingest(engine, settings, str(folder), as_of=as_of)

    assert result.status == "loaded"
    assert result.source_kind == "csv"
    assert {t: c["read"] for t, c in result.counts.items()} == {t: len(r) for t, r in tables.items()}
    assert all(c["quarantined"] == 0 and c["loaded"] == c["read"] for c in result.counts.values())
    snap = read_snapshot(engine)
    assert snap.ingest_id == result.ingest_id
    assert snap.tables_present == set(tables)
    assert snap["people"].sort("person_id")["date_of_birth"].cast(str).to_list() == [
        "2015-04-01", "2019-11-20", "2010-02-03"]
    assert snap["plans"]["review_history"].to_list() == ["full", "full"]
    assert snap["assessments"].sort("request_id")["week20"].to_list() == [False, True]
    assert snap["people"].filter(snap["people"]["person_id"] == "P2")["upn"].to_list() == [None]
    (run,) = _runs(engine)
    assert run.status == "loaded" and run.as_of == as_of and run.source == str(folder)
    assert run.checksums["people.csv"] == hashlib.sha256((folder / "people.csv").read_bytes()).hexdigest()
    assert run.counts["requests"] == {"read": 3, "loaded": 3, "quarantined": 0, "by_code": {},
                                      "withheld_by_code": {}, "cleared_by_code": {}, "warnings_by_code": {}}
    assert run.summary["cases"] == 3 + 2 and run.summary["cases_fully_monitored"] == 5
    assert run.started_at is not None


def test_a_partial_extract_has_only_its_tables_present(engine, settings, as_of, tmp_path):
    tables = {k: v for k, v in base_tables().items() if k in ("people", "requests")}
    run_ingest(engine, settings, str(write_csv(tmp_path / "x", tables)), as_of=as_of)
    assert read_snapshot(engine).tables_present == {"people", "requests"}


def test_a_broken_extract_is_refused_and_the_good_snapshot_stays(engine, settings, as_of, tmp_path):
    good = run_ingest(engine, settings, str(write_csv(tmp_path / "good", base_tables())), as_of=as_of)
    broken = base_tables()
    broken["requests"][2]["received_date"] = "2023-13-45"  # 1 of 3 requests: 33 % > 5 %

    with pytest.raises(IngestRefused) as refused:
        ingest_csv(engine, settings, tmp_path / "broken", broken, as_of)

    assert str(refused.value).startswith("table requests: 1 of 3 rows quarantined (33.3%)")
    assert "\n" not in str(refused.value)
    snap = read_snapshot(engine)
    assert snap.ingest_id == good.ingest_id
    assert sorted(snap["requests"]["request_id"].to_list()) == ["R1", "R2", "R3"]
    assert snap["reviews"].height == 1
    first, second = _runs(engine)
    assert (first.status, second.status) == ("loaded", "refused")
    assert second.counts["requests"]["by_code"] == {"V002": 1}
    # The data team can see why: the refused ingest's rows are kept.
    kept = quarantined_rows(engine)
    assert kept.filter(kept["action"] == "quarantined").select("code", "table_name", "record_id").rows() == [
        ("V002", "requests", "R3"), ("V005", "assessments", "R3"), ("V005", "plans", "PL3"),
        ("V005", "reviews", "PL3"), ("V005", "phase_transfers", "PL3")]


def test_a_missing_required_table_is_refused(engine, settings, as_of, tmp_path):
    tables = {k: v for k, v in base_tables().items() if k != "requests"}
    with pytest.raises(IngestRefused, match="^required table requests is missing from the source$"):
        run_ingest(engine, settings, str(write_csv(tmp_path / "x", tables)), as_of=as_of)
    (run,) = _runs(engine)
    assert run.status == "refused" and run.message.startswith("required table requests")
    assert read_snapshot(engine).ingest_id is None


def test_a_missing_required_column_is_refused(engine, settings, as_of, tmp_path):
    tables = base_tables()
    for row in tables["plans"]:
        del row["start_date"]
    with pytest.raises(IngestRefused, match="^plans.csv: required column start_date of table plans is missing$"):
        run_ingest(engine, settings, str(write_csv(tmp_path / "x", tables)), as_of=as_of)


def test_a_second_ingest_replaces_the_snapshot(engine, settings, as_of, tmp_path):
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", base_tables())), as_of=as_of)
    smaller = base_tables()
    smaller["contacts"] = smaller["contacts"][:1]
    # contacts shrink by half: past the snapshot guard unless the share allows it
    second = ingest_csv(engine, settings.replace(**{"ingest.max_shrink_share": 1.0}), tmp_path / "b", smaller, as_of)
    snap = read_snapshot(engine)
    assert snap.ingest_id == second.ingest_id
    assert snap["contacts"]["contact_id"].to_list() == ["C1"]


def test_a_source_that_is_not_there_is_refused(engine, settings, as_of, tmp_path):
    with pytest.raises(IngestRefused, match="^source not found: nowhere$"):
        run_ingest(engine, settings, str(tmp_path / "nowhere"), as_of=as_of)
    with pytest.raises(IngestRefused, match="no canonical tables, SEN2 export or workbook found"):
        run_ingest(engine, settings, str(tmp_path), as_of=as_of)


def test_the_ingest_logs_counts_and_ids_never_personal_data(engine, settings, as_of, tmp_path):
    import io
    import json

    from ehcp_monitor import logs

    stream = io.StringIO()
    logs.configure(stream=stream, json=True)
    try:
        tables = base_tables()
        for row in tables["people"]:
            row["shoe_size"] = "4"
        tables["contacts"][0]["email"] = "pat.morgan@example.org\nBcc: x@example.org"
        ingest_csv(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), tmp_path / "x", tables, as_of)
    finally:
        logs.configure()
    out = stream.getvalue()
    for secret in ("Morgan", "Ada", "pat.morgan", "2015-04-01", "A123456789012", "SY1"):
        assert secret not in out
    events = {line["event"]: line for line in map(json.loads, out.splitlines())}
    assert events["unknown columns ignored"]["table"] == "people"
    assert events["unknown columns ignored"]["counts"] == 1
    assert events["ingest loaded"]["cleared_by_code"] == {"V009": 1}  # the contact loads without it
    assert events["ingest loaded"]["rows_quarantined"] == 0
