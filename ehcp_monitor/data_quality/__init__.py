"""The data quality report of an ingest, for the data team (docs/operations.md, The data quality report).

`ehcp-monitor quarantine` shows it; the weekly late list carries its summary
(docs/late-list.md, Data quality of the last ingest).
"""

from ehcp_monitor.data_quality.files import findings_csv, workbook_bytes
from ehcp_monitor.data_quality.report import (
           DataQualityReport,
           build_report,
           load_report,
)
from ehcp_monitor.data_quality.text import finding_lines, summary_lines

__all__ = ["DataQualityReport", "build_report", "finding_lines", "findings_csv", "load_report", "summary_lines",
           "workbook_bytes"]
