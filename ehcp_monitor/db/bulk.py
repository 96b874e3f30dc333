"""Bulk movement of polars frames in and out of the store.

Hot paths never go row by row through the ORM: PostgreSQL gets COPY in binary form; SQLite an
Arrow ingest through side files for large frames (see _stage_into), one executemany per batch
for small ones. Reading back is one query per table (SQLite: a query per chunk, as NDJSON) into a
typed frame.
"""

import io
import os
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db import pg_binary, staging
from ehcp_monitor.db.staging import STAGED as _STAGED

BATCH_ROWS = 100_000


# A date column whose days span more than this is formatted value by value (iso_dates).
ISO_LOOKUP_MAX_DAYS = 200_000


def iso_dates(dates: pl.Series) -> pl.Series:
    """`dates` as ISO text ("2025-07-10"), nulls kept. A column of millions of dates holds few
    distinct days: each day of its span is formatted once and looked up, about four times faster
    than formatting every value (bench/README.md, twelfth session)."""
    days = dates.to_physical()
    first, last = days.min(), days.max()
    if first is None or last - first > ISO_LOOKUP_MAX_DAYS:
        return dates.dt.strftime("%Y-%m-%d")
    span = pl.int_range(first, last + 1, dtype=pl.Int32, eager=True).cast(pl.Date).dt.strftime("%Y-%m-%d")
    return span.gather(days - first).alias(dates.name)


def _sqlite_ready(df: pl.DataFrame) -> pl.DataFrame:
    # SQLAlchemy's Date type stores ISO text on SQLite; booleans as 0/1.
    casts = []
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            casts.append(iso_dates(df.get_column(name)))
        elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S.%f"))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.Int8))
    return df.with_columns(casts) if casts else df


def write_frame(conn: Connection, table: str, df: pl.DataFrame) -> int:
    """Append every row of `df` to `table` (columns by name). Returns the row count."""
    return write_frames(conn, {table: df})


def write_frames(conn: Connection, frames: dict[str, pl.DataFrame]) -> int:
    """Append each frame to its table, inside the caller's transaction. Returns the row count."""
    frames = {table: df for table, df in frames.items() if df.height}
    if conn.dialect.name == "postgresql":
        for table, df in frames.items():
            _copy_into(conn, table, df)
        return sum(df.height for df in frames.values())
    large = {t: df for t, df in frames.items() if df.height >= STAGE_MIN_ROWS}
    if large and len(staged_aliases(conn)) + stage_workers() <= MAX_STAGED_PER_CONNECTION:
        _stage_into(conn, large)
    else:
        large = {}
    for table, df in frames.items():
        if table not in large:
            _executemany_into(conn, table, df)
    return sum(df.height for df in frames.values())


def _columns(df: pl.DataFrame) -> str:
    return ", ".join(f'"{c}"' for c in df.columns)


def _copy_into(conn: Connection, table: str, df: pl.DataFrame) -> None:
    """COPY in PostgreSQL's binary format; a queued writer sends one chunk while the next is built."""
    from psycopg.copy import QueuedLibpqWriter

    server_types = _server_types(conn, table)
    missing = [c for c in df.columns if c not in server_types]
    if missing:
        raise ValueError(f"{table}: no column {missing[0]!r} in the database")
    types = [server_types[c] for c in df.columns]
    pg_binary.check_types(dict(zip(df.columns, types, strict=False)))
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        sql = f'COPY "{table}" ({_columns(df)}) FROM STDIN WITH (FORMAT binary)'
        with cursor.copy(sql, writer=QueuedLibpqWriter(cursor)) as copy:
            copy.write(pg_binary.HEADER)
            for chunk in df.iter_slices(BATCH_ROWS):
                copy.write(pg_binary.encode_rows(chunk, types))
            copy.write(pg_binary.TRAILER)


def _server_types(conn: Connection, table: str) -> dict[str, str]:
    """Column name -> type name, as the server resolves `table` (search path, temporary tables)."""
    rows = conn.exec_driver_sql(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
        (f'"{table}"',),
    ).all()
    if not rows:
        raise ValueError(f"{table}: no such table in the database")
    return dict(rows)


def _executemany_into(conn: Connection, table: str, df: pl.DataFrame) -> None:
    ready = _sqlite_ready(df)
    placeholders = ", ".join("?" for _ in df.columns)
    sql = f'INSERT INTO "{table}" ({_columns(df)}) VALUES ({placeholders})'
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        for chunk in ready.iter_slices(BATCH_ROWS):
            cursor.executemany(sql, chunk.rows())
    finally:
        cursor.close()


