"""db.snapshot: replacing the snapshot leaves every table's key and indexes as the schema has
them (PostgreSQL builds them again after the rows), and a duplicate key still fails the whole
replacement, keeping the previous snapshot; on SQLite and PostgreSQL."""

import sqlite3
from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from ehcp_monitor.db.snapshot import Snapshot, read_snapshot, replace_snapshot
from ehcp_monitor.domain.canonical import TABLE_ORDER
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.synthetic import generate, write_extract

LOADED = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)


def _keys_and_indexes(engine) -> dict:
    found = inspect(engine)
    return {name: (tuple(found.get_pk_constraint(name)["constrained_columns"]),
                   sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(name)))
            for name in TABLE_ORDER}


def _people(ingest_id: int, *ids: str) -> Snapshot:
    return Snapshot.from_frames({"people": pl.DataFrame({"person_id": list(ids), "forename": ["A"] * len(ids)}),
                                 "advice": pl.DataFrame({"request_id": ["R1", "R1"], "advice_type": ["health", "ep"],
                                                         "requested_date": [date(2025, 1, 6)] * 2})},
                                source_kind="canonical", ingest_id=ingest_id)


def test_keys_and_indexes_survive_a_replacement_and_still_refuse_a_duplicate(engine, settings, tmp_path):
    write_extract(generate(people=20, seed=1, as_of=date(2025, 3, 14)), tmp_path / "x", "csv")
    ingest_id = run_ingest(engine, settings, str(tmp_path / "x"), as_of=date(2025, 3, 14)).ingest_id
    before = _keys_and_indexes(engine)
    assert all(key for key, _ in before.values())
    with engine.begin() as conn:
        replace_snapshot(conn, _people(ingest_id, "P1", "P2"), loaded_at=LOADED)
    assert _keys_and_indexes(engine) == before
    with pytest.raises((IntegrityError, sqlite3.IntegrityError)):  # SQLite's own, from its bulk insert
        with engine.begin() as conn:
            replace_snapshot(conn, _people(ingest_id, "P3", "P3"), loaded_at=LOADED)
    assert _keys_and_indexes(engine) == before
    assert sorted(read_snapshot(engine)["people"]["person_id"].to_list()) == ["P1", "P2"]
    advice = read_snapshot(engine)["advice"]
    assert advice.height == 2
