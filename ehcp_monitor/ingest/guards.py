"""Snapshot guards (docs/input-formats.md, Snapshot guards): a good snapshot is never replaced by a broken one.

Compared with the snapshot in force, a new extract is refused when a table the snapshot holds rows
for is absent from it (a renamed, moved or forgotten file must never read as "no reviews"), when a
column the snapshot holds values for is absent from the new source's table (a renamed or dropped
column must never read as "no review decisions"), or when a table would load more than
`ingest.max_shrink_share` fewer rows, or none where it had some. An operator overrides one ingest
with `--accept-missing TABLE`, `--accept-missing TABLE.COLUMN` or `--accept-shrink`; the override
is stored with the ingest (`ingest_runs.overrides`). The first ingest into an empty store has
nothing to compare with and is not guarded.
"""

from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, update

from ehcp_monitor.db.models import SNAPSHOT_MODELS, IngestRun, SnapshotInfo, StoreSetting
from ehcp_monitor.domain.canonical import STEP_DONE_DATES, TABLE_ORDER, table_spec
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.ingest.source import SourceData, Unrecognised, nearest_name
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

HINT = "to load it anyway: ehcp-monitor ingest SOURCE"
# Columns no override lets go: loaded empty, each would undo what families asked for.
NEVER_MISSING = {
    "contacts.opted_out": "without it every contact reads as not opted out, and families who opted out "
                          "would be emailed; put the column back in the extract (blank where a contact "
                          "has not opted out)",
    "contacts.role": "without it every contact reads as a parent carer: the parent of a young person past "
                     "compulsory school age would be told instead of them, and a young person under it would be "
                     "written to as a parent; put the column back in the extract",
}
# Columns of NEVER_MISSING guarded against being emptied too (every value blank where the snapshot
# in force has at least EMPTIED_MIN): what to do instead of putting the column back.
NEVER_BLANK = {
    "contacts.role": "without it every contact reads as a parent carer: the parent of a young person past "
                     "compulsory school age would be told instead of them; export the roles again",
}
# Files named in one refusal line; every one is in the log and the ingest's summary.
LINE_FILES = 5


def requested_overrides(accept_missing: Iterable[str], accept_shrink: bool) -> dict:
    """The overrides asked for, as stored with the ingest ({} when none); a table that is not a
    canonical table is bad usage (ConfigError, exit 2)."""
    tables = sorted({t.strip().lower() for t in accept_missing})
    for name in tables:
        table, _, column = name.partition(".")
        if table not in TABLE_ORDER:
            near = nearest_name(table, TABLE_ORDER)
            hint = f" (did you mean {near}?)" if near else ""
            raise ConfigError(f"--accept-missing {name}: not a canonical table{hint}; "
                              f"the tables are {', '.join(TABLE_ORDER)}")
        columns = table_spec(table).column_names
        if column and column not in columns:
            near = nearest_name(column, columns)
            hint = f" (did you mean {table}.{near}?)" if near else ""
            raise ConfigError(f"--accept-missing {name}: {column} is not a column of table {table}{hint}; "
                              f"its columns are {', '.join(columns)}")
        if name in NEVER_MISSING:
            raise ConfigError(f"--accept-missing {name}: never accepted: {NEVER_MISSING[name]}")
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


def values_in_force(conn: Connection, table: str, columns: list[str]) -> dict[str, int]:
    """Values (not NULL) per column of a table of the snapshot in force: one SELECT for them all."""
    model = SNAPSHOT_MODELS[table]
    stored = [c for c in columns if c in model.__table__.c]
    if not stored:
        return {}
    counts = conn.execute(select(*[func.count(model.__table__.c[c]) for c in stored])).one()
    return dict(zip(stored, counts, strict=True))


# A column of dates that complete clocks, emptied (every value blank) where the snapshot in force
# has at least this many values, is taken for an export fault, as a column gone is.
EMPTIED_MIN = 20


