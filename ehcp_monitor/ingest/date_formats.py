"""Dates a person would recognise (issue: a UK-dated extract read as ISO).

Dates are read only in the declared format (never guessed: docs/input-formats.md, Canonical extracts). But when
most of a date column fails that format and every failing value reads cleanly in one other common
form, the extract was written in that form: the ingest is refused with one line naming the file,
the column, the form that fits and the setting to change, instead of quarantining every row. The
line quotes no value (a date of birth is personal data).
"""

from datetime import date

import polars as pl

from ehcp_monitor.domain.canonical import DATE, table_spec
from ehcp_monitor.domain.date_forms import DATE_FORMS, DECLARABLE
from ehcp_monitor.ingest.source import RawTable

EXCEL_SERIAL = r"^\d{5}(\.0+)?$"
# More than this share of a column's values, and at least this many, failing the declared format
# is a format, not a few typos.
MOSTLY = 0.5
MIN_FAILING = 10


def _fits(values: pl.Series, fmt: str) -> bool:
    parsed = values.str.strptime(pl.Date, fmt, strict=False)
    ok = parsed.is_not_null() & parsed.dt.year().is_between(1900, 2100)
    return bool(ok.all())


def _text_dates(raw_tables: dict[str, RawTable], parsed: dict[str, pl.DataFrame]):
    """(table, raw table, column, values as read, values the declared form could not read) of
    every date column held as text."""
    for name, raw in raw_tables.items():
        for col in table_spec(name).columns:
            if col.kind != DATE or col.name not in raw.frame.columns or raw.frame.schema[col.name] != pl.Utf8:
                continue
            both = pl.DataFrame({"raw": raw.frame[col.name], "parsed": parsed[name][col.name]})
            values = both.filter(pl.col("raw").is_not_null())
            yield name, raw, col.name, values["raw"], values.filter(pl.col("parsed").is_null())["raw"]


def _reads(values: pl.Series, fmt: str) -> int:
    return int(values.str.strptime(pl.Date, fmt, strict=False).is_not_null().sum())


def _fix(raw: RawTable, settings, fmt: str, columns: list) -> str:
    """How to fix it: the setting, when one form fits the whole extract; else the extract itself."""
    if settings.source.date_format not in raw.date_formats:
        return own_form(raw)
    if fmt not in DECLARABLE:
        return "write the dates as yyyy-mm-dd in the extract"
    declared = settings.source.date_format
    # Another column the declared form reads better than this one: the extract mixes forms, and
    # changing the setting would only move the refusal to that column.
    mixed = [f"{r.source_file} {c}" for _, r, c, values, _ in columns
             if settings.source.date_format in r.date_formats and values.len() >= MIN_FAILING
             and _reads(values, declared) > _reads(values, fmt)]
    if mixed:
        return (f"but {mixed[0]} is in the declared form: the extract mixes date forms; write every date in one "
                "form (yyyy-mm-dd)")
    return f'set source.date_format = "{fmt}" in the config file'


def own_form(raw: RawTable) -> str:
    """The fix for a source whose reader reads its dates in a form of its own, not the setting's
    (the SEN2 Blade export: `2022-Sep-28 00:00:00`): the file was changed after it was exported."""
    example = date(2022, 9, 28).strftime(raw.date_formats[0])
    return (f"this source's dates are read only as its export writes them ({example}): export it again, "
            "and do not open and save it in a spreadsheet first")


def misread_dates(raw_tables: dict[str, RawTable], parsed: dict[str, pl.DataFrame], settings) -> str | None:
    """One line naming a date column mostly (over half, 10 or more) not in the declared form: the
    form it is in when one is recognised, or None. A handful of bad dates are findings at their
    rows (V002), never a refusal."""
    columns = list(_text_dates(raw_tables, parsed))
    for _, raw, column, values, failing in columns:
        if failing.len() < MIN_FAILING or failing.len() <= MOSTLY * values.len():
            continue
        declared = " or ".join(raw.date_formats)
        where = f"{raw.source_file} column {column}: {failing.len():,} of {values.len():,} dates are not in " \
                f"the declared form {declared}"
        if bool(failing.str.contains(EXCEL_SERIAL).all()):
            if settings.source.date_format not in raw.date_formats:
                return f"{where}: they are spreadsheet day numbers; {own_form(raw)}"
            return (f"{where}: they are spreadsheet day numbers; format the column as dates "
                    "(or as text yyyy-mm-dd) before saving the extract")
        fits = [(fmt, label) for fmt, label in DATE_FORMS if fmt not in raw.date_formats and _fits(failing, fmt)]
        if not fits:
            # Loaded, the whole column would be findings and its clocks withheld, the ingest "loaded".
            fix = (own_form(raw) if settings.source.date_format not in raw.date_formats
                   else "write the dates as yyyy-mm-dd in the extract, and an empty cell for no date")
            return f"{where}, nor in another date form this reader knows; {fix}"
        fmt, label = fits[0]
        also = [lab for f, lab in fits[1:] if lab.startswith("mm/dd")]
        either = f" (or {also[0]}: no day in the column is above 12, so the data cannot tell)" if also else ""
        return f"{where} but read as {label}{either}; {_fix(raw, settings, fmt, columns)}"
    return None
