"""The report as files for the data team: every finding as CSV, and an XLSX workbook.

Every cell goes through safe_cells: a value read from a source file can never run as a formula.
"""

import io
import re

import polars as pl
import xlsxwriter

from ehcp_monitor import exports as safe_cells
from ehcp_monitor.data_quality.report import GROUP_KEY, DataQualityReport
from ehcp_monitor.db.quarantine import QUARANTINE_SCHEMA
from ehcp_monitor.exports import shown

_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
EXCEL_MAX_ROWS = 1_048_575  # below the header row
CSV_COLUMNS = ("ingest_id", *QUARANTINE_SCHEMA)
FINDING_LABELS = {
    "code": "Code", "table_name": "Table", "column_name": "Column", "source_file": "Source file",
    "source_line": "Line", "record_id": "Record ID", "action": "Action", "measure": "Clock withheld",
    "bad_value": "Value as read", "message": "Problem",
}
FINDING_COLUMNS = ("table_name", "column_name", "source_file", "source_line", "record_id", "action", "measure",
                   "bad_value", "message")
ACTION_LABELS = {"quarantined": "row quarantined", "withheld": "clock withheld", "cleared": "value cleared",
                 "warning": "warning"}
GROUP_LABELS = {
    "code": "Code", "title": "What is wrong", "table_name": "Table", "column_name": "Column",
    "findings": "Findings", "actions": "Action", "measures": "Clocks withheld",
    "example_1": "Example 1", "example_2": "Example 2", "example_3": "Example 3", "description": "Meaning",
}


def findings_csv(report: DataQualityReport | None) -> bytes:
    """Every finding with every stored column (raw column names), header only when there is none."""
    if report is None:
        return safe_cells.csv_bytes(pl.DataFrame(schema={"ingest_id": pl.Int64, **QUARANTINE_SCHEMA}))
    frame = report.findings.with_columns(ingest_id=pl.lit(report.ingest.id, pl.Int64))
    return safe_cells.csv_bytes(frame.select(CSV_COLUMNS))


def example_text() -> pl.Expr:
    """'requests.csv:4, record R1, value 31/02/2024' (value '(empty)' when none was read); control
    characters masked and long values cut, as in the text report (each code's sheet has them whole)."""
    where = pl.concat_str([shown(pl.col("source_file"), 200), pl.lit(":") + pl.col("source_line").cast(pl.Utf8)],
                          ignore_nulls=True)
    return pl.format("{}, record {}, value {}", where, shown(pl.col("record_id")).fill_null("-"),
                     shown(pl.col("bad_value")).fill_null("(empty)"))


def summary_table(report: DataQualityReport) -> pl.DataFrame:
    """The groups with their examples in three columns (the workbook's summary table)."""
    examples = (
        report.examples.with_columns(
            n=pl.format("example_{}", pl.int_range(1, pl.len() + 1).over(GROUP_KEY)), text=example_text()
        )
        .pivot("n", index=GROUP_KEY, values="text")
    )
    for name in ("example_1", "example_2", "example_3"):
        if name not in examples.columns:
            examples = examples.with_columns(pl.lit(None, pl.Utf8).alias(name))
    return report.groups.join(examples, on=GROUP_KEY, how="left", nulls_equal=True, maintain_order="left").select(
        list(GROUP_LABELS)
    )


def _headline_rows(report: DataQualityReport) -> list[tuple[str, object]]:
    ingest, h = report.ingest, report.headline
    rows = [("Ingest", ingest.id), ("Source kind", ingest.source_kind), ("As of", ingest.as_of),
            ("Status", ingest.status), ("Message", ingest.message),
            ("Rows read", h["rows_read"]), ("Rows loaded", h["rows_loaded"]),
            ("Rows quarantined", h["rows_quarantined"]), ("Cases", h["cases"]),
            ("Cases fully monitored", h["cases_fully_monitored"]),
            ("Share of cases fully monitored", h["share_fully_monitored"]), ("Findings", report.total)]
    rows += [(f"Findings ({ACTION_LABELS.get(action, action)})", n) for action, n in report.by_action.items()]
    return rows


def _widths(df: pl.DataFrame, labels: dict[str, str], first: int) -> list[int]:
    """Fitted to the longest value or header word; the first column also holds the headline labels."""
    longest = df.select(pl.all().cast(pl.Utf8).str.len_chars().max().fill_null(0)).row(0)
    longest = [max(n, first if i == 0 else 0) for i, n in enumerate(longest)]
    return [max(safe_cells.MIN_WIDTH, min(safe_cells.MAX_WIDTH, max(n, len(labels[c]) // 2) + 2))
            for c, n in zip(df.columns, longest, strict=True)]


def sheet_name(code: str) -> str:
    """A code as a sheet name: what Excel forbids in one replaced, at most 31 characters."""
    return _FORBIDDEN.sub("_", code)[:31].strip("'") or "_"


def write_summary_sheet(workbook: xlsxwriter.Workbook, title: str, report: DataQualityReport):
    """The ingest's figures (label, value), then the summary table: its header row frozen and
    filtered, widths fitted to the content."""
    formats = safe_cells.formats_for(workbook)
    percent = workbook.add_format({"num_format": "0.0%"})
    sheet = workbook.add_worksheet(title[:31])
    headline = _headline_rows(report)
    for row, (label, value) in enumerate(headline):
        safe_cells.write_cell(sheet, row, 0, label, formats)
        if label.startswith("Share") and value is not None:
            sheet.write_number(row, 1, float(value), percent)
        else:
            safe_cells.write_cell(sheet, row, 1, value, formats)
    table = summary_table(report)
    top = len(headline) + 1
    widths = _widths(table, GROUP_LABELS, first=max(len(label) for label, _ in headline))
    for col, (name, width) in enumerate(zip(table.columns, widths, strict=True)):
        sheet.write_string(top, col, GROUP_LABELS[name], formats.header)
        sheet.set_column(col, col, width)
    for row, values in enumerate(table.iter_rows(), start=top + 1):
        for col, value in enumerate(values):
            safe_cells.write_cell(sheet, row, col, value, formats)
    if table.height == 0:
        safe_cells.write_cell(sheet, top + 1, 0, "No findings: every row loaded as it was read.", formats)
    sheet.freeze_panes(top + 1, 0)
    sheet.autofilter(top, 0, top + max(table.height, 1), table.width - 1)
    return sheet


def write_findings_sheet(workbook: xlsxwriter.Workbook, title: str, found: pl.DataFrame, columns) -> None:
    """Every finding of `found` (the first EXCEL_MAX_ROWS: the CSV always has them all)."""
    safe_cells.write_sheet(workbook, title, found.head(EXCEL_MAX_ROWS).select(list(columns)), FINDING_LABELS)


def workbook_bytes(report: DataQualityReport) -> bytes:
    """The "Summary" sheet, then one sheet per code (every finding of that code, as stored)."""
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    write_summary_sheet(workbook, "Summary", report)
    by_code = report.findings.partition_by("code", as_dict=True, maintain_order=True)
    for (code,), found in sorted(by_code.items()):
        write_findings_sheet(workbook, sheet_name(code), found, FINDING_COLUMNS)
    workbook.close()
    return buffer.getvalue()
