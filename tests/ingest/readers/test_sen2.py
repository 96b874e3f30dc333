"""The SEN2 Blade export (docs/input-formats.md, SEN2 Blade export), on the shared example and variations of it."""

import shutil
from datetime import date

import polars as pl
import pytest

from ehcp_monitor.checks.run import run_check
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from tests.conftest import SEN2_EXAMPLE
from tests.ingest.extract import base_tables, quarantine_of, where, write_csv

ACTIVE = "Blade-Export_14-03-2025_activeplans.csv"


@pytest.fixture
def export(tmp_path):
    folder = tmp_path / "sen2"
    shutil.copytree(SEN2_EXAMPLE, folder)
    return folder


def _edit(folder, module, change):
    path = folder / f"Blade-Export_14-03-2025_{module}.csv"
    change(pl.read_csv(path, infer_schema=False)).write_csv(path, null_value="")


def test_the_example_export_maps_onto_the_canonical_tables(engine, settings, as_of):
    result = run_ingest(engine, settings, str(SEN2_EXAMPLE), as_of=as_of)
    assert result.source_kind == "sen2"
    assert {t: (c["read"], c["quarantined"]) for t, c in result.counts.items()} == {
        "people": (3, 0), "requests": (3, 0), "assessments": (2, 0), "plans": (2, 0), "reviews": (1, 0),
        "phase_transfers": (0, 0)}
    snap = read_snapshot(engine)
    assert snap.tables_present == {"people", "requests", "assessments", "plans", "reviews", "phase_transfers"}
    assert snap["people"].sort("person_id").select("person_id", "date_of_birth", "upn").rows()[0] == (
        "11", date(2017, 2, 14), "A123456789012")
    assert snap["requests"].sort("request_id").select("request_id", "person_id", "request_outcome",
                                                      "request_outcome_date").rows() == [
        ("21", "11", "Y", date(2024, 10, 25)), ("22", "12", "A", None), ("23", "13", "H", None)]
    assert snap["plans"].sort("plan_id").select("plan_id", "person_id", "request_id", "start_date",
                                                "review_history").rows() == [
        ("41", "11", "21", date(2025, 2, 10), "latest_only"), ("43", "13", "23", date(2016, 9, 20), "latest_only")]
    assert snap["reviews"].rows() == [("43", date(2024, 10, 8), date(2024, 10, 29), "maintain", None, None)]


def test_a_meeting_later_than_the_decision_is_two_reviews(engine, settings, as_of, export):
    _edit(export, "activeplans", lambda df: df.with_columns(
        pl.when(pl.col("requeststableid") == "23").then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
        for c, v in (("reviewmeeting", "2025-Feb-20 00:00:00"), ("lastreview", "2024-Mar-01 00:00:00"),
                     ("reviewoutcome", "A"), ("reviewdraft", "2024-Mar-01 00:00:00"))
    ))
    run_ingest(engine, settings, str(export), as_of=as_of)
    assert read_snapshot(engine)["reviews"].sort("decision_date", nulls_last=True).rows() == [
        ("43", None, date(2024, 3, 1), "amend", date(2024, 3, 1), None),
        ("43", date(2025, 2, 20), None, None, None, None),
    ]


@pytest.mark.parametrize("placeholder", ["1900-Jan-01 00:00:00", "1899-Dec-30 00:00:00"])
def test_a_placeholder_decision_is_a_decision_on_an_unknown_date_not_a_meeting_awaiting_one(
        engine, settings, as_of, export, placeholder):
    # Plan 43 was reviewed on 2024-10-08 and decided on a date the case system holds as a placeholder.
    _edit(export, "activeplans", lambda df: df.with_columns(
        pl.when(pl.col("requeststableid") == "23").then(pl.lit(placeholder)).otherwise(pl.col("lastreview"))
        .alias("lastreview")))
    run_ingest(engine, settings, str(export), as_of=as_of)
    # The decision clock is withheld, never overdue: the family's review was decided.
    results = run_check(engine, settings, as_of=as_of).frame
    assert results.filter(pl.col("measure") == "REVIEW_DECISION_4W").rows(named=True) == []
    # One review, its decision date cleared with its finding: not a decided review beside a meeting
    # awaiting its decision.
    assert read_snapshot(engine)["reviews"].rows() == [("43", date(2024, 10, 8), None, "maintain", None, None)]
    (row,) = quarantine_of(engine)
    assert where(row) == ("V002", "reviews", ACTIVE, 3, "43", "decision_date")
    assert row["action"] == "withheld" and "REVIEW_DECISION_4W" in row["measure"].split(",")


