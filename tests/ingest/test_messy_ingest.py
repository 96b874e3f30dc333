"""The ingest copes with an extract shaped like a real LA's (docs/input-formats.md, Bad input).

`ehcp-monitor demo-data --messy` writes the extract and its manifest; the real ingest and check
run on it, on SQLite and PostgreSQL. Nearly every case is monitored, each truly broken row gets
exactly its code and action, nothing is lost, and history stays monitored without placeholder
dates ever starting a clock.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ehcp_monitor import config
from ehcp_monitor.checks import run_check
from ehcp_monitor.cli import cli
from ehcp_monitor.data_quality.findings import quarantined_rows
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.models import IngestRun
from ehcp_monitor.db.snapshot import Snapshot, read_snapshot
from ehcp_monitor.domain.canonical import TABLE_ORDER, table_spec
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.synthetic.messy import read_manifest
from tests.conftest import AS_OF, fresh_store_url

PEOPLE = 2000
SEED = 3
SUMMARY_KEYS = {"rows_read", "rows_loaded", "rows_quarantined", "quarantined_by_code", "withheld_by_code",
                "cleared_by_code", "warnings_by_code", "cases", "cases_fully_monitored", "share_fully_monitored"}
# Tables whose key is one column, so a loaded row can be found by it.
KEYED = ("people", "requests", "plans", "contacts")


def _demo(out: Path, fmt: str, people: int) -> Path:
    result = CliRunner().invoke(cli, ["demo-data", "--out", str(out), "--people", str(people), "--seed",
                                      str(SEED), "--format", fmt, "--messy", "--as-of", AS_OF.isoformat()],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out / "extract.xlsx" if fmt == "xlsx" else out


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> Path:
    return _demo(tmp_path_factory.mktemp("messy") / "csv", "csv", PEOPLE)


@dataclass
class Run:
    folder: Path
    manifest: dict
    status: str
    counts: dict
    summary: dict
    findings: pl.DataFrame
    snapshot: Snapshot
    results: pl.DataFrame


def _ingest_and_check(url: str, source: Path, manifest: dict) -> Run:
    engine = make_engine(url)
    try:
        upgrade_head(engine)
        settings = config.defaults().replace(**{"database.url": url, **manifest["settings"]})
        result = run_ingest(engine, settings, str(source), as_of=AS_OF)
        with engine.connect() as conn:
            summary = conn.execute(select(IngestRun.summary).where(IngestRun.id == result.ingest_id)).scalar_one()
        findings = quarantined_rows(engine, result.ingest_id)
        snapshot = read_snapshot(engine)
        results = run_check(engine, settings, as_of=AS_OF).frame
        return Run(source, manifest, result.status, result.counts, summary or {}, findings, snapshot, results)
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, tmp_path_factory):
    """A fresh store for the module: an SQLite file, or a PostgreSQL schema of its own."""
    with fresh_store_url(request.param, tmp_path_factory.mktemp("store")) as url:
        yield url


@pytest.fixture(scope="module")
def run(store_url, extract) -> Run:
    return _ingest_and_check(store_url, extract, read_manifest(extract))


def _expected(manifest: dict, *actions: str) -> list[dict]:
    return [f for f in manifest["findings"] if f["action"] in actions]


def _found(findings: pl.DataFrame) -> set[tuple]:
    return set(findings.select("table_name", "source_line", "code", "action").iter_rows())


def _missing(run: Run, actions: tuple[str, ...]) -> list[dict]:
    """Manifest findings with no finding of that code and action at their row (or the other place
    the manifest allows, e.g. a transferred-in plan rather than its request)."""
    found = _found(run.findings)
    missing = []
    for f in _expected(run.manifest, *actions):
        places = [(f["table"], f["line"])] + ([(f["also"]["table"], f["also"]["line"])] if f.get("also") else [])
        if not any((table, line, f["code"], f["action"]) in found for table, line in places):
            missing.append(f)
    return missing


def _historical_plans(folder: Path) -> pl.DataFrame:
    requests = pl.read_csv(folder / "requests.csv", infer_schema=False)
    historic = requests.filter(pl.col("request_outcome").str.strip_chars().str.to_uppercase() == "H")
    plans = pl.read_csv(folder / "plans.csv", infer_schema=False)
    return plans.join(historic.select("request_id"), on="request_id", how="semi")


def test_the_messy_extract_loads_with_nearly_every_case_fully_monitored(run):
    assert run.status == "loaded"
    assert SUMMARY_KEYS <= set(run.summary)
    summary = run.summary
    assert summary["cases"] == run.counts["requests"]["read"] + run.counts["plans"]["read"]
    assert summary["share_fully_monitored"] >= 0.99
    assert summary["cases_fully_monitored"] / summary["cases"] == pytest.approx(summary["share_fully_monitored"],
                                                                                abs=1e-4)


def test_every_broken_row_gets_its_code_and_action(run):
    missing = _missing(run, ("quarantined", "cleared"))
    assert missing == []
    # Record IDs are what the data team looks rows up by.
    for f in _expected(run.manifest, "quarantined", "cleared"):
        ids = run.findings.filter((pl.col("table_name") == f["table"]) & (pl.col("source_line") == f["line"])
                                  & (pl.col("code") == f["code"]))["record_id"].to_list()
        assert ids and set(ids) == {f["record_id"]}, f


def test_only_the_broken_rows_cost_a_row_or_a_clock(run):
    quarantined = run.findings.filter(pl.col("action") == "quarantined")
    got = set(quarantined.select("table_name", "source_line").iter_rows())
    broken = {(f["table"], f["line"]) for f in _expected(run.manifest, "quarantined", "cleared")}
    assert got == {(f["table"], f["line"]) for f in _expected(run.manifest, "quarantined")}
    # Supplier codes, stray spaces and history withhold nothing (MAINT-NC is mapped by the setting).
    withheld = run.findings.filter(pl.col("action") == "withheld")
    assert set(withheld.select("table_name", "source_line").iter_rows()) <= broken
    assert run.summary["quarantined_by_code"] == {"V001": 1, "V002": 1, "V003": 1, "V004": 2, "V005": 1,
                                                  "V007": 1}


def test_every_tolerated_oddity_loads_with_its_warning(run):
    assert _missing(run, ("warning",)) == []
    for code in ("W001", "W002", "W003", "W004"):
        expected = sum(f["code"] == code for f in run.manifest["findings"])
        assert run.summary["warnings_by_code"].get(code, 0) >= expected, code
    # ... and the rows they are on loaded.
    for f in _expected(run.manifest, "warning"):
        key = table_spec(f["table"]).key[0]
        if f["table"] in KEYED:
            assert run.snapshot[f["table"]].filter(pl.col(key) == f["record_id"]).height == 1, f


def test_nothing_is_lost(run):
    for table, c in run.counts.items():
        assert c["read"] == c["loaded"] + c["quarantined"], table
        assert run.snapshot[table].height == c["loaded"], table
        lines = run.findings.filter((pl.col("table_name") == table) & (pl.col("action") == "quarantined"))
        assert lines["source_line"].n_unique() == c["quarantined"], table
    assert set(run.counts) == set(TABLE_ORDER)
    s = run.summary
    assert s["rows_read"] == s["rows_loaded"] + s["rows_quarantined"]
    assert s["rows_read"] == sum(c["read"] for c in run.counts.values())
    assert s["rows_quarantined"] == sum(c["quarantined"] for c in run.counts.values())
    # Row for row: every line of the file is either in the snapshot or quarantined.
    for table in KEYED:
        key = table_spec(table).key[0]
        read = pl.read_csv(run.folder / f"{table}.csv", infer_schema=False).with_row_index("line", offset=2)
        quarantined = run.findings.filter((pl.col("table_name") == table) & (pl.col("action") == "quarantined"))
        kept = read.filter(~pl.col("line").cast(pl.Int64).is_in(quarantined["source_line"].implode()))
        assert sorted(kept[key].to_list()) == sorted(run.snapshot[table][key].to_list()), table


def test_historical_plans_keep_their_review_clocks(run):
    historical = _historical_plans(run.folder)
    assert historical.height > 0.5 * run.counts["plans"]["read"]
    reviewed = run.results.filter(pl.col("measure").is_in(["REVIEW_12M", "REVIEW_EY"]))
    missing = historical.join(reviewed.select("plan_id").unique(), on="plan_id", how="anti")
    assert missing["plan_id"].to_list() == []
    twelve = run.results.filter(pl.col("measure") == "REVIEW_12M")["plan_id"].unique()
    assert historical["plan_id"].is_in(twelve.implode()).mean() > 0.9
    transferred = [f["also"]["record_id"] for f in run.manifest["findings"] if f["kind"] == "transferred_in"]
    assert transferred and set(transferred) <= set(reviewed["plan_id"].to_list())


def test_no_clock_runs_from_a_placeholder_date(run):
    results = run.results
    for column in ("anchor_date", "due_date", "completed_date"):
        dates = results[column].drop_nulls()
        assert not dates.is_in([date(1900, 1, 1), date(1899, 12, 30), date(9999, 12, 31)]).any(), column
        assert dates.min() > date(1950, 1, 1), column
        assert dates.max() < date(2100, 1, 1), column
    odd = {f["record_id"] for f in run.manifest["findings"] if f["table"] in ("requests", "assessments")
           and f["code"] in ("W001", "W002", "W003")}
    # Historical requests carry no clocks of their own (docs/rules.md, Which requests get which clocks),
    # whatever their dates; their plans' clocks run from the plan's own dates.
    request_clocks = results.filter(pl.col("plan_id").is_null())
    assert request_clocks.height > 0
    assert request_clocks.filter(pl.col("request_id").is_in(list(odd))).height == 0
    plans_of_odd = results.filter(pl.col("request_id").is_in(list(odd)) & pl.col("plan_id").is_not_null())
    assert set(plans_of_odd["measure"].unique()) >= {"REVIEW_12M"}


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_parquet_and_xlsx_messy_extracts_give_the_same_findings(fmt, db_url, tmp_path):
    source = _demo(tmp_path / fmt, fmt, 600)
    manifest = read_manifest(tmp_path / fmt)
    run = _ingest_and_check(db_url, source, manifest)
    assert run.status == "loaded"
    assert _missing(run, ("quarantined", "cleared", "warning")) == []
    got = set(run.findings.filter(pl.col("action") == "quarantined").select("table_name", "source_line").iter_rows())
    assert got == {(f["table"], f["line"]) for f in _expected(manifest, "quarantined")}
    assert run.summary["share_fully_monitored"] >= 0.99
