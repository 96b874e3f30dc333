"""The data quality report of one ingest: headline, findings grouped by code, table and column.

Composed in polars from the stored findings (docs/input-formats.md, Bad input); nothing is re-validated.
"""

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.data_quality.findings import IngestRecord, findings, ingest_record
from ehcp_monitor.db.quarantine import QUARANTINE_SCHEMA
from ehcp_monitor.domain.findings import ACTIONS, FINDING_CODES

GROUP_KEY = ["code", "table_name", "column_name"]
EXAMPLES_PER_GROUP = 3
GROUP_SCHEMA = {
    "code": pl.Utf8, "title": pl.Utf8, "description": pl.Utf8, "table_name": pl.Utf8, "column_name": pl.Utf8,
    "findings": pl.Int64, "actions": pl.Utf8, "measures": pl.Utf8,
}
EXAMPLE_COLUMNS = ("source_file", "source_line", "record_id", "bad_value")


def code_titles() -> pl.DataFrame:
    """code -> title, description, for every finding code (domain.findings.FINDING_CODES)."""
    rows = [(code, title, description) for code, (title, description) in FINDING_CODES.items()]
    return pl.DataFrame(rows, schema={"code": pl.Utf8, "title": pl.Utf8, "description": pl.Utf8}, orient="row")


@dataclass
class DataQualityReport:
    ingest: IngestRecord
    # rows_read, rows_loaded, rows_quarantined, cases, cases_fully_monitored, share_fully_monitored:
    # None where the ingest did not record it (a refused ingest, an older store).
    headline: dict[str, Any]
    # findings of each action (quarantined, withheld, cleared, warning), counted from the findings
    by_action: dict[str, int]
    groups: pl.DataFrame  # GROUP_SCHEMA, sorted by code, table, column
    examples: pl.DataFrame  # GROUP_KEY + EXAMPLE_COLUMNS, at most EXAMPLES_PER_GROUP a group
    findings: pl.DataFrame  # every finding, as stored (QUARANTINE_SCHEMA), personal values masked

    @property
    def total(self) -> int:
        return self.findings.height

    def group_rows(self) -> list[dict]:
        """Each group as a dict with its `examples` (a list of dicts), for the templates and text."""
        examples = self.examples.group_by(GROUP_KEY, maintain_order=True).agg(
            examples=pl.struct(list(EXAMPLE_COLUMNS))
        )
        joined = self.groups.join(examples, on=GROUP_KEY, how="left", nulls_equal=True, maintain_order="left")
        return joined.to_dicts()


def _headline(ingest: IngestRecord) -> dict[str, Any]:
    summary, counts = ingest.summary, ingest.counts
    headline: dict[str, Any] = {}
    for key, part in (("rows_read", "read"), ("rows_loaded", "loaded"), ("rows_quarantined", "quarantined")):
        if key in summary:
            headline[key] = summary[key]
        elif counts and all(part in c for c in counts.values()):
            headline[key] = sum(int(c[part]) for c in counts.values())
        else:
            headline[key] = None
    for key in ("cases", "cases_fully_monitored", "share_fully_monitored"):
        headline[key] = summary.get(key)
    return headline


def _actions_text(f: pl.DataFrame) -> pl.DataFrame:
    """Per group: the action alone when there is one, else each action with its count."""
    rank = {a: i for i, a in enumerate(ACTIONS)}
    per_action = (
        f.group_by([*GROUP_KEY, "action"])
        .agg(n=pl.len())
        .with_columns(_rank=pl.col("action").replace_strict(rank, default=len(rank), return_dtype=pl.Int32))
        .sort(["_rank", "action"])
    )
    return per_action.group_by(GROUP_KEY).agg(
        actions=pl.when(pl.len() == 1)
        .then(pl.col("action").first())
        .otherwise(pl.format("{} {}", "action", "n").str.join(", "))
    )


def _measures_text(f: pl.DataFrame) -> pl.DataFrame:
    return (
        f.filter(pl.col("measure").is_not_null())
        .group_by(GROUP_KEY)
        .agg(measures=pl.col("measure").unique().sort().str.join(", "))
    )


def build_report(ingest: IngestRecord, found: pl.DataFrame) -> DataQualityReport:
    found = found.select(list(QUARANTINE_SCHEMA))
    join = {"on": GROUP_KEY, "how": "left", "nulls_equal": True}
    groups = (
        found.group_by(GROUP_KEY)
        .agg(findings=pl.len().cast(pl.Int64))
        .join(_actions_text(found), **join)
        .join(_measures_text(found), **join)
        .join(code_titles(), on="code", how="left")
        .sort(GROUP_KEY, nulls_last=False)
        .select(list(GROUP_SCHEMA))
    )
    examples = found.filter(pl.int_range(pl.len()).over(GROUP_KEY) < EXAMPLES_PER_GROUP).select(
        *GROUP_KEY, *EXAMPLE_COLUMNS
    )
    counted = dict(found.group_by("action").len().iter_rows())
    return DataQualityReport(
        ingest=ingest,
        headline=_headline(ingest),
        by_action={a: int(counted.get(a, 0)) for a in ACTIONS},
        groups=groups,
        examples=examples,
        findings=found,
    )


def load_report(conn: Connection, ingest_id: int | None = None) -> DataQualityReport | None:
    """The report of ingest `ingest_id` (default: the last, loaded or refused); None when none."""
    ingest = ingest_record(conn, ingest_id)
    if ingest is None:
        return None
    return build_report(ingest, findings(conn, ingest.id))
