"""A generated extract in every format ingests clean; with --bad-rows it quarantines every code
V001-V010 and still loads. Real ingest, real files, real SQLite and PostgreSQL."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.synthetic import generate, write_extract
from tests.conftest import AS_OF

FORMATS = ("csv", "parquet", "xlsx", "sen2")
CODES = {f"V{n:03d}" for n in range(1, 11)}
PEOPLE = 1200


@pytest.fixture(scope="module")
def good():
    return generate(people=PEOPLE, seed=21, as_of=AS_OF)


@pytest.fixture(scope="module")
def bad():
    return generate(people=PEOPLE, seed=21, as_of=AS_OF, bad_rows=True)


def _write(frames, tmp_path, fmt) -> str:
    paths = write_extract(frames, tmp_path / fmt, fmt, as_of=AS_OF)
    return str(paths[0] if fmt == "xlsx" else tmp_path / fmt)


def _sorted(df: pl.DataFrame, table: str) -> pl.DataFrame:
    return df.select(CANONICAL_TABLES[table].column_names).sort(CANONICAL_TABLES[table].key, nulls_last=True)


@pytest.mark.parametrize("fmt", (*FORMATS, "sen2-xml"))
def test_generated_extract_ingests_with_nothing_quarantined(fmt, good, engine, settings, tmp_path):
    result = run_ingest(engine, settings, _write(good, tmp_path, fmt), as_of=AS_OF)
    assert result.status == "loaded"
    assert {t: c["quarantined"] for t, c in result.counts.items() if c["quarantined"]} == {}
    snapshot = read_snapshot(engine)
    assert snapshot["people"].height == PEOPLE
    assert snapshot["requests"].height == good["requests"].height
    assert snapshot["plans"].height == good["plans"].height
    if not fmt.startswith("sen2"):
        for table in TABLE_ORDER:
            assert_frame_equal(_sorted(snapshot[table], table), _sorted(good[table], table))


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_quarantine_every_code_and_still_load(fmt, good, bad, engine, settings, tmp_path):
    result = run_ingest(engine, settings, _write(bad, tmp_path, fmt), as_of=AS_OF)
    assert result.status == "loaded"
    found = set()
    for table, c in result.counts.items():
        # V008-V010 no longer cost the row: the clock that needs the value is withheld, or the
        # value (which no clock needs) is cleared.
        found |= set(c["by_code"]) | set(c["withheld_by_code"]) | set(c["cleared_by_code"])
        assert c["quarantined"] / c["read"] < 0.05, table
    assert found == CODES
    snapshot = read_snapshot(engine)
    # every good person loaded; a bad date of birth or name no longer costs the child
    assert snapshot["people"]["person_id"].is_in(good["people"]["person_id"].implode()).sum() == PEOPLE