def _emptied(frame: pl.DataFrame, column: str) -> bool:
    text = pl.col(column).cast(pl.Utf8).str.strip_chars().str.len_chars()
    return frame.height > 0 and not frame.select((text > 0).any()).item()


def columns_gone(conn: Connection, before: dict[str, int], data: SourceData) -> list[tuple[str, str, int, bool]]:
    """(table, column, values in force, emptied) for each column the snapshot in force holds values
    for that the new source's table does not have at all, or (a column of dates that complete
    clocks, or of NEVER_BLANK, with at least EMPTIED_MIN values in force) has with every value
    blank. Nothing is counted unless a column is absent or blank."""
    gone = []
    for table, rows in before.items():
        if not rows or table not in data.tables:
            continue
        frame = data.tables[table].frame
        absent = [c for c in table_spec(table).column_names if c not in frame.columns]
        if absent:
            gone += [(table, c, n, False) for c, n in values_in_force(conn, table, absent).items() if n]
        guarded = [c for t, c, _ in STEP_DONE_DATES if t == table] + [
            n.partition(".")[2] for n in NEVER_BLANK if n.startswith(f"{table}.")]
        blank = [c for c in guarded if c in frame.columns and _emptied(frame, c)]
        if blank:
            gone += [(table, c, n, True) for c, n in values_in_force(conn, table, blank).items() if n >= EMPTIED_MIN]
    return gone


# The most contacts any loaded snapshot has had opted out (store_settings): opt-outs once recorded
# are never lost in two steps (a contacts table accepted missing, then one without the column).
OPT_OUTS_KEY = "ingest.opt_outs_recorded"


def _opt_outs(frame: pl.DataFrame) -> int:
    return int(frame.select(pl.col("opted_out").fill_null(False).sum()).item()) if "opted_out" in frame.columns else 0


def record_opt_outs(conn: Connection, frames: dict[str, pl.DataFrame]) -> None:
    """Keep the most contacts a loaded snapshot has had opted out (OPT_OUTS_KEY), in the ingest's transaction."""
    count = _opt_outs(frames["contacts"]) if "contacts" in frames else 0
    recorded = conn.execute(select(StoreSetting.value).where(StoreSetting.key == OPT_OUTS_KEY)).scalar()
    if recorded is None and count:
        conn.execute(insert(StoreSetting).values(key=OPT_OUTS_KEY, value=str(count), set_at=func.now()))
    elif recorded is not None and count > int(recorded):
        conn.execute(update(StoreSetting).where(StoreSetting.key == OPT_OUTS_KEY)
                     .values(value=str(count), set_at=func.now()))


def opt_outs_lost(conn: Connection, before: dict[str, int], frames: dict[str, pl.DataFrame], data: SourceData,
                  gone: list[tuple[str, str, int, bool]]) -> str | None:
    """The refusal line when the new source's contacts would lose the opt-outs: those of the
    snapshot in force, or, where it holds no contacts (their table accepted missing), the most any
    loaded snapshot had (OPT_OUTS_KEY). The column absent where there were any, or there with
    nobody opted out where at least EMPTIED_MIN were: every family who opted out would be emailed,
    so no override lets it through."""
    if "contacts" not in data.tables or "contacts" not in frames or any(
            (t, c) == ("contacts", "opted_out") for t, c, _, _ in gone):
        return None  # no contacts table (nobody is told), or the column gone from the snapshot in force
    if before.get("contacts"):
        contact = SNAPSHOT_MODELS["contacts"].__table__
        opted_out = conn.execute(select(func.count()).select_from(contact).where(contact.c.opted_out.is_(True))
                                 ).scalar() or 0
        had = f"the snapshot in force has {opted_out:,} contact{'s' if opted_out != 1 else ''} opted out"
    else:
        opted_out = int(conn.execute(select(StoreSetting.value).where(StoreSetting.key == OPT_OUTS_KEY)).scalar() or 0)
        had = (f"{opted_out:,} contact{' was' if opted_out == 1 else 's were'} opted out before the contacts were "
               "left out")
    if "opted_out" not in data.tables["contacts"].frame.columns:
        if not opted_out:
            return None
        return (f"contacts.opted_out: {had}, the new source's contacts has no opted_out column (renamed or left "
                f"out?); {NEVER_MISSING['contacts.opted_out']}")
    if opted_out < EMPTIED_MIN or _opt_outs(frames["contacts"]):
        return None
    return (f"contacts.opted_out: {had}, the new source's contacts would load none (blanked or reset by the "
            "export?); families who opted out would be emailed; export the opt-outs again")


