"""Bulk movement of polars frames in and out of the store.

Hot paths never go row by row through the ORM: PostgreSQL gets COPY in CSV form, SQLite a
single executemany per batch. Reading back is one query per table into a typed frame.
"""

import io

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
    if df.height == 0:
        return 0
    columns = ", ".join(f'"{c}"' for c in df.columns)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy:
                for chunk in df.iter_slices(BATCH_ROWS):
                    buffer = io.BytesIO()
                    chunk.write_csv(buffer, include_header=False, null_value="")
                    copy.write(buffer.getvalue())
        return df.height
    ready = _sqlite_ready(df)
    placeholders = ", ".join("?" for _ in df.columns)
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})'
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        for chunk in ready.iter_slices(BATCH_ROWS):
            cursor.executemany(sql, chunk.rows())
    finally:
        cursor.close()
    return df.height


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
    return df.with_columns(
        [
            pl.col(n).str.slice(0, 10).str.to_date("%Y-%m-%d") if t == pl.Date else pl.col(n).cast(pl.Boolean)
            for n, t in schema.items()
            if t in (pl.Date, pl.Boolean)
        ]
    )