def test_a_placeholder_meeting_is_not_a_second_review(engine, settings, as_of, export):
    _edit(export, "activeplans", lambda df: df.with_columns(
        pl.when(pl.col("requeststableid") == "23").then(pl.lit("9999-Dec-31 00:00:00"))
        .otherwise(pl.col("reviewmeeting")).alias("reviewmeeting")))
    run_ingest(engine, settings, str(export), as_of=as_of)
    assert read_snapshot(engine)["reviews"].rows() == [("43", None, date(2024, 10, 29), "maintain", None, None)]
    (row,) = quarantine_of(engine)
    assert where(row) == ("V002", "reviews", ACTIVE, 3, "43", "meeting_date")


def test_an_unmapped_review_outcome_is_recorded_at_its_line_and_never_guessed(engine, settings, as_of, export):
    _edit(export, "activeplans", lambda df: df.with_columns(
        pl.when(pl.col("requeststableid") == "23").then(pl.lit("Z")).otherwise(pl.col("reviewoutcome"))
        .alias("reviewoutcome")))
    run_ingest(engine, settings, str(export), as_of=as_of)
    (row,) = quarantine_of(engine)
    assert where(row) == ("V003", "reviews", ACTIVE, 3, "43", "outcome")
    # The review still completes its cycle; only the clock that needs the outcome is withheld.
    assert (row["action"], row["measure"], row["bad_value"]) == ("withheld", "AMEND_FINAL_8W", "Z")
    assert read_snapshot(engine)["reviews"]["outcome"].to_list() == [None]


def test_phase_transfer_kind_is_inferred_from_the_due_month(engine, settings, as_of, export):
    _edit(export, "activeplans", lambda df: df.with_columns(
        pl.when(pl.col("requeststableid") == "21").then(pl.lit("2026-Feb-15 00:00:00"))
        .otherwise(pl.lit("2025-Mar-31 00:00:00")).alias("phasetransferduedate"),
        pl.when(pl.col("requeststableid") == "21").then(pl.lit("2026-Feb-10 00:00:00"))
        .otherwise(None).alias("phasetransferfinaldate")))
    run_ingest(engine, settings, str(export), as_of=as_of)
    assert read_snapshot(engine)["phase_transfers"].sort("plan_id").rows() == [
        ("41", "school", date(2026, 2, 15), date(2026, 2, 15), date(2026, 2, 10)),
        ("43", "post16", date(2025, 3, 31), date(2025, 3, 31), None),
    ]


def test_extension_tables_beside_the_export_and_a_full_review_history(engine, settings, as_of, export):
    write_csv(export, {
        "drafts": [{"request_id": "21", "draft_plan_date": "2024-12-20"}],
        "contacts": [{"contact_id": "C11", "person_id": "11", "role": "parent_carer", "name": "Pat Example",
                      "email": "pat@example.org", "opted_out": "0"}],
        "reviews": [
            {"plan_id": "43", "meeting_date": "2023-10-02", "decision_date": "2023-10-20", "outcome": "maintain"},
            {"plan_id": "43", "meeting_date": "2024-10-08", "decision_date": "2024-10-29", "outcome": "M"},
            {"plan_id": "99", "meeting_date": "2024-10-08", "decision_date": "2024-10-29", "outcome": "M"},
        ],
    })
    result = run_ingest(engine, settings.replace(**{"ingest.max_reject_share": 0.5}), str(export), as_of=as_of)
    snap = read_snapshot(engine)
    assert {"drafts", "contacts", "reviews"} <= snap.tables_present
    assert snap["reviews"].height == 2
    assert set(snap["plans"]["review_history"]) == {"full"}
    assert snap["contacts"]["person_id"].to_list() == ["11"]
    assert result.counts["reviews"]["by_code"] == {"V005": 1}
    (row,) = quarantine_of(engine)
    assert where(row) == ("V005", "reviews", "reviews.csv", 4, "99", "plan_id")


def test_missing_optional_columns_are_empty_and_missing_required_ones_refuse(engine, settings, as_of, export):
    _edit(export, "activeplans", lambda df: df.drop("reviewdraft", "phasetransferduedate", "phasetransferfinaldate"))
    _edit(export, "requests", lambda df: df.drop("requestsource"))
    run_ingest(engine, settings, str(export), as_of=as_of)
    snap = read_snapshot(engine)
    assert "phase_transfers" not in snap.tables_present
    assert snap["reviews"].height == 1 and snap["requests"].height == 3

    _edit(export, "person", lambda df: df.drop("personbirthdate"))
    missing = "^Blade-Export_14-03-2025_person.csv: required column personbirthdate is missing$"
    with pytest.raises(IngestRefused, match=missing):
        run_ingest(engine, settings, str(export), as_of=as_of)


def test_canonical_csv_beside_nothing_is_not_taken_for_sen2(engine, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "c", base_tables())
    assert run_ingest(engine, settings, str(folder), as_of=as_of).source_kind == "csv"


