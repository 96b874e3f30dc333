"""Raw columns to canonical types, vectorised. A value that cannot be read becomes null here;
the rules (V002 dates, V003 codes and flags) find it by comparing the raw and parsed frames."""

import polars as pl

from ehcp_monitor.domain.canonical import CODE_LOWER, CODE_UPPER, DATE, FLAG, TEXT, Column, table_spec
from ehcp_monitor.ingest.source import ROW, RawTable

FLAG_WORDS = {"1": True, "0": False, "true": True, "false": False, "y": True, "n": False}
# Review outcomes as SEN2 suppliers write them; settings.ingest.review_outcome_codes adds an LA's own.
REVIEW_OUTCOME_WORDS = {"m": "maintain", "a": "amend", "c": "cease",
                        "maintained": "maintain", "amended": "amend", "ceased": "cease"}


# A year outside these is no date a record can hold (a sign typed before it, a year of two digits
# padded to four): V002, not a date stored that no reader can read back. 1899 for Excel's day
# zero, 1899-12-30, a placeholder (placeholders.py).
FIRST_YEAR, LAST_YEAR = 1899, 9999


def plausible(date: pl.Expr) -> pl.Expr:
    return pl.when(date.dt.year().is_between(FIRST_YEAR, LAST_YEAR)).then(date)


def review_outcome_aliases(settings) -> dict[str, str]:
    extra = {k.strip().lower(): v.strip().lower() for k, v in settings.ingest.review_outcome_codes.items()}
    return {**REVIEW_OUTCOME_WORDS, **extra}


def _parse(raw: RawTable, col: Column, settings) -> pl.Expr:
    dtype = raw.frame.schema[col.name]
    c = pl.col(col.name)
    if col.kind == TEXT:
        if dtype == pl.Date:
            return c.dt.strftime("%Y-%m-%d")
        return c.cast(pl.Utf8)
    if col.kind == DATE:
        if dtype == pl.Date:
            return plausible(c)
        if dtype != pl.Utf8:
            return pl.lit(None, pl.Date)
        return plausible(pl.coalesce([c.str.strptime(pl.Date, f, strict=False) for f in raw.date_formats]))
    if dtype != pl.Utf8:
        return c if (col.kind == FLAG and dtype == pl.Boolean) else pl.lit(None, col.dtype)
    if col.kind == FLAG:
        return c.str.to_lowercase().replace_strict(FLAG_WORDS, default=None, return_dtype=pl.Boolean)
    code = c.str.to_uppercase() if col.kind == CODE_UPPER else c.str.to_lowercase()
    if raw.name == "reviews" and col.name == "outcome":
        code = code.replace(review_outcome_aliases(settings))
    return pl.when(code.is_in(list(col.codes))).then(code).otherwise(None)


def parse_table(raw: RawTable, settings) -> pl.DataFrame:
    """Typed canonical columns (absent ones null) plus __row."""
    spec = table_spec(raw.name)
    exprs = [pl.col(ROW)]
    for col in spec.columns:
        if col.name in raw.frame.columns:
            exprs.append(_parse(raw, col, settings).cast(col.dtype).alias(col.name))
        else:
            exprs.append(pl.lit(None, col.dtype).alias(col.name))
    return raw.frame.select(exprs)


def needs_code(col: Column) -> bool:
    return col.kind in (CODE_UPPER, CODE_LOWER, FLAG)
