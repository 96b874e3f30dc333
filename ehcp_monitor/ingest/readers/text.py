"""Reading a delimited text file into a frame of strings, by our own vectorised tokeniser.

Bytes are decoded as strict UTF-8 (leading BOMs stripped), falling back to cp1252 for a file that is not
UTF-8 (bytes cp1252 leaves undefined are read as Latin-1, so they surface as control characters
in V010 instead of failing the file); a UTF-16 file is refused by name. LF and CRLF end a line
(mixed in one file too); CR alone ends a line only in a file with no LF at all. Records follow
RFC 4180: a quoted field may hold commas, doubled quotes and line breaks. A record whose quotes are
out of place on one line is split on every comma with its quotes read as characters; a quote that
opens a field and is never closed on its line refuses the file, naming the line.

Every message names the file, line and what is wrong, never a value (values are children's data).
Every value stays text: types come from the canonical schema. `__line` is the line a record starts
on (header line 1); `__extra_fields` counts the values beyond the header (V011 quarantines those).
"""

import hashlib
from pathlib import Path

import polars as pl

from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.source import EXTRA_FIELDS, LINE
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

_FIELD = r'"(?:[^"]|"")*"|[^,"]*'
# A whole record as RFC 4180 has it (a quoted field may hold line breaks: `[^"]` matches them).
_RECORD = rf'^(?:{_FIELD})(?:,(?:{_FIELD}))*$'
# One field with the comma before it, matched in the record with a comma put before it: every match
# is then non-empty (an empty first field would otherwise hide the field after it).
_FIELDS = rf',(?:{_FIELD})'
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _looks_utf16(data: bytes) -> bool:
    """A BOM, or text whose every other byte is NUL (UTF-16 without a BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = data[:4000]
    half = len(sample) // 2
    if half < 2:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) >= 0.9 * half and min(even, odd) <= 0.1 * half


def decode(data: bytes, table: str, file_name: str = "") -> str:
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise IngestRefused(f"{file_name or table}: saved as UTF-32; save it as UTF-8 (or CSV UTF-8 in Excel)")
    if _looks_utf16(data):
        raise IngestRefused(f"{file_name or table}: saved as UTF-16; save it as UTF-8 (or CSV UTF-8 in Excel)")
    while data.startswith(b"\xef\xbb\xbf"):  # a file re-saved by Excel can carry two
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("file is not UTF-8, read as cp1252", table=table)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _lines(text: str) -> pl.DataFrame:
    """One row per physical line: its number (from 1) and text, its line end removed.

    A file with any LF is split on LF (a CR before it is part of the line end); a CR elsewhere
    stays in its value, for V010 to flag, rather than inventing a record. Only a file with no LF at
    all (old Mac line ends) is split on CR."""
    end = "\n" if "\n" in text else "\r"
    if text.endswith(end):
        text = text[:-1]
    lines = pl.Series("text", [text]).str.split(end).explode()
    if end == "\n":
        lines = lines.str.strip_suffix("\r")
    return pl.DataFrame(lines).with_row_index("line", offset=1).with_columns(pl.col("line").cast(pl.Int64))


def _records(lines: pl.DataFrame, file_name: str) -> pl.DataFrame:
    """Lines joined into records (a quoted field may run over several lines), with `quoted` (the
    record holds a quote) and `rfc` (its quotes are where RFC 4180 allows them)."""
    quotes = pl.col("text").str.count_matches('"', literal=True)
    lines = lines.with_columns(quotes.alias("quotes"))
    # Inside a quoted field at the start of the line: an odd number of quotes before it.
    lines = lines.with_columns(((pl.col("quotes").cum_sum() - pl.col("quotes")) % 2 == 1).alias("inside"))
    if lines["inside"].any():
        records = (
            lines.with_columns((~pl.col("inside")).cum_sum().alias("record"))
            .group_by("record", maintain_order=True)
            .agg(pl.col("line").first(), pl.col("line").last().alias("last_line"),
                 pl.col("text").str.join("\n"), pl.col("quotes").sum())
        )
    else:
        records = lines.with_columns(pl.col("line").alias("last_line"))
    records = records.with_columns((pl.col("quotes") > 0).alias("quoted"))
    records = records.with_columns(
        (~pl.col("quoted") | pl.col("text").str.contains(_RECORD)).alias("rfc"))
    broken = records.filter(~pl.col("rfc") & ((pl.col("line") != pl.col("last_line")) | (pl.col("quotes") % 2 == 1)))
    if broken.height:
        first = broken.row(0, named=True)
        if first["quotes"] % 2 == 1:
            raise IngestRefused(f"{file_name} line {first['line']}: a quote is opened and never closed")
        raise IngestRefused(f"{file_name} line {first['line']}: a quote opened on this line is closed only on "
                            f"line {first['last_line']}; quote the whole value and double any quote inside it")
    return records.select("line", "text", "quoted", "rfc")


def _fields(records: pl.DataFrame) -> pl.Series:
    """Each record's values as a list of strings (quoted fields unquoted)."""
    plain = pl.col("text").str.split(",")
    unquote = pl.element().str.strip_prefix(",")
    unquote = pl.when(unquote.str.starts_with('"')).then(
        unquote.str.slice(1, unquote.str.len_chars() - 2).str.replace_all('""', '"', literal=True)
    ).otherwise(unquote)
    quoted = (pl.lit(",") + pl.col("text")).str.extract_all(_FIELDS).list.eval(unquote)
    return records.select(
        pl.when(pl.col("quoted") & pl.col("rfc")).then(quoted).otherwise(plain).alias("fields")
    ).to_series()