def test_a_doubled_column_or_an_activeplans_file_without_its_link_is_refused(engine, settings, as_of, export):
    path = export / "Blade-Export_14-03-2025_requests.csv"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("requestsource", "ReceivedDate", 1), encoding="utf-8")
    with pytest.raises(IngestRefused, match="^Blade-Export_14-03-2025_requests.csv: column receiveddate appears "
                                            "more than once in the header: keep one and load again$"):
        run_ingest(engine, settings, str(export), as_of=as_of)
    path.write_text(original, encoding="utf-8")

    _edit(export, "activeplans", lambda df: df.rename({"requeststableid": "requesttableid"}))
    with pytest.raises(IngestRefused, match=f"^{ACTIVE}: required column requeststableid is missing$"):
        run_ingest(engine, settings, str(export), as_of=as_of)
    assert read_snapshot(engine).ingest_id is None


def test_a_module_header_ending_in_a_lone_carriage_return_is_refused(engine, settings, as_of, export):
    # The rows end in LF, the header in CR: the reader takes the first row into the last header name.
    path = export / "Blade-Export_14-03-2025_requests.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(header.rstrip("\r") + "\r" + rest, encoding="utf-8")
    with pytest.raises(IngestRefused, match="^Blade-Export_14-03-2025_requests.csv: the name of column "
                                            r"\d+ in the header holds a line break"):
        run_ingest(engine, settings, str(export), as_of=as_of)


def test_an_assessment_table_id_on_two_rows_is_refused_rather_than_a_plan_given_to_either_child(
        engine, settings, as_of, export):
    run_ingest(engine, settings, str(SEN2_EXAMPLE), as_of=as_of)
    before = read_snapshot(engine).ingest_id
    _edit(export, "assessment", lambda df: df.with_columns(pl.lit("31").alias("assessmenttableid")))
    with pytest.raises(IngestRefused, match="^Blade-Export_14-03-2025_assessment.csv: assessmenttableid 31 is on 2 "
                                            r"rows \(lines 2, 3\): a named plan linked through it could be another "
                                            "child's; a Blade export's table IDs are unique, so export it again$"):
        run_ingest(engine, settings, str(export), as_of=as_of)
    assert read_snapshot(engine).ingest_id == before


def test_named_plans_without_the_assessment_module_are_refused_naming_it(engine, settings, as_of, export):
    """Not "table plans: 2 of 2 rows quarantined" (every plan unlinked), the missing file unnamed."""
    run_ingest(engine, settings, str(SEN2_EXAMPLE), as_of=as_of)
    before = read_snapshot(engine).ingest_id
    (export / "Blade-Export_14-03-2025_assessment.csv").unlink()
    with pytest.raises(IngestRefused, match="^Blade-Export_14-03-2025_namedplan.csv: its plans are linked to their "
                                            "requests through the assessment module, which is not in the export: "
                                            "export it too and load again$"):
        run_ingest(engine, settings, str(export), as_of=as_of)
    assert read_snapshot(engine).ingest_id == before


def test_two_files_for_one_module_differing_only_in_case_are_refused_naming_both(engine, settings, as_of, export):
    shutil.copy(export / "Blade-Export_14-03-2025_person.csv", export / "Blade-Export_14-03-2025_Person.csv")
    with pytest.raises(IngestRefused, match="^sen2: more than one file for the person module of one export: "
                                            "Blade-Export_14-03-2025_Person.csv and "
                                            "Blade-Export_14-03-2025_person.csv; keep one$"):
        run_ingest(engine, settings, str(export), as_of=as_of)


def test_a_blade_export_re_saved_with_iso_dates_is_told_to_export_again_not_to_write_iso(engine, settings, as_of,
                                                                                         tmp_path):
    import re

    from ehcp_monitor.synthetic import generate, write_extract

    write_extract(generate(people=40, seed=3, as_of=as_of), tmp_path / "blade", "sen2", as_of=as_of)
    months = {m: f"{n:02d}" for n, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
    for path in (tmp_path / "blade").glob("Blade-Export_*.csv"):
        path.write_text(re.sub(r"(\d{4})-([A-Z][a-z]{2})-(\d{2}) 00:00:00",
                               lambda m: f"{m[1]}-{months[m[2]]}-{m[3]}", path.read_text()))
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(tmp_path / "blade"), as_of=as_of)
    message = str(refused.value)
    assert "read as yyyy-mm-dd" in message and "write the dates as yyyy-mm-dd" not in message
    assert message.endswith("this source's dates are read only as its export writes them (2022-Sep-28 00:00:00): "
                            "export it again, and do not open and save it in a spreadsheet first")