# SQLite, large frames: Python's sqlite3 binds row by row (bench/README.md). ADBC's SQLite
# driver takes the Arrow columns straight from polars but on a connection of its own, so it writes
# side files; the caller's connection attaches them and copies with INSERT ... SELECT inside its own
# transaction, keeping "one ingest, one transaction". The side files hold case records: they live in
# a private folder beside the store, and a crash's leftovers are deleted by the next run (db.staging).
# Each side table is created with the destination's own definition, so that when a frame carries
# every column the copy is
# `INSERT INTO t SELECT * FROM side.t`, which SQLite performs by moving whole records (its
# "transfer optimisation") instead of decoding and re-encoding every value. The frames are split
# across STAGE_WORKERS side files written side by side: the driver releases the GIL, and its
# per-row cost is most of a large write. A constraint the rows break (NOT NULL, CHECK) fails in the
# side file, as the driver's error, before anything reaches the store. SQLite cannot DETACH inside
# that transaction, so the side files are detached and deleted when the connection goes back to
# the pool (db.engine).
STAGE_MIN_ROWS = 20_000
STAGE_WORKERS = 2
MAX_STAGED_PER_CONNECTION = 8  # SQLite attaches at most 10 databases to one connection


def stage_workers() -> int:
    return max(1, min(STAGE_WORKERS, os.cpu_count() or 1))


def staged_aliases(conn: Connection) -> list[tuple[str, str]]:
    return conn.connection._connection_record.info.setdefault(_STAGED, [])


def _stage_into(conn: Connection, frames: dict[str, pl.DataFrame]) -> None:
    # table -> (copy statement with an {alias} slot, side table definition or None: the driver's)
    plans = {table: _copy_plan(conn, table, df) for table, df in frames.items()}
    workers = stage_workers()
    shares = [{table: _share(df, k, workers) for table, df in frames.items()} for k in range(workers)]
    aliases, paths = [], []
    store = _store_file(conn)
    for _ in shares:
        path = staging.side_file(store)  # private: a copy of case records (db.staging)
        alias = f"stage_{uuid.uuid4().hex[:12]}"
        staged_aliases(conn).append((alias, path))  # registered first: released even on failure
        aliases.append(alias)
        paths.append(path)
    definitions = {table: definition for table, (_, definition) in plans.items()}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_write_side_file, paths, shares, [definitions] * workers))
    for alias, path in zip(aliases, paths, strict=False):
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (path,))
    for alias in aliases:  # in order: the rows keep the frames' order
        for copy, _ in plans.values():
            conn.exec_driver_sql(copy.format(alias=alias))


def _store_file(conn: Connection) -> Path | None:
    """The store's own file (None: an in-memory store)."""
    for _seq, name, file in conn.exec_driver_sql("PRAGMA database_list").all():
        if name == "main":
            return Path(file) if file else None
    return None


def _copy_plan(conn: Connection, table: str, df: pl.DataFrame) -> tuple[str, str | None]:
    """Whole records when the frame gives every column and every key (a side table with the
    destination's definition numbers missing keys itself, from 1); else named columns."""
    schema, definition, columns, keys = _sqlite_table(conn, table)
    if set(df.columns) == set(columns) and all(df[k].null_count() == 0 for k in keys):
        return f'INSERT INTO {schema}."{table}" SELECT * FROM {{alias}}."{table}"', definition
    cols = _columns(df)
    return f'INSERT INTO {schema}."{table}" ({cols}) SELECT {cols} FROM {{alias}}."{table}"', None


def _share(df: pl.DataFrame, k: int, workers: int) -> pl.DataFrame:
    """The k-th of `workers` consecutive, nearly equal slices of `df`."""
    start, stop = k * df.height // workers, (k + 1) * df.height // workers
    return df.slice(start, stop - start)


