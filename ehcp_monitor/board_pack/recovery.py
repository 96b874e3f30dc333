"""The pack's annual review recovery and capacity sections (docs/board-pack.md).

The shared computations of ehcp_monitor.review_recovery and ehcp_monitor.capacity, by team and by
case officer (the officers' tables only in the internal pack: a published pack names no member of
staff), on the date of the last check: they read the stored
results, which are as of that date. A check dated after the pack's as-of date is not used (nothing
after the as-of date is counted); the section then says so.
"""

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine, select

from ehcp_monitor.board_pack.kpis import Table
from ehcp_monitor.capacity import READY_WEEKS, capacity_for
from ehcp_monitor.db.models import CheckRun
from ehcp_monitor.review_recovery import (
    ALL,
    OVERDUE_BANDS,
    RECOVERY_COLUMNS,
    backlog_trend,
    history_since,
    read_recovery_frames,
    recovery_table,
    review_frames,
)

NO_CHECK = "no check"


@dataclass
class PackRecovery:
    as_of: date | None  # the check's date; None when no check can be used
    note: str  # why there is no section, or ""
    teams: Table | None = None
    trend: Table | None = None
    officers: Table | None = None  # None in a published pack
    officer_trend: Table | None = None
    overall: dict | None = None
    capacity: str = ""
    ready_weeks: int = READY_WEEKS


def _teams_table(frame: pl.DataFrame, as_of: date, by: str = "team") -> Table:
    counts = [c for c, _ in RECOVERY_COLUMNS[:11]]  # the counts; then the net fall and the clearing date
    rows = []
    for r in frame.iter_rows(named=True):
        net = "" if r["net_per_week"] is None else f"{r['net_per_week']:.1f}"
        rows.append([r[by], *["not known" if r[c] is None else r[c] for c in counts], net, r["clears"]])
    overdue = counts.index("overdue") + 1
    who = "team" if by == "team" else "case officer"
    return Table(
        f"Annual reviews on {as_of.day} {as_of:%B %Y}: overdue, due, completed and when the backlog clears, by {who}",
        ["Team" if by == "team" else "Case officer", *[label for _, label in RECOVERY_COLUMNS]],
        rows,
        count_columns=set(range(1, len(counts) + 1)),
        total_row=True,
        pairs=tuple((i + 1, overdue) for i in range(len(OVERDUE_BANDS))),
        note="Overdue by time past the due date. Due in the next 4, 8 and 12 weeks: open reviews due in those "
        "windows. The backlog clears at the last 4 weeks' net fall a week (overdue 4 weeks ago less overdue "
        "now, over 4); \"not clearing\" when it did not fall.",
    )


def _officer_trend_table(history: pl.DataFrame, as_of: date) -> Table:
    """One row per case officer, one column per week (newest first)."""
    trend = backlog_trend(history, as_of, by="case_officer")
    weeks = trend["week_ending"].unique().sort(descending=True).to_list()
    found = {(w, o): n for w, o, n in trend.select("week_ending", "case_officer", "backlog").iter_rows()}
    officers = sorted(trend["case_officer"].unique().to_list())
    rows = [[o, *[NO_CHECK if found.get((w, o)) is None else found[(w, o)] for w in weeks]] for o in officers]
    return Table("Overdue annual reviews at the end of each of the last 12 weeks, by case officer",
                 ["Case officer", *[f"{w.day} {w:%b}" for w in weeks]], rows,
                 count_columns=set(range(1, len(weeks) + 1)),
                 note="From the stored results of the latest check of each week; newest week first.")


def _trend_table(history: pl.DataFrame, as_of: date) -> Table:
    total = backlog_trend(history, as_of)
    by_team = backlog_trend(history, as_of, by="team")
    teams = sorted(by_team["team"].unique().to_list())
    found = {(w, t): n for w, t, n in by_team.select("week_ending", "team", "backlog").iter_rows()}
    rows = []
    for week, n in total.select("week_ending", "backlog").iter_rows():
        cells = [NO_CHECK if found.get((week, t)) is None else found[(week, t)] for t in teams]
        rows.append([f"{week.day} {week:%b %Y}", *cells, NO_CHECK if n is None else n])
    return Table("Overdue annual reviews at the end of each of the last 12 weeks, by team",
                 ["Week ending", *teams, "All teams"], rows, count_columns=set(range(1, len(teams) + 2)),
                 note="From the stored results of the latest check of each week.")


def pack_recovery(engine: Engine, settings, as_of: date, *, publish: bool = False) -> PackRecovery:
    with engine.connect() as conn:
        check_as_of = conn.execute(select(CheckRun.as_of).order_by(CheckRun.id.desc()).limit(1)).scalar()
        if check_as_of is None:
            return PackRecovery(None, "No check has run yet.")
        if check_as_of > as_of:
            return PackRecovery(None, f"The last check ({check_as_of:%d/%m/%Y}) is dated after the pack's date; "
                                      "review recovery and capacity are shown in packs dated on or after it.")
        frames = read_recovery_frames(conn, since=history_since(check_as_of))
    reviews, history = review_frames(frames)
    teams = recovery_table(reviews, history, check_as_of, by="team")
    overall = teams.filter(pl.col("team") == ALL).row(0, named=True)
    capacity = capacity_for(frames.results, check_as_of, target_percent=settings.recovery.target_percent,
                            month_setting=settings.recovery.target_month)
    officers = officer_trend = None
    if not publish:
        officers = _teams_table(recovery_table(reviews, history, check_as_of, by="case_officer"), check_as_of,
                                by="case_officer")
        officer_trend = _officer_trend_table(history, check_as_of)
    return PackRecovery(check_as_of, "", _teams_table(teams, check_as_of), _trend_table(history, check_as_of),
                        officers, officer_trend, overall, capacity.sentence())
