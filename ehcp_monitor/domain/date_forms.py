"""The date forms an extract may declare (`source.date_format`), and how a person writes each.

Dates are never guessed (docs/input-formats.md, Canonical extracts): an extract declares one of these, and the
ingest names the one that fits when a column was written in another (ingest.date_formats).
"""

# (strptime format, how a person writes it)
DATE_FORMS = (
    ("%d/%m/%Y", "dd/mm/yyyy"),
    ("%Y-%m-%d", "yyyy-mm-dd"),
    ("%Y-%b-%d %H:%M:%S", "SEN2's yyyy-Mon-dd 00:00:00"),
    ("%d-%m-%Y", "dd-mm-yyyy"),
    ("%d.%m.%Y", "dd.mm.yyyy"),
    ("%Y/%m/%d", "yyyy/mm/dd"),
    ("%d/%m/%Y %H:%M:%S", "dd/mm/yyyy hh:mm:ss"),
    ("%Y-%m-%d %H:%M:%S", "yyyy-mm-dd hh:mm:ss"),
    ("%d/%m/%y", "dd/mm/yy"),
    ("%d %b %Y", "dd Mon yyyy"),
    ("%d-%b-%Y", "dd-Mon-yyyy"),
    ("%m/%d/%Y", "mm/dd/yyyy (US)"),
)
# A US month-first extract is named when seen, but not declarable: in an English LA it is far more
# likely a spreadsheet's locale gone wrong than the case system's form, so it is fixed at source.
DECLARABLE = tuple(fmt for fmt, _ in DATE_FORMS if fmt != "%m/%d/%Y")
