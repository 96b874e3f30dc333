"""PostgreSQL's binary COPY format, built from a polars frame by numpy (no per-row Python).

COPY in binary skips the server's text parsing of every value, which is most of a bulk load's
cost on a small machine: about half the time of a CSV COPY (bench/README.md). The format
is in PostgreSQL's documentation (COPY, "Binary Format"): a header, then per row a 16-bit field
count and per field a 32-bit byte length (-1 for NULL) and the value in the type's binary form
(big-endian integers and floats; dates as days and timestamps as microseconds since
2000-01-01; text as its UTF-8 bytes).
"""

import numpy as np
import polars as pl

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, header extension length 0
TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10_957  # 2000-01-01, in days since 1970-01-01
_PG_EPOCH_MICROSECONDS = _PG_EPOCH_DAYS * 86_400 * 1_000_000

# Server type name -> the polars type its values are cast to and their big-endian numpy form.
FIXED_TYPES: dict[str, tuple[pl.DataType, str]] = {
    "int2": (pl.Int16, ">i2"),
    "int4": (pl.Int32, ">i4"),
    "int8": (pl.Int64, ">i8"),
    "float8": (pl.Float64, ">f8"),
    "bool": (pl.Boolean, "u1"),
    "date": (pl.Date, ">i4"),
    # Microseconds since 2000-01-01 00:00 UTC. The store keeps UTC throughout (clock.now_utc), so
    # a datetime without a time zone is taken as UTC.
    "timestamptz": (pl.Datetime("us"), ">i8"),
    "timestamp": (pl.Datetime("us"), ">i8"),
}
# json's binary form is its text; jsonb's is not (a version byte first), so it is not here.
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "json"})


def check_types(columns: dict[str, str]) -> None:
    """Refuse, naming it, a column whose server type this encoder does not write."""
    for name, pg_type in columns.items():
        if pg_type not in FIXED_TYPES and pg_type not in TEXT_TYPES:
            raise TypeError(f"binary COPY: column {name!r} has type {pg_type}, which is not supported")


def _field(series: pl.Series, pg_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(byte length per row, -1 for NULL; the non-NULL values' bytes, in row order)."""
    if pg_type in TEXT_TYPES:
        text = series.cast(pl.Utf8)
        lengths = text.str.len_bytes().cast(pl.Int64).fill_null(-1).to_numpy()
        joined = text.drop_nulls().str.join("").item() or ""
        return lengths, np.frombuffer(joined.encode(), dtype=np.uint8)
    dtype, wire = FIXED_TYPES[pg_type]
    typed = _cast(series, dtype)
    valid = typed.drop_nulls()
    if dtype == pl.Date:
        values = valid.cast(pl.Int32).to_numpy() - _PG_EPOCH_DAYS
    elif dtype == pl.Datetime("us"):
        values = valid.cast(pl.Int64).to_numpy() - _PG_EPOCH_MICROSECONDS
    else:
        values = valid.to_numpy()
    width = np.dtype(wire).itemsize
    lengths = np.where(typed.is_null().to_numpy(), -1, width).astype(np.int64)
    return lengths, np.ascontiguousarray(values.astype(wire)).view(np.uint8)


def _cast(series: pl.Series, dtype: pl.DataType) -> pl.Series:
    """`series` as `dtype`, refusing what would change a value (1.5 into an integer, 2 into a
    boolean) and reading ISO text into dates, as the server would have."""
    given = series.dtype
    if given == pl.Null:
        return series.cast(dtype)
    if given == dtype:
        pass
    elif dtype.is_integer() and not given.is_integer():
        raise TypeError(f"binary COPY: column {series.name!r} is {given}, not an integer")
    elif dtype == pl.Float64 and not given.is_numeric():
        raise TypeError(f"binary COPY: column {series.name!r} is {given}, not a number")
    elif dtype == pl.Boolean:
        raise TypeError(f"binary COPY: column {series.name!r} is {given}, not a boolean")
    elif dtype == pl.Date and given == pl.Utf8:
        return series.str.to_date("%Y-%m-%d")
    elif dtype == pl.Date or (dtype == pl.Datetime("us") and not isinstance(given, pl.Datetime)):
        raise TypeError(f"binary COPY: column {series.name!r} is {given}, not a {dtype}")
    if dtype != pl.Datetime("us"):
        return series.cast(dtype)  # strict: an integer out of the column's range is refused
    if given.time_zone is not None:
        series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return series.dt.cast_time_unit("us")


def encode_rows(df: pl.DataFrame, pg_types: list[str]) -> bytes:
    """The rows of `df` as binary COPY tuples (no header or trailer), columns in `df`'s order."""
    n = df.height
    fields = [_field(df.get_column(name), pg_type) for name, pg_type in zip(df.columns, pg_types, strict=False)]
    row_size = 2 + sum(4 + np.maximum(lengths, 0) for lengths, _ in fields)
    row_start = np.zeros(n, dtype=np.int64)
    np.cumsum(row_size[:-1], out=row_start[1:])
    out = np.empty(int(row_size.sum()) if n else 0, dtype=np.uint8)
    _put(out, row_start, np.full(n, len(fields), dtype=">i2").view(np.uint8), 2)
    position = row_start + 2
    for lengths, payload in fields:
        _put(out, position, lengths.astype(">i4").view(np.uint8), 4)
        position = position + 4
        present = lengths > 0
        sizes = lengths[present]
        if sizes.size:
            # Each value's bytes go to its row's slot: a shift per value, repeated per byte.
            source_start = np.zeros(sizes.size, dtype=np.int64)
            np.cumsum(sizes[:-1], out=source_start[1:])
            shift = np.repeat(position[present] - source_start, sizes)
            out[np.arange(payload.size, dtype=np.int64) + shift] = payload
        position = position + np.maximum(lengths, 0)
    return out.tobytes()


def _put(out: np.ndarray, starts: np.ndarray, data: np.ndarray, width: int) -> None:
    """Write `width` bytes per row (`data` holds them row after row) at each row's start."""
    if starts.size:
        out[(starts[:, None] + np.arange(width)).ravel()] = data