def _column_names(header: list[str]) -> list[str]:
    """Unique frame column names: a blank one named by its position, a repeated one suffixed the
    way make_raw_table recognises (and refuses, when it is a canonical column)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        # A blank name, or one like the reader's own (__line), is named by its position.
        name = raw if raw.strip() and not raw.strip().startswith("__") else f"column_{i + 1}"
        names.append(f"{name}_duplicated_{seen[name] - 1}" if seen.get(name) else name)
        seen[name] = seen.get(name, 0) + 1
    return names


def parse_text(text: str, file_name: str) -> pl.DataFrame:
    """Header names as columns (doubled names suffixed `_duplicated_N`), one row per record after
    the header (blank lines as rows of empty values), plus `__line` and `__extra_fields`."""
    records = _records(_lines(text), file_name)
    records = records.with_columns(_fields(records).alias("fields"))
    nonblank = records.filter(pl.col("text").str.strip_chars() != "")
    if not nonblank.height:
        raise IngestRefused(f"{file_name}: the file is empty (no header row)")
    header_line = nonblank["line"][0]
    header = nonblank["fields"][0].to_list()
    if len(header) == 1:
        for char, kind in _OTHER_DELIMITERS.items():
            if char in header[0]:
                raise IngestRefused(f"{file_name}: the header has one column; the file looks {kind}-delimited; "
                                    "save it as comma-separated (CSV)")
    names = _column_names(header)
    rows = records.filter(pl.col("line") > header_line)
    width = pl.col("fields").list.len()
    return rows.select(
        *[pl.col("fields").list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(names)],
        pl.col("line").alias(LINE),
        pl.when(width > len(names)).then(width - len(names)).otherwise(0).cast(pl.Int32).alias(EXTRA_FIELDS),
    )


def read_text_csv(path: Path, table: str, checksums: dict[str, str], *, with_lines: bool = False) -> pl.DataFrame:
    """The file as a frame of strings, one column per header name (doubled names suffixed).

    With `with_lines`, also `__line` and `__extra_fields`; without, one row per record in order.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestRefused(f"{path.name}: cannot be opened ({exc.strerror or type(exc).__name__})") from None
    checksums[path.name] = hashlib.sha256(data).hexdigest()
    text = decode(data, table, path.name)
    if not text.strip():
        raise IngestRefused(f"{path.name}: the file is empty (no header row)")
    try:
        frame = parse_text(text, path.name)
    # A polars failure on some input nobody foresaw is still bad input, not a crash, and its text
    # (which may quote a value) is never shown.
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        raise IngestRefused(f"{path.name}: cannot be read as CSV ({type(exc).__name__})") from None
    return frame if with_lines else frame.drop(LINE, EXTRA_FIELDS)
