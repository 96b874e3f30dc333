"""Dates a person would recognise (issue: a UK-dated extract read as ISO).

Dates are read only in the declared format (input-format.md section 1: never guessed). But when
most of a date column fails that format and every failing value reads cleanly in one other common
form, the extract was written in that form: the ingest is refused with one line naming the file,
the column, the form that fits and the setting to change, instead of quarantining every row. The
line quotes no value (a date of birth is personal data).
"""

import polars as pl

from ehcp_monitor.ingest.source import RawTable
from ehcp_monitor.schema.canonical import DATE, table_spec
from ehcp_monitor.schema.date_forms import DATE_FORMS, DECLARABLE

EXCEL_SERIAL = r"^\d{5}(\.0+)?$"
# More than this share of a column's values failing the declared format is a format, not a typo.
MOSTLY = 0.5


def _fits(values: pl.Series, fmt: str) -> bool:
    parsed = values.str.strptime(pl.Date, fmt, strict=False)
    ok = parsed.is_not_null() & parsed.dt.year().is_between(1900, 2100)
    return bool(ok.all())


def _setting_hint(raw: RawTable, settings, fmt: str) -> str:
    if settings.source.date_format in raw.date_formats and fmt in DECLARABLE:
        return f'set source.date_format = "{fmt}" in the config file'
    return "write the dates as yyyy-mm-dd in the extract"


def misread_dates(raw_tables: dict[str, RawTable], parsed: dict[str, pl.DataFrame], settings) -> str | None:
    """One line naming a date column written in another recognisable form, or None."""
    for name, raw in raw_tables.items():
        for col in table_spec(name).columns:
            if col.kind != DATE or col.name not in raw.frame.columns or raw.frame.schema[col.name] != pl.Utf8:
                continue
            both = pl.DataFrame({"raw": raw.frame[col.name], "parsed": parsed[name][col.name]})
            values = both.filter(pl.col("raw").is_not_null())
            failing = values.filter(pl.col("parsed").is_null())["raw"]
            if failing.is_empty() or failing.len() <= MOSTLY * values.height:
                continue
            declared = " or ".join(raw.date_formats)
            where = f"{raw.source_file} column {col.name}: {failing.len():,} of {values.height:,} dates are not in " \
                    f"the declared form {declared}"
            if bool(failing.str.contains(EXCEL_SERIAL).all()):
                return (f"{where}: they are spreadsheet day numbers; format the column as dates "
                        "(or as text yyyy-mm-dd) before saving the extract")
            fits = [(fmt, label) for fmt, label in DATE_FORMS
                    if fmt not in raw.date_formats and _fits(failing, fmt)]
            if not fits:
                continue
            fmt, label = fits[0]
            also = [lab for f, lab in fits[1:] if lab.startswith("mm/dd")]
            either = f" (or {also[0]}: no day in the column is above 12, so the data cannot tell)" if also else ""
            return f"{where} but read as {label}{either}; {_setting_hint(raw, settings, fmt)}"
    return None
