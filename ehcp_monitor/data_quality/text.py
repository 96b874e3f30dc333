"""The report as terminal lines (`ehcp-monitor quarantine`) and as sentences (the weekly list).

Values come from the source files, so before they reach a terminal their control characters are
masked (no escape sequence can run) and long ones are cut.
"""

import re

from ehcp_monitor.data_quality.findings import MASK
from ehcp_monitor.data_quality.report import DataQualityReport
from ehcp_monitor.domain.findings import CONTROL_CHARS

VALUE_LIMIT, MESSAGE_LIMIT = 40, 200
_CONTROL = re.compile(CONTROL_CHARS)
ACTION_NOUNS = {"warning": ("warning", "warnings")}


def plain(value, limit: int = VALUE_LIMIT) -> str:
    """One value fit for a terminal line."""
    if value is None:
        return ""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[:limit] + "..."


def _value(bad_value) -> str:
    if bad_value is None:
        return "(empty)"
    return MASK if bad_value == MASK else f"'{plain(bad_value)}'"


def _place(table: str, column: str | None) -> str:
    return f"{table}.{column}" if column else table


def _where(source_file, source_line) -> str:
    place = plain(source_file, MESSAGE_LIMIT)
    return f"{place}:{source_line}" if source_line is not None else place


def _n(n) -> str:
    return f"{n:,}" if n is not None else "?"


def _noun(action: str, n: int) -> str:
    one, many = ACTION_NOUNS.get(action, (action, action))
    return one if n == 1 else many


def actions_text(by_action: dict[str, int]) -> str:
    """'2 quarantined, 4 withheld, 0 cleared, 1 warning'."""
    return ", ".join(f"{n:,} {_noun(a, n)}" for a, n in by_action.items())


def headline_sentences(report: DataQualityReport) -> list[str]:
    """The ingest, its rows and cases, and the findings by action: a few lines of plain English."""
    ingest, h = report.ingest, report.headline
    lines = [f"ingest #{ingest.id} ({ingest.source_kind}, as of {ingest.as_of.isoformat()}): {ingest.status}"
             + (f", {plain(ingest.message, MESSAGE_LIMIT)}" if ingest.message else "")]
    if h["rows_read"] is not None:
        lines.append(f"rows read {_n(h['rows_read'])}, loaded {_n(h['rows_loaded'])}, "
                     f"quarantined {_n(h['rows_quarantined'])}")
    if h["cases"] is not None and h["cases_fully_monitored"] is not None:
        share = h["share_fully_monitored"]
        share_text = f" ({share:.1%})" if share is not None else ""
        lines.append(f"cases fully monitored: {_n(h['cases_fully_monitored'])} of {_n(h['cases'])}{share_text}")
    lines.append(f"findings: {report.total:,} ({actions_text(report.by_action)})")
    return lines


def summary_lines(report: DataQualityReport) -> list[str]:
    """Headline, then each code, table and column with its count, action(s) and examples."""
    lines = headline_sentences(report)
    if report.total == 0:
        return [*lines, "", "no findings: every row loaded as it was read"]
    lines.append("")
    for g in report.group_rows():
        title = f" {g['title']}" if g["title"] else ""
        actions = g["actions"] + (f": {g['measures']}" if g["measures"] else "")
        noun = "finding" if g["findings"] == 1 else "findings"
        lines.append(f"{g['code']}{title}: {_place(g['table_name'], g['column_name'])}, "
                     f"{g['findings']:,} {noun} ({actions})")
        for e in g["examples"]:
            lines.append(f"    {_where(e['source_file'], e['source_line'])}  record {plain(e['record_id']) or '-'}"
                         f"  value {_value(e['bad_value'])}")
        if g["findings"] > len(g["examples"]):
            lines.append(f"    ... and {g['findings'] - len(g['examples']):,} more (--all lists every finding)")
    return lines


def finding_lines(report: DataQualityReport) -> list[str]:
    """Every finding, one line each, in the order the ingest stored them."""
    lines = []
    for r in report.findings.iter_rows(named=True):
        action = r["action"] + (f" {r['measure']}" if r["measure"] else "")
        column = f" [{r['column_name']}]" if r["column_name"] else ""
        lines.append(f"{r['code']} {action} {r['table_name']} {plain(r['record_id']) or '-'} at "
                     f"{_where(r['source_file'], r['source_line'])}{column}: {plain(r['message'], MESSAGE_LIMIT)}")
    return lines
