"""What an ingest did, in numbers (docs/input-formats.md, Bad input): rows read, loaded and quarantined
by code, clocks withheld by code, values cleared by code, warnings by code, and the share of cases
(requests and plans) fully monitored."""

import polars as pl

from ehcp_monitor.domain.canonical import TABLE_ORDER
from ehcp_monitor.ingest.disposition import CLEARED, QUARANTINED, WARNING, WITHHELD
from ehcp_monitor.ingest.source import ROW, SourceData

# The tables whose rows are cases: a quarantined one is a case lost (ingest.max_reject_share).
CASE_TABLES = {"requests": "request_id", "plans": "plan_id"}


def _by_code(findings: pl.DataFrame, action: str, distinct_rows: bool) -> dict[str, int]:
    mine = findings.filter(pl.col("action") == action)
    n = pl.col(ROW).n_unique() if distinct_rows else pl.len()
    grouped = mine.group_by("code").agg(n.alias("n")).sort("code")
    return dict(zip(grouped["code"].to_list(), grouped["n"].to_list(), strict=False))


def table_counts(source: SourceData, findings: pl.DataFrame) -> dict[str, dict]:
    """{table: {read, loaded, quarantined, by_code (quarantined rows), withheld_by_code,
    cleared_by_code, warnings_by_code}}, in load order."""
    counts = {}
    for name in TABLE_ORDER:
        if name not in source.tables:
            continue
        mine = findings.filter(pl.col("table_name") == name)
        read = source.tables[name].frame.height
        bad = mine.filter(pl.col("action") == QUARANTINED)[ROW].n_unique()
        counts[name] = {
            "read": read, "loaded": read - bad, "quarantined": bad,
            "by_code": _by_code(mine, QUARANTINED, True),
            "withheld_by_code": _by_code(mine, WITHHELD, False),
            "cleared_by_code": _by_code(mine, CLEARED, False),
            "warnings_by_code": _by_code(mine, WARNING, False),
        }
    return counts


def _merged(counts: dict[str, dict], key: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts.values():
        for code, n in c[key].items():
            total[code] = total.get(code, 0) + n
    return dict(sorted(total.items()))


def summarise(counts: dict[str, dict], frames: dict[str, pl.DataFrame], withheld: pl.DataFrame) -> dict:
    """The whole ingest. `frames` are the rows that load; `withheld` the withheld clocks."""
    cases = sum(counts[t]["read"] for t in CASE_TABLES if t in counts)
    monitored = 0
    for table, key in CASE_TABLES.items():
        if table in frames:
            touched = withheld[key].drop_nulls().unique().implode()
            monitored += frames[table].filter(~pl.col(key).is_in(touched)).height
    by_code = withheld.group_by("code").len().sort("code")
    return {
        "rows_read": sum(c["read"] for c in counts.values()),
        "rows_loaded": sum(c["loaded"] for c in counts.values()),
        "rows_quarantined": sum(c["quarantined"] for c in counts.values()),
        "quarantined_by_code": _merged(counts, "by_code"),
        "withheld_by_code": dict(zip(by_code["code"].to_list(), by_code["len"].to_list(), strict=False)),
        "cleared_by_code": _merged(counts, "cleared_by_code"),
        "warnings_by_code": _merged(counts, "warnings_by_code"),
        "cases": cases,
        "cases_fully_monitored": monitored,
        "share_fully_monitored": round(monitored / cases, 4) if cases else 1.0,
    }


def cases_lost_over(counts: dict[str, dict], share: float) -> str | None:
    """The refusal line when a case table lost more than `share` of its rows, else None.
    Withheld clocks, cleared values and warnings never count: only cases lost."""
    for table in CASE_TABLES:
        c = counts.get(table)
        if c and c["read"] and c["quarantined"] / c["read"] > share:
            return (f"table {table}: {c['quarantined']} of {c['read']} rows quarantined "
                    f"({c['quarantined'] / c['read']:.1%}), more than ingest.max_reject_share "
                    f"{share:.0%}; see `ehcp-monitor quarantine`")
    return None