def _sqlite_table(conn: Connection, table: str) -> tuple[str, str, list[str], list[str]]:
    """(schema, CREATE TABLE statement, column names, key columns) of `table`, temporary first."""
    for schema in ("temp", "main"):
        row = conn.exec_driver_sql(
            f"SELECT sql FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).first()
        if row is not None:
            info = conn.exec_driver_sql(f'PRAGMA {schema}.table_info("{table}")').all()
            return schema, row[0], [r[1] for r in info], [r[1] for r in info if r[5]]
    raise ValueError(f"{table}: no such table in the database")


def _write_side_file(
    path: str, frames: dict[str, pl.DataFrame], definitions: dict[str, str | None]
) -> None:
    import adbc_driver_sqlite.dbapi as adbc

    with adbc.connect(path) as side:
        with side.cursor() as cursor:
            for table, df in frames.items():
                if definitions[table]:
                    cursor.execute(definitions[table])
                ready = _sqlite_ready(df).with_columns(
                    # An all-null column has Arrow's null type, which the driver cannot store.
                    [pl.col(c).cast(pl.Utf8) for c, t in df.schema.items() if t == pl.Null]
                )
                cursor.adbc_ingest(table, ready, mode="append" if definitions[table] else "create")
        side.commit()


def read_frame(conn: Connection, sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run `sql` (selecting exactly the columns of `schema`, in order) into a typed frame."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        buffer = io.BytesIO()
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER false)") as copy:
                for block in copy:
                    buffer.write(block)
        if buffer.tell() == 0:
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        text_schema = {
            name: (pl.Utf8 if dtype in (pl.Date, pl.Boolean) else dtype) for name, dtype in schema.items()
        }
        df = pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=text_schema)
        return df.with_columns(
            [
                pl.col(n).str.to_date("%Y-%m-%d") if t == pl.Date else pl.col(n) == "t"
                for n, t in schema.items()
                if t in (pl.Date, pl.Boolean)
            ]
        ).select(list(schema))
    rows = conn.exec_driver_sql(sql).fetchall()
    text_schema = {
        name: (pl.Utf8 if dtype == pl.Date else pl.Int8 if dtype == pl.Boolean else dtype)
        for name, dtype in schema.items()
    }
    df = pl.DataFrame(rows, schema=text_schema, orient="row")
    return df.select([_from_sqlite(pl.col(c), t) for c, t in schema.items()])


READ_CHUNK_ROWS = 200_000


def read_tables(conn: Connection, schemas: Mapping[str, dict[str, pl.DataType]]) -> dict[str, pl.DataFrame]:
    """Every row of each table (the columns of its schema) into typed frames, on `conn`.

    PostgreSQL: one `COPY TO` per table. SQLite: building Python rows is the slow part of a read,
    so SQLite writes each chunk of rows as NDJSON in C and polars parses it with the known schema.
    (Not ADBC's SQLite driver on the store's own file: two SQLite libraries in one process do not
    see each other's POSIX locks, which corrupts the locking of a database both have open.)
    """
    if conn.dialect.name == "postgresql":
        return {t: read_frame(conn, f'SELECT {_columns_of(s)} FROM "{t}"', s) for t, s in schemas.items()}
    return {table: _read_sqlite_table(conn, table, schema) for table, schema in schemas.items()}


def sql_strings(values) -> str:
    """Values as a list of SQL string literals for an IN (...) of a `where` (quotes doubled)."""
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def read_table(conn: Connection, table: str, schema: dict[str, pl.DataType], where: str = "") -> pl.DataFrame:
    """The rows of `table` matching the SQL condition `where` (default: all), the columns of
    `schema`, into a typed frame: read_tables' columnar path for one table and a condition."""
    if conn.dialect.name == "postgresql":
        return read_frame(conn, f'SELECT {_columns_of(schema)} FROM "{table}"' + (f" WHERE {where}" if where else ""),
                          schema)
    return _read_sqlite_table(conn, table, schema, where)


def _read_sqlite_table(conn: Connection, table: str, schema: dict[str, pl.DataType],
                       where: str = "") -> pl.DataFrame:
    # Short keys ("c0", "c1", ...) keep the text small; as a BLOB it reaches polars undecoded.
    keys = {name: f"c{number}" for number, name in enumerate(schema)}
    as_json = {keys[name]: (pl.Int64 if dtype == pl.Boolean else pl.Utf8 if dtype == pl.Date else dtype)
               for name, dtype in schema.items()}
    row_object = ", ".join(f"'{keys[c]}', \"{c}\"" for c in schema)
    last = conn.exec_driver_sql(f'SELECT max(rowid) FROM "{table}"').scalar() or 0
    parsed = []
    # SQLite builds the next chunk while polars parses this one (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as parser:
        for low in range(0, last, READ_CHUNK_ROWS):
            text = conn.exec_driver_sql(
                f"SELECT CAST(group_concat(json_object({row_object}), char(10)) AS BLOB) FROM \"{table}\" "
                "WHERE rowid > ? AND rowid <= ?" + (f" AND ({where})" if where else ""),
                (low, low + READ_CHUNK_ROWS),
            ).scalar()
            if text:
                parsed.append(parser.submit(pl.read_ndjson, text, schema=as_json))
    chunks = [pl.DataFrame(schema=as_json)] + [chunk.result() for chunk in parsed]
    return pl.concat(chunks).select([_from_sqlite(pl.col(keys[c]), t).alias(c) for c, t in schema.items()])


def _columns_of(schema: dict[str, pl.DataType]) -> str:
    return ", ".join(f'"{c}"' for c in schema)


def _from_sqlite(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """SQLite's storage (dates as ISO text, booleans as 0/1) back to the schema's type."""
    if dtype == pl.Date:
        return column.cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d")
    return column.cast(dtype)
