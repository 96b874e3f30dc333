"""Snapshot guards (docs/input-formats.md, Snapshot guards): a good snapshot is never replaced by a broken one.

Compared with the snapshot in force, a new extract is refused when a table the snapshot holds rows
for is absent from it (a renamed, moved or forgotten file must never read as "no reviews"), or
when a table would load more than `ingest.max_shrink_share` fewer rows, or none where it had some.
An operator overrides one ingest with `--accept-missing TABLE` or `--accept-shrink`; the override
is stored with the ingest (`ingest_runs.overrides`). The first ingest into an empty store has
nothing to compare with and is not guarded.
"""

from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, Engine, func, select

from ehcp_monitor.db.models import SNAPSHOT_MODELS, IngestRun, SnapshotInfo
from ehcp_monitor.domain.canonical import TABLE_ORDER
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.ingest.source import SourceData, Unrecognised, nearest_name
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

HINT = "to load it anyway: ehcp-monitor ingest SOURCE"
# Files named in one refusal line; every one is in the log and the ingest's summary.
LINE_FILES = 5


def requested_overrides(accept_missing: Iterable[str], accept_shrink: bool) -> dict:
    """The overrides asked for, as stored with the ingest ({} when none); a table that is not a
    canonical table is bad usage (ConfigError, exit 2)."""
    tables = sorted({t.strip().lower() for t in accept_missing})
    for table in tables:
        if table not in TABLE_ORDER:
            near = nearest_name(table, TABLE_ORDER)
            hint = f" (did you mean {near}?)" if near else ""
            raise ConfigError(f"--accept-missing {table}: not a canonical table{hint}; "
                              f"the tables are {', '.join(TABLE_ORDER)}")
    if not tables and not accept_shrink:
        return {}
    return {"accept_missing": tables, "accept_shrink": bool(accept_shrink)}


def unrecognised_files(data: SourceData) -> list[dict]:
    """The source's unrecognised files as stored with the ingest, logged by name (file names are
    not personal data)."""
    if data.unrecognised:
        log.warning("files not recognised", source_kind=data.kind, files=len(data.unrecognised),
                    unrecognised_files=[u.shown() for u in data.unrecognised])
    return [{"file": u.file, "nearest": u.nearest} for u in data.unrecognised]


def rows_in_force(conn: Connection) -> dict[str, int] | None:
    """Rows per table of the snapshot in force (the tables it had), or None for an empty store.

    One SELECT count(*) per table: cheap even at national scale."""
    present = conn.execute(select(SnapshotInfo.tables_present)).scalar()
    if present is None:
        return None
    return {name: conn.execute(select(func.count()).select_from(SNAPSHOT_MODELS[name])).scalar_one()
            for name in TABLE_ORDER if name in present}


def not_recognised(table: str, unrecognised: list[Unrecognised]) -> str:
    if not unrecognised:
        return "every file of the source was recognised"
    # The files that resemble the missing table first: most likely the one renamed.
    ordered = sorted(unrecognised, key=lambda u: not (u.nearest or "").lower().startswith(table))
    shown = [u.shown() for u in ordered[:LINE_FILES]]
    more = len(ordered) - LINE_FILES
    return "not recognised: " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _tripped(table: str, before: int, after: int | None, data: SourceData, share: float) -> str | None:
    """The refusal line for one table, or None when it passes."""
    had = f"{table}: the snapshot in force has {before:,} row{'s' if before != 1 else ''}"
    if after is None:
        return (f"{had}, the new source has no {table} table; {not_recognised(table, data.unrecognised)}; "
                f"{HINT} --accept-missing {table}")
    if after == 0:
        return f"{had}, the new source would load none; {HINT} --accept-shrink"
    if before - after > share * before:
        return (f"{had}, the new source would load {after:,} ({(before - after) / before:.1%} fewer, more "
                f"than ingest.max_shrink_share {share:.0%}); {HINT} --accept-shrink")
    return None


def snapshot_guard(engine: Engine, settings, frames: dict[str, pl.DataFrame], data: SourceData, *,
                   accept_missing: Iterable[str] = (), accept_shrink: bool = False) -> str | None:
    """The one-line refusal when `frames` (the rows that would load) must not replace the snapshot
    in force, else None. An override lets its guard pass, logged table by table."""
    accepted = set(requested_overrides(accept_missing, accept_shrink).get("accept_missing", ()))
    with engine.connect() as conn:
        before = rows_in_force(conn)
    if before is None:
        return None
    problems = []
    for table, rows in before.items():
        after = frames[table].height if table in frames else None
        line = _tripped(table, rows, after, data, settings.ingest.max_shrink_share) if rows else None
        if line is None:
            continue
        overridden = table in accepted if after is None else accept_shrink
        if overridden:
            log.warning("snapshot guard overridden", table=table, rows=rows, rows_loaded=after or 0,
                        reason="accept_missing" if after is None else "accept_shrink")
        else:
            problems.append((table, line))
    if not problems:
        return None
    line = problems[0][1]
    if len(problems) > 1:
        line += f" (the guard also trips on {', '.join(t for t, _ in problems[1:])})"
    return line


def ingest_notes(engine: Engine, ingest_id: int) -> list[str]:
    """Lines for the ingest's output: each file not recognised, the columns not read, and any
    guard override."""
    with engine.connect() as conn:
        row = conn.execute(select(IngestRun.summary, IngestRun.overrides).where(IngestRun.id == ingest_id)).one()
    summary, overrides = row.summary or {}, row.overrides or {}
    lines = [f"not recognised: {Unrecognised(u['file'], u.get('nearest')).shown()}"
             for u in summary.get("unrecognised_files", [])]
    by_file: dict[str, list[str]] = {}
    for u in summary.get("unknown_columns", []):
        by_file.setdefault(u["file"], []).append(u["column"])
    lines += [f"columns not read (not canonical): {file}: {', '.join(columns)}" for file, columns in by_file.items()]
    if overrides.get("accept_missing"):
        lines.append(f"snapshot guard overridden: --accept-missing {' '.join(overrides['accept_missing'])}")
    if overrides.get("accept_shrink"):
        lines.append("snapshot guard overridden: --accept-shrink")
    return lines
