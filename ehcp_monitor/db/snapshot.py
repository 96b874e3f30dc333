"""The current snapshot of case records: replaced whole, read whole.

An ingest calls `replace_snapshot` inside one transaction, so a failure anywhere leaves the
previous snapshot untouched. Readers call `read_snapshot` for typed polars frames (the clock
engine for only the columns it uses).
"""

import json
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from ehcp_monitor.db import recent_writes
from ehcp_monitor.db.bulk import read_tables, write_frames
from ehcp_monitor.db.models import SNAPSHOT_MODELS, SnapshotInfo
from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER


def stored_schema(table: str) -> dict[str, pl.DataType]:
    """The canonical columns of a table as stored (plans also carry review_history)."""
    schema = dict(CANONICAL_TABLES[table].polars_schema)
    if table == "plans":
        schema["review_history"] = pl.Utf8
    return schema


@dataclass
class Snapshot:
    tables: dict[str, pl.DataFrame]
    # The canonical tables the source actually had (a missing table means "no rows", and the
    # clocks that need it are absent: e.g. DRAFT_LOCAL only when `drafts` was present).
    tables_present: set[str] = field(default_factory=set)
    ingest_id: int | None = None
    source_kind: str | None = None

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    @classmethod
    def from_frames(cls, frames: dict[str, pl.DataFrame], **info) -> "Snapshot":
        """A snapshot from (possibly partial) frames, missing tables and columns filled empty."""
        tables = {}
        for name in TABLE_ORDER:
            schema = stored_schema(name)
            df = frames.get(name)
            if df is None:
                tables[name] = pl.DataFrame(schema=schema)
                continue
            missing = [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in df.columns]
            if name == "plans" and "review_history" not in df.columns:
                missing = [m for m in missing if m.meta.output_name() != "review_history"]
                missing.append(pl.lit("full").alias("review_history"))
            tables[name] = df.with_columns(missing).select(
                [pl.col(c).cast(t) for c, t in schema.items()]
            )
        info.setdefault("tables_present", {n for n in frames})
        return cls(tables=tables, **info)


def replace_snapshot(
    conn: Connection, snapshot: Snapshot, *, loaded_at
) -> tuple:
    """Replace every snapshot table with `snapshot` (call inside the ingest's transaction).
    Returns its marker (snapshot_marker), for keep_written once the transaction commits."""
    frames = {name: snapshot.tables[name].select(list(stored_schema(name))) for name in TABLE_ORDER}
    if conn.dialect.name == "postgresql":
        # TRUNCATE is transactional in PostgreSQL and far cheaper than DELETE of millions of rows;
        # a rollback still restores the previous snapshot (keys and indexes included).
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in TABLE_ORDER))
        with _keys_built_after(conn):
            write_frames(conn, frames)
    else:
        # SQLite's DELETE without WHERE is already its truncate optimisation.
        for name in reversed(TABLE_ORDER):
            conn.execute(delete(SNAPSHOT_MODELS[name]))
        write_frames(conn, frames)
    conn.execute(delete(SnapshotInfo))
    conn.execute(
        insert(SnapshotInfo).values(
            id=1,
            ingest_id=snapshot.ingest_id,
            source_kind=snapshot.source_kind or "",
            tables_present=sorted(snapshot.tables_present),
            loaded_at=loaded_at,
        )
    )
    return snapshot_marker(conn)


@contextmanager
def _keys_built_after(conn: Connection):
    """PostgreSQL: the emptied tables' keys and indexes dropped, and built again once the rows are
    in, in the ingest's transaction: building each once costs far less than keeping it up to date
    row by row (bench/README.md, thirteenth session). A duplicate key still fails the ingest. On
    any failure nothing is put back here: the caller's transaction must roll back (run_ingest's
    does), which restores the tables with their keys and indexes as they were."""
    tables = [SNAPSHOT_MODELS[name].__table__ for name in TABLE_ORDER]
    for table in tables:
        for index in table.indexes:
            conn.execute(DropIndex(index))
        conn.execute(DropConstraint(table.primary_key))
    yield
    for table in tables:
        conn.execute(AddConstraint(table.primary_key))
        for index in table.indexes:
            conn.execute(CreateIndex(index))


def snapshot_marker(conn: Connection) -> tuple | None:
    """What tells one stored snapshot from another: its ingest and the moment it was loaded."""
    row = conn.execute(select(SnapshotInfo.ingest_id, SnapshotInfo.loaded_at)).first()
    return tuple(row) if row is not None else None


def keep_written(engine: Engine, snapshot: Snapshot, marker: tuple) -> None:
    """After the ingest's commit: later readers in this process take `snapshot` while the store
    still holds it (db/recent_writes.py)."""
    tables = {name: snapshot.tables[name].select(list(stored_schema(name))) for name in TABLE_ORDER}
    info = {"tables_present": set(snapshot.tables_present), "ingest_id": snapshot.ingest_id,
            "source_kind": snapshot.source_kind or ""}
    recent_writes.keep_snapshot(engine, marker, tables, info)


_INFO = SnapshotInfo.__tablename__
_INFO_SCHEMA = {"tables_present": pl.Utf8, "ingest_id": pl.Int64, "source_kind": pl.Utf8}


def read_snapshot(
    engine_or_conn: Engine | Connection, columns: Mapping[str, Sequence[str]] | None = None
) -> Snapshot:
    """The current snapshot, every table read as of one moment (an ingest may commit meanwhile).

    `columns` reads only those tables and columns (a reader that needs no names reads none)."""
    if isinstance(engine_or_conn, Engine):
        # PostgreSQL reads each statement as of its own start unless asked for one snapshot.
        options = {"isolation_level": "REPEATABLE READ"} if engine_or_conn.dialect.name == "postgresql" else {}
        with engine_or_conn.connect().execution_options(**options) as conn:
            return read_snapshot(conn, columns)
    wanted = columns or {name: tuple(stored_schema(name)) for name in TABLE_ORDER}
    unknown = sorted(set(wanted) - set(TABLE_ORDER)) + [t for t, cols in wanted.items() if not cols]
    if unknown:
        raise ValueError(f"read_snapshot: no such table, or no columns asked for: {', '.join(unknown)}")
    kept = recent_writes.snapshot_for(engine_or_conn.engine, snapshot_marker(engine_or_conn))
    if kept is not None:
        tables, info = kept
        return Snapshot(
            tables={name: tables[name].select(list(wanted[name])) for name in TABLE_ORDER if name in wanted},
            tables_present=set(info["tables_present"]), ingest_id=info["ingest_id"], source_kind=info["source_kind"])
    schemas = {
        **{name: {c: stored_schema(name)[c] for c in wanted[name]} for name in TABLE_ORDER if name in wanted},
        _INFO: _INFO_SCHEMA,
    }
    tables = read_tables(engine_or_conn, schemas)
    info = tables.pop(_INFO)
    if info.is_empty():
        return Snapshot(tables=tables)
    return Snapshot(
        tables=tables,
        tables_present=set(json.loads(info["tables_present"][0])),
        ingest_id=info["ingest_id"][0],
        source_kind=info["source_kind"][0],
    )