def _column_line(table: str, column: str, values: int, emptied: bool, data: SourceData) -> str:
    raw = data.tables[table]
    unread = f"; columns not read in {raw.source_file}: {', '.join(raw.unknown_columns[:LINE_FILES])}" \
        if raw.unknown_columns and not emptied else ""
    seen = (f"every {column} of the new source's {table} is blank (emptied by the export?)" if emptied
            else f"the new source's {table} has no {column} column (renamed or left out?)")
    name = f"{table}.{column}"
    way_on = (NEVER_BLANK if emptied else NEVER_MISSING).get(name, f"{HINT} --accept-missing {name}")
    return (f"{table}.{column}: the snapshot in force has {values:,} value{'s' if values != 1 else ''}, {seen}"
            f"{unread}; {way_on}")


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
        gone = columns_gone(conn, before, data) if before is not None else []
        opt_outs = opt_outs_lost(conn, before, frames, data, gone) if before is not None else None
    if before is None:
        return None
    problems = [("contacts.opted_out", opt_outs)] if opt_outs else []
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
    for table, column, values, emptied in gone:
        name = f"{table}.{column}"
        if name in accepted:
            # `table` names the column too: the log's allow-list keeps no `column` key.
            log.warning("snapshot guard overridden", table=name, counts={"values": values}, reason="accept_missing")
        else:
            problems.append((name, _column_line(table, column, values, emptied, data)))
    if not problems:
        return None
    line = problems[0][1]
    if len(problems) > 1:
        line += f" (the guard also trips on {', '.join(t for t, _ in problems[1:])})"
    return line


def ingest_notes(engine: Engine, ingest_id: int) -> list[str]:
    """Lines for the ingest's output: each file not recognised, the columns not read, the done
    dates gone (ingest/gone_dates.py), and any guard override."""
    with engine.connect() as conn:
        row = conn.execute(select(IngestRun.summary, IngestRun.overrides).where(IngestRun.id == ingest_id)).one()
    summary, overrides = row.summary or {}, row.overrides or {}
    lines = [f"not recognised: {Unrecognised(u['file'], u.get('nearest')).shown()}"
             for u in summary.get("unrecognised_files", [])]
    by_file: dict[str, list[str]] = {}
    for u in summary.get("unknown_columns", []):
        by_file.setdefault(u["file"], []).append(u["column"])
    lines += [f"columns not read (not canonical): {file}: {', '.join(columns)}" for file, columns in by_file.items()]
    gone = summary.get("gone_dates") or {}
    if gone.get("cases"):
        columns = ", ".join(f"{column} {n}" for column, n in gone["by_column"].items())
        cases = f"{gone['cases']} case{'s' if gone['cases'] != 1 else ''}"
        lines.append(f"done dates gone since the extract before: {cases} ({columns}); their apologies, updates "
                     "and review reminders are held for a person "
                     "(`ehcp-monitor touchpoints list --status held`)")
    if overrides.get("accept_missing"):
        lines.append(f"snapshot guard overridden: --accept-missing {' '.join(overrides['accept_missing'])}")
    if overrides.get("accept_shrink"):
        lines.append("snapshot guard overridden: --accept-shrink")
    return lines
