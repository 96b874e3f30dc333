"""The messy extract: deterministic, shaped like a real LA's, and its manifest points at its rows."""

import json
from datetime import date

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from ehcp_monitor.cli import cli
from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER
from ehcp_monitor.synthetic.messy import MANIFEST_NAME, SUPPLIER_OUTCOMES, generate_messy, read_manifest
from tests.conftest import AS_OF

PLACEHOLDERS = ("1900-01-01", "9999-12-31", "1899-12-30")


@pytest.fixture(scope="module")
def messy():
    return generate_messy(people=2000, seed=3, as_of=AS_OF)


def _code(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_uppercase()


def _at(frames, table: str, line: int) -> dict:
    return frames[table].row(line - 2, named=True)


def test_same_seed_same_extract_and_manifest_other_seed_differs():
    frames, manifest = generate_messy(people=300, seed=5, as_of=AS_OF)
    again, manifest_again = generate_messy(people=300, seed=5, as_of=AS_OF)
    for name in TABLE_ORDER:
        assert_frame_equal(frames[name], again[name])
    assert manifest == manifest_again
    other, other_manifest = generate_messy(people=300, seed=6, as_of=AS_OF)
    assert not other["requests"].equals(frames["requests"])
    assert other_manifest["findings"] != manifest["findings"]


def test_frames_are_raw_text_with_the_canonical_columns(messy):
    frames, manifest = messy
    assert list(frames) == list(TABLE_ORDER)
    for name, frame in frames.items():
        assert frame.columns == CANONICAL_TABLES[name].column_names, name
        assert set(frame.schema.values()) == {pl.Utf8}, name
    assert manifest["settings"] == {"ingest.review_outcome_codes": {"MAINT-NC": "maintain"}}
    assert (manifest["people"], manifest["seed"], manifest["as_of"]) == (2000, 3, AS_OF.isoformat())


def test_most_plans_are_historical_some_transferred_in(messy):
    frames, _ = messy
    requests, plans = frames["requests"], frames["plans"]
    outcome = plans.join(requests.select("request_id", _code("request_outcome").alias("outcome")),
                         on="request_id", how="left")["outcome"]
    assert (outcome == "H").mean() > 0.5
    historic = requests.filter(_code("request_outcome") == "H")
    assert historic["received_date"].null_count() > 10
    assert historic.filter(pl.col("received_date") == "1900-01-01").height > 10
    assert historic["request_outcome_date"].is_in(["9999-12-31", "1900-01-01"]).sum() > 5
    assessment_dates = frames["assessments"].filter(_code("assessment_outcome") == "H")["assessment_outcome_date"]
    assert assessment_dates.is_in(["9999-12-31", "1900-01-01"]).sum() > 5
    transferred = plans.join(historic, on="request_id").filter(
        pl.col("received_date").str.to_date(strict=False) > pl.col("start_date").str.to_date())
    assert transferred.height > 20
    # Placeholders are only ever on historical records.
    current = requests.filter(_code("request_outcome") != "H")
    for column in ("received_date", "request_outcome_date"):
        assert not current[column].is_in(list(PLACEHOLDERS)).any()


def test_officers_missing_supplier_codes_and_stray_spaces(messy):
    frames, _ = messy
    with_plan = frames["requests"].join(frames["plans"].select("request_id"), on="request_id")
    assert with_plan["case_officer"].null_count() > 10
    assert frames["plans"]["request_id"].null_count() > 10
    outcomes = set(frames["reviews"]["outcome"].drop_nulls().unique())
    assert {s for spellings in SUPPLIER_OUTCOMES.values() for s in spellings} <= outcomes
    assert {"MAINT-NC", " c ", "M", "AMEND"} <= outcomes
    assert {" y", "n "} <= set(frames["requests"]["request_outcome"].unique()) | set(
        frames["requests"]["request_mediation"].unique())
    assert {"Education", "SOCIAL_CARE"} <= set(frames["advice"]["advice_type"].unique())


def test_the_manifest_points_at_each_broken_row(messy):
    frames, manifest = messy
    broken = {f["code"]: f for f in manifest["findings"] if f["action"] != "warning"}
    assert set(broken) == {"V001", "V002", "V003", "V004", "V005", "V007", "V009", "V010"}
    rows = {code: _at(frames, f["table"], f["line"]) for code, f in broken.items()}
    assert rows["V001"]["request_id"] is None and broken["V001"]["table"] == "requests"
    assert rows["V002"]["received_date"] == "31/12/2024" and rows["V002"]["request_outcome"] != "H"
    assert rows["V003"]["request_outcome"] == "Q"
    assert date.fromisoformat(rows["V007"]["received_date"]) > AS_OF
    assert rows["V007"]["request_outcome"] == "A"
    twins = [f for f in manifest["findings"] if f["code"] == "V004"]
    assert len(twins) == 2 and len({f["line"] for f in twins}) == 2
    assert {_at(frames, "plans", f["line"])["plan_id"] for f in twins} == {twins[0]["record_id"]}
    assert frames["plans"].filter(pl.col("plan_id") == twins[0]["record_id"]).height == 2
    assert rows["V005"]["plan_id"] not in frames["plans"]["plan_id"].to_list()
    assert rows["V009"]["email"].count("@") == 2
    assert "\t" in rows["V010"]["forename"]
    for code, f in broken.items():
        key = CANONICAL_TABLES[f["table"]].key[0]
        assert rows[code][key] == f["record_id"], code
    assert [f["action"] for f in manifest["findings"] if f["code"] in ("V009", "V010")] == ["cleared"] * 2


def test_the_manifest_points_at_each_tolerated_oddity(messy):
    frames, manifest = messy
    warnings = [f for f in manifest["findings"] if f["action"] == "warning"]
    assert {f["code"] for f in warnings} == {"W001", "W002", "W003", "W004"}
    for f in warnings:
        row = _at(frames, f["table"], f["line"])
        key = CANONICAL_TABLES[f["table"]].key[0]
        assert row[key] == f["record_id"]
        if f["code"] == "W001":
            assert row["received_date"] is None and row["request_outcome"] == "H"
        elif f["code"] == "W002":
            assert row[f["column"]] in PLACEHOLDERS
            outcome = "request_outcome" if f["table"] == "requests" else "assessment_outcome"
            assert row[outcome] == "H"
        elif f["code"] == "W003":
            plan = _at(frames, "plans", f["also"]["line"])
            assert plan["request_id"] == row["request_id"] == f["record_id"]
            assert row["received_date"] > plan["start_date"]
        else:
            assert row["cease_date"] is None
            if f.get("also") is not None:
                request = _at(frames, "requests", f["also"]["line"])
                assert request["request_id"] == row["request_id"] and request["case_officer"] is None
            else:
                assert row["request_id"] is None


def _demo(*args):
    return CliRunner().invoke(cli, ["demo-data", *args], catch_exceptions=False)


def test_demo_data_messy_writes_csv_and_the_manifest(messy, tmp_path):
    frames, manifest = messy
    result = _demo("--out", str(tmp_path), "--people", "2000", "--seed", "3", "--messy", "--as-of", "2025-03-14")
    assert result.exit_code == 0, result.output
    assert f"manifest of what the ingest must report: {tmp_path / MANIFEST_NAME}" in result.output
    assert read_manifest(tmp_path) == json.loads(json.dumps(manifest))
    for name in TABLE_ORDER:
        back = pl.read_csv(tmp_path / f"{name}.csv", infer_schema=False)
        assert_frame_equal(back, frames[name])
    requests = pl.read_csv(tmp_path / "requests.csv", infer_schema=False)
    v002 = next(f for f in manifest["findings"] if f["code"] == "V002")
    assert requests.row(v002["line"] - 2, named=True)["received_date"] == "31/12/2024"


def test_demo_data_messy_writes_parquet_and_xlsx(tmp_path):
    args = ("--people", "300", "--seed", "8", "--messy", "--as-of", "2025-03-14")
    assert _demo("--out", str(tmp_path / "p"), "--format", "parquet", *args).exit_code == 0
    assert _demo("--out", str(tmp_path / "x"), "--format", "xlsx", *args).exit_code == 0
    manifest = read_manifest(tmp_path / "x")
    assert manifest == read_manifest(tmp_path / "p")
    v002 = next(f for f in manifest["findings"] if f["code"] == "V002")
    parquet = pl.read_parquet(tmp_path / "p" / "requests.parquet")
    assert parquet.row(v002["line"] - 2, named=True)["received_date"] == "31/12/2024"
    sheet = openpyxl.load_workbook(tmp_path / "x" / "extract.xlsx", read_only=True)["requests"]
    header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True))
    row = next(sheet.iter_rows(min_row=v002["line"], max_row=v002["line"], values_only=True))
    assert dict(zip(header, row, strict=False))["received_date"] == "31/12/2024"
    outcomes = {r[3] for r in openpyxl.load_workbook(tmp_path / "x" / "extract.xlsx", read_only=True)["reviews"]
                .iter_rows(min_row=2, values_only=True)}
    assert {" c ", "MAINT-NC"} & outcomes


@pytest.mark.parametrize("extra", [("--format", "sen2"), ("--bad-rows",)])
def test_messy_is_for_canonical_formats_without_bad_rows(extra, tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", "--out", str(tmp_path), "--messy", *extra])
    assert result.exit_code == 2
    assert "--messy writes csv, parquet, xlsx only" in result.output
    assert not (tmp_path / MANIFEST_NAME).exists()
