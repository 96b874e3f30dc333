"""What every reader hands the ingest: raw tables, one per canonical table the source had.

A raw table keeps the canonical columns as read (text, or native dates and flags from Parquet,
XLSX and SQL), plus `__row` (its position, the key of everything validation says about it) and
`__line` (the line of the source file it came from: header is line 1, first data row line 2).
Text readers add `__extra_fields`: how many values a row has beyond its header (V011 quarantines it).
"""

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from ehcp_monitor.domain.canonical import REVIEW_HISTORY_FULL, table_spec
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.logs import get_logger

ROW, LINE = "__row", "__line"
EXTRA_FIELDS = "__extra_fields"
DUPLICATED = "_duplicated_"  # what polars appends to a header name met again
# In a header: a lone carriage return (the signature of a file mixing line endings, where the
# reader takes the first row into the header) or a control character that is no whitespace. A
# line break or a tab is whitespace: a wrapped header cell of a workbook (Alt+Enter).
CONTROL = re.compile(r"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Columns whose absence would change who is told, or how: a near miss of one of them refuses the
# ingest rather than read as "nobody opted out" or "no address".
SAFETY_COLUMNS = {"contacts": ("opted_out", "email", "mobile", "preferred_channel")}
SEPARATORS = re.compile(r"[\s-]+")
SHOWN_CHARS = 40  # of an unknown column's name, in a refusal or the ingest's notes
# How alike (difflib ratio) a name must be to a canonical one to be offered as "did you mean":
# review -> reviews (0.92) and plan -> plans (0.89) are; notes -> none.
NEAREST_CUTOFF = 0.75

log = get_logger(__name__)


@dataclass
class RawTable:
    name: str
    source_file: str
    frame: pl.DataFrame
    # Formats tried in turn for dates held as text (never guessed: each reader declares them).
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    # Columns of the file that are not canonical ones, as headed there: not read, named in the
    # ingest's notes.
    unknown_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unrecognised:
    """A file (or sheet) of the source that the reader did not read, with the canonical name it
    most resembles (`review.csv` -> `reviews.csv`), if any."""

    file: str
    nearest: str | None = None

    def shown(self) -> str:
        return f"{self.file} (did you mean {self.nearest}?)" if self.nearest else self.file


@dataclass
class SourceData:
    kind: str
    tables: dict[str, RawTable] = field(default_factory=dict)
    # file name -> sha256 of its bytes
    checksums: dict[str, str] = field(default_factory=dict)
    # plans.review_history of everything this source loads (docs/rules.md, Review cycles)
    review_history: str = REVIEW_HISTORY_FULL
    # Files and sheets the reader did not recognise, named one by one (docs/input-formats.md, File and sheet names)
    unrecognised: list[Unrecognised] = field(default_factory=list)


def _clean_text(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars(" ")
    return pl.when(text == "").then(None).otherwise(text)


def _as_text(df: pl.DataFrame, name: str) -> pl.Expr:
    dtype = df.schema[name]
    col = pl.col(name)
    if dtype == pl.Utf8:
        return _clean_text(col)
    if dtype in (pl.Date, pl.Boolean):
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    if dtype.is_float():
        # Spreadsheets and Parquet writers hand whole numbers over as floats: 12.0 is ID "12".
        whole = col.is_finite() & (col == col.floor())
        return pl.when(whole).then(col.cast(pl.Int64, strict=False).cast(pl.Utf8)).otherwise(
            col.cast(pl.Utf8)
        )
    return col.cast(pl.Utf8, strict=False)


def make_raw_table(
    name: str,
    df: pl.DataFrame,
    source_file: str,
    *,
    first_line: int = 2,
    date_formats: tuple[str, ...] = ("%Y-%m-%d",),
) -> RawTable:
    """Keep the canonical columns of `df`, refusing when a required column is missing or doubled.

    `df` may already carry `__line`; otherwise lines count from `first_line`. Rows with no value
    at all (blank lines), or only in columns not read, are not records and are dropped here,
    before anything is counted; a row with values beyond its header is kept (V011).
    """
    spec = table_spec(name)
    canonical = set(spec.column_names)
    first_of: dict[str, int] = {}
    headed = dict(zip([header_name(c) for c in df.columns], df.columns, strict=True))
    refuse_control_characters(df.columns, source_file)
    for i, raw_name in enumerate(df.columns):
        if raw_name in (LINE, EXTRA_FIELDS):
            first_of[raw_name] = i
            continue
        c = header_name(raw_name)
        base = c.split(DUPLICATED)[0]
        if (c in first_of or DUPLICATED in c) and base in canonical:
            raise IngestRefused(f"{source_file}: column {base} appears more than once")
        first_of.setdefault(c, i)
    df = pl.DataFrame([df.to_series(i).alias(c) for c, i in first_of.items()])
    missing = [c for c in spec.required_columns if c not in df.columns]
    if missing:
        raise IngestRefused(f"{source_file}: required column {missing[0]} of table {name} is missing")
    unknown = [c for c in df.columns if c not in canonical and c not in (LINE, EXTRA_FIELDS)]
    absent = sorted(set(SAFETY_COLUMNS.get(name, ())) - set(df.columns))
    for column in unknown:
        near = nearest_name(column, absent)
        if near:  # a misspelt `opted_out` must not read as "nobody opted out"
            raise IngestRefused(f"{source_file}: column {_shown(headed[column])!r} is not a column "
                                f"of table {name} (did you mean {near}?): rename it and load again")
    if unknown:
        log.warning("unknown columns ignored", table=name, counts=len(unknown))
    present = [c for c in spec.column_names if c in df.columns]
    if LINE not in df.columns:
        df = df.with_row_index(LINE, offset=first_line).with_columns(pl.col(LINE).cast(pl.Int64))
    extra = [pl.col(EXTRA_FIELDS).cast(pl.Int32)] if EXTRA_FIELDS in df.columns else []
    # A row with a value in a column read, or beyond its header (V011), is a record. One with
    # values only in columns not read is not (a workbook's helper column filled down past the data).
    has_value = [_as_text(df, c).is_not_null() for c in present]
    has_value += [pl.col(EXTRA_FIELDS) > 0] if extra else []
    if has_value:
        df = df.filter(pl.any_horizontal(has_value))
    frame = df.select([_as_text(df, c).alias(c) for c in present] + [pl.col(LINE).cast(pl.Int64)] + extra)
    frame = frame.with_row_index(ROW)
    return RawTable(name, source_file, frame, date_formats,
                    tuple(_shown(headed[c]) for c in unknown))


def refuse_control_characters(columns: list[str], source_file: str) -> None:
    """Refuse a header whose names hold a lone carriage return or another control character that
    is no whitespace (CONTROL), naming the column's position (never its name: it may hold the
    first row's values)."""
    names = [c for c in columns if c not in (LINE, EXTRA_FIELDS)]
    for position, raw_name in enumerate(names, start=1):
        if CONTROL.search(raw_name.strip()):
            raise IngestRefused(f"{source_file}: the name of column {position} in the header holds a line break or "
                                "another control character (a file mixing line endings?): save the file with one "
                                "kind of line ending and load it again")


def _shown(raw_name: str) -> str:
    """A header as named in a message: one line, its first SHOWN_CHARS characters."""
    return " ".join(raw_name.split())[:SHOWN_CHARS]


def nearest_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` most resembles, ignoring case, if one is close enough."""
    match = difflib.get_close_matches(name.strip().lower(), list(candidates), n=1, cutoff=NEAREST_CUTOFF)
    return match[0] if match else None


def header_name(raw_name: str) -> str:
    """A column's header as matched with the canonical names: trimmed, in lower case, and with
    spaces and hyphens as underscores (`Opted Out` is `opted_out`)."""
    return SEPARATORS.sub("_", raw_name.strip().lower())
