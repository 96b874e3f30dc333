"""Bulk movement of polars frames in and out of the store.

Hot paths never go row by row through the ORM: PostgreSQL gets COPY in CSV form; SQLite an
Arrow ingest through a side file for large frames (see _stage_into), one executemany per batch
for small ones. Reading back is one query per table (SQLite: a query per chunk, as NDJSON) into a
typed frame.
"""

import io
import os
import tempfile
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
from sqlalchemy import Connection

BATCH_ROWS = 100_000


def _sqlite_ready(df: pl.DataFrame) -> pl.DataFrame:
    # SQLAlchemy's Date type stores ISO text on SQLite; booleans as 0/1.
    casts = []
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            casts.append(pl.col(name).dt.strftime("%Y-%m-%d"))
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
    if large and len(staged_aliases(conn)) < MAX_STAGED_PER_CONNECTION:
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
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({_columns(df)}) FROM STDIN WITH (FORMAT csv)') as copy:
            for chunk in df.iter_slices(BATCH_ROWS):
                buffer = io.BytesIO()
                chunk.write_csv(buffer, include_header=False, null_value="")
                copy.write(buffer.getvalue())


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


# SQLite, large frames: Python's sqlite3 binds row by row (about 200k rows/s). ADBC's SQLite
# driver takes the Arrow columns straight from polars (about 1M rows/s) but on a connection of its
# own, so it writes a side file; the caller's connection attaches it and copies with INSERT ...
# SELECT inside its own transaction, keeping "one ingest, one transaction". SQLite cannot DETACH
# inside that transaction, so the side file is detached and deleted when the connection goes back
# to the pool (db.engine). At most 10 databases can be attached to one connection.
STAGE_MIN_ROWS = 20_000
MAX_STAGED_PER_CONNECTION = 4
_STAGED = "ehcp_staged"


def staged_aliases(conn: Connection) -> list[tuple[str, str]]:
    return conn.connection._connection_record.info.setdefault(_STAGED, [])


def _stage_into(conn: Connection, frames: dict[str, pl.DataFrame]) -> None:
    import adbc_driver_sqlite.dbapi as adbc

    handle, path = tempfile.mkstemp(prefix="ehcp-stage-", suffix=".sqlite3")
    os.close(handle)
    alias = f"stage_{uuid.uuid4().hex[:12]}"
    staged_aliases(conn).append((alias, path))
    with adbc.connect(path) as side:
        with side.cursor() as cursor:
            for number, df in enumerate(frames.values()):
                ready = _sqlite_ready(df).with_columns(
                    # An all-null column has Arrow's null type, which the driver cannot store.
                    [pl.col(c).cast(pl.Utf8) for c, t in df.schema.items() if t == pl.Null]
                )
                cursor.adbc_ingest(f"t{number}", ready, mode="create")
        side.commit()
    conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (path,))
    for number, (table, df) in enumerate(frames.items()):
        columns = _columns(df)
        conn.exec_driver_sql(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM {alias}.t{number}')


def release_staged(dbapi_connection, record_info: dict) -> None:
    """Detach and delete the side files a connection staged (its transaction has ended)."""
    for alias, path in record_info.pop(_STAGED, []):
        try:
            dbapi_connection.execute(f"DETACH DATABASE {alias}")
        except Exception:  # noqa: BLE001 - a closed or broken connection has nothing attached
            pass
        Path(path).unlink(missing_ok=True)


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


def _read_sqlite_table(conn: Connection, table: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    as_json = {name: (pl.Int64 if dtype == pl.Boolean else pl.Utf8 if dtype == pl.Date else dtype)
               for name, dtype in schema.items()}
    row_object = ", ".join(f"'{c}', \"{c}\"" for c in schema)
    last = conn.exec_driver_sql(f'SELECT max(rowid) FROM "{table}"').scalar() or 0
    parsed = []
    # SQLite builds the next chunk while polars parses this one (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as parser:
        for low in range(0, last, READ_CHUNK_ROWS):
            text = conn.exec_driver_sql(
                f"SELECT group_concat(json_object({row_object}), char(10)) FROM \"{table}\" "
                "WHERE rowid > ? AND rowid <= ?",
                (low, low + READ_CHUNK_ROWS),
            ).scalar()
            if text:
                parsed.append(parser.submit(pl.read_ndjson, text.encode(), schema=as_json))
    chunks = [pl.DataFrame(schema=as_json)] + [chunk.result() for chunk in parsed]
    return pl.concat(chunks).select([_from_sqlite(pl.col(c), t) for c, t in schema.items()])


def _columns_of(schema: dict[str, pl.DataType]) -> str:
    return ", ".join(f'"{c}"' for c in schema)


def _from_sqlite(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """SQLite's storage (dates as ISO text, booleans as 0/1) back to the schema's type."""
    if dtype == pl.Date:
        return column.cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d")
    return column.cast(dtype)
