"""`ehcp-monitor demo-data` through the real command line."""

import polars as pl
from click.testing import CliRunner

from ehcp_monitor.cli import cli


def _run(*args):
    return CliRunner().invoke(cli, ["demo-data", *args], catch_exceptions=False)


def test_writes_a_canonical_csv_extract(tmp_path):
    out = tmp_path / "extract"
    result = _run("--out", str(out), "--people", "300", "--seed", "4", "--as-of", "2025-03-14")
    assert result.exit_code == 0, result.output
    assert "wrote 10 csv file(s)" in result.output and "300 people" in result.output
    assert "generating" not in result.output  # no progress bar off a terminal
    people = pl.read_csv(out / "people.csv", infer_schema=False)
    assert people.height == 300
    received = pl.read_csv(out / "requests.csv", try_parse_dates=True)["received_date"]
    assert str(received.max()) <= "2025-03-14"


def test_same_seed_same_files(tmp_path):
    for name in ("a", "b"):
        _run("--out", str(tmp_path / name), "--people", "200", "--seed", "9", "--as-of", "2024-11-01",
             "--format", "parquet")
    for table in ("people", "requests", "reviews"):
        a = pl.read_parquet(tmp_path / "a" / f"{table}.parquet")
        assert a.equals(pl.read_parquet(tmp_path / "b" / f"{table}.parquet"))


def test_sen2_with_bad_rows(tmp_path):
    result = _run("--out", str(tmp_path), "--people", "2000", "--format", "sen2", "--bad-rows",
                  "--as-of", "2025-03-14")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Blade-Export_14-03-2025_person.csv").exists()
    people = pl.read_csv(tmp_path / "Blade-Export_14-03-2025_person.csv", infer_schema=False)
    assert people.height > 2000


def test_unknown_format_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", "--out", str(tmp_path), "--format", "pdf"])
    assert result.exit_code == 2


def test_bad_rows_on_a_tiny_caseload_warns(tmp_path):
    result = _run("--out", str(tmp_path), "--people", "50", "--bad-rows", "--as-of", "2025-03-14")
    assert result.exit_code == 0
    assert "warning: with fewer than 200 people" in result.output
    assert "warning" not in _run("--out", str(tmp_path / "ok"), "--people", "50", "--as-of", "2025-03-14").output
