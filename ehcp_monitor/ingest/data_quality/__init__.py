"""The data quality report of an ingest, for the data team (input-format.md section 4).

`ehcp-monitor quarantine` shows it; the weekly late list carries its summary (outputs.md 3).
"""

from ehcp_monitor.ingest.data_quality.files import findings_csv, workbook_bytes
from ehcp_monitor.ingest.data_quality.report import DataQualityReport, build_report, load_report
from ehcp_monitor.ingest.data_quality.text import finding_lines, summary_lines

__all__ = ["DataQualityReport", "build_report", "finding_lines", "findings_csv", "load_report", "summary_lines",
           "workbook_bytes"]
