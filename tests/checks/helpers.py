"""Building small snapshots by hand for the clock tests."""

from datetime import date

import polars as pl

from ehcp_monitor.db.snapshot import Snapshot, stored_schema


def snapshot(present: set[str] | None = None, **tables: list[dict]) -> Snapshot:
    """A snapshot from rows per table (people/requests always present, as the input requires)."""
    frames = {
        name: pl.DataFrame(rows, schema={c: t for c, t in stored_schema(name).items() if any(c in r for r in rows)})
        for name, rows in tables.items()
    }
    frames.setdefault("people", pl.DataFrame(schema=stored_schema("people")))
    frames.setdefault("requests", pl.DataFrame(schema=stored_schema("requests")))
    snap = Snapshot.from_frames(frames)
    if present is not None:
        snap.tables_present = present
    return snap


def request(rid="R1", received=date(2025, 1, 6), outcome="Y", decided=date(2025, 2, 10), person="P1") -> dict:
    return {"request_id": rid, "person_id": person, "received_date": received, "request_outcome": outcome,
            "request_outcome_date": decided}


def person(pid="P1", born=date(2012, 5, 1)) -> dict:
    return {"person_id": pid, "date_of_birth": born}


def rows(frame: pl.DataFrame, measure: str, **where) -> list[dict]:
    selected = frame.filter(pl.col("measure") == measure)
    for column, value in where.items():
        selected = selected.filter(pl.col(column) == value)
    return selected.to_dicts()


def one(frame: pl.DataFrame, measure: str, **where) -> dict:
    found = rows(frame, measure, **where)
    assert len(found) == 1, found
    return found[0]
