"""The list's targets, annual review recovery and capacity sections (docs/late-list.md).

Targets: per case officer and team, last week's plans issued and reviews completed against the
weekly targets of `[late_list.targets]`, and the plans and reviews that fall due this week. Recovery
and capacity are the shared computations of ehcp_monitor.review_recovery and ehcp_monitor.capacity,
on the same results date as the rest of the list.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from ehcp_monitor.capacity import Capacity, capacity_for
from ehcp_monitor.config import Settings
from ehcp_monitor.domain.vocabulary import OPEN_STATUSES
from ehcp_monitor.review_recovery import (
    NO_NAME,
    RECOVERY_COLUMNS,
    TREND_WEEKS,
    RecoveryFrames,
    backlog_trend,
    recovery_table,
    review_frames,
    with_owner,
)

TARGET_COLUMNS = (
    ("plans_issued", "Plans issued last week"),
    ("plans_target", "Plans target a week"),
    ("plans_against_target", "Plans against target"),
    ("reviews_completed", "Reviews completed last week"),
    ("reviews_target", "Reviews target a week"),
    ("reviews_against_target", "Reviews against target"),
    ("plans_due", "Plans due this week"),
    ("reviews_due", "Reviews due this week"),
)
OFFICER_TARGET_COLUMNS = (("case_officer", "Case officer"), ("team", "Team"), *TARGET_COLUMNS)
TEAM_TARGET_COLUMNS = (("team", "Team"), *TARGET_COLUMNS)
OFFICER_RECOVERY_COLUMNS = (("case_officer", "Case officer"), *RECOVERY_COLUMNS)
TEAM_RECOVERY_COLUMNS = (("team", "Team"), *RECOVERY_COLUMNS)


@dataclass
class ListRecovery:
    as_of: date  # the results date every figure is on
    officer_targets: pl.DataFrame
    team_targets: pl.DataFrame
    recovery_all: pl.DataFrame  # one row
    recovery_teams: pl.DataFrame
    recovery_officers: pl.DataFrame
    trend: pl.DataFrame  # week_ending, then one column per team and "All"
    trend_columns: tuple[tuple[str, str], ...]
    officer_trend: pl.DataFrame  # case_officer, then one column per week, newest first
    officer_trend_columns: tuple[tuple[str, str], ...]
    capacity: Capacity


def _against(done: str, target: str) -> pl.Expr:
    short = pl.col(target) - pl.col(done)
    return (
        pl.when(pl.col(target).is_null()).then(pl.lit("no target"))
        .when(short <= 0).then(pl.lit("met"))
        .otherwise(pl.format("{} short", short))
    )


def _officer_targets(settings: Settings, officers: pl.DataFrame) -> pl.DataFrame:
    """Each officer's weekly targets: their own override, else their team's (per officer)."""
    teams = settings.late_list.targets.teams
    overrides = settings.late_list.targets.officers
    rows: list[tuple[int | None, int | None]] = []
    for officer, team in officers.select("case_officer", "team").iter_rows():
        if officer == NO_NAME:
            rows.append((None, None))
            continue
        base = {**teams.get(team, {}), **overrides.get(officer, {})}
        rows.append((base.get("plans_per_week"), base.get("reviews_per_week")))
    return officers.with_columns(
        pl.Series("plans_target", [p for p, _ in rows], dtype=pl.Int64),
        pl.Series("reviews_target", [r for _, r in rows], dtype=pl.Int64),
    )


def targets(frames: RecoveryFrames, settings: Settings, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per officer, per team): last week's plans issued and reviews completed, targets, due this week."""
    last_week = (pl.col("completed_date") >= as_of - timedelta(days=7)) & (pl.col("completed_date") < as_of)
    this_week = (pl.col("status").is_in(OPEN_STATUSES) & pl.col("completed_date").is_null()
                 & pl.col("due_date").is_between(as_of, as_of + timedelta(days=6)))
    plans = with_owner(frames.results.filter(pl.col("measure") == "FINAL_20W"), frames.requests, key="request_id")
    reviews, _ = review_frames(frames)
    work = pl.concat([
        plans.select("case_officer", "team", plans_issued=last_week, plans_due=this_week,
                     reviews_completed=pl.lit(False), reviews_due=pl.lit(False)),
        reviews.select("case_officer", "team", plans_issued=pl.lit(False), plans_due=pl.lit(False),
                       reviews_completed=last_week, reviews_due=this_week),
    ])
    counts = ["plans_issued", "plans_due", "reviews_completed", "reviews_due"]
    # Everyone holding open work is listed, so an officer who did nothing against a target shows
    # the shortfall; the work counted is what was done last week and falls due this week.
    held = pl.col("completed_date").is_null()
    roster = pl.concat([plans.filter(held).select("case_officer", "team"),
                        reviews.filter(held).select("case_officer", "team")])
    work = work.filter(pl.any_horizontal(counts))
    # An officer's team: the one most of their work (open, or done last week) is in.
    home = (
        pl.concat([roster, work.select("case_officer", "team")]).group_by("case_officer", "team").len()
        .sort(["case_officer", "len", "team"], descending=[False, True, False])
        .group_by("case_officer", maintain_order=True).first()
        .select("case_officer", "team")
    )
    officers = (
        home.join(work.group_by("case_officer").agg(pl.col(counts).sum().cast(pl.Int64)), on="case_officer",
                  how="left")
        .with_columns(pl.col(counts).fill_null(0))
        .select("case_officer", *counts, "team")
    )
    officers = _officer_targets(settings, officers)
    teams = (
        officers.group_by("team").agg(pl.col(counts).sum().cast(pl.Int64))
        .join(officers.group_by("team").agg(
            plans_target=pl.when(pl.col("plans_target").is_not_null().any()).then(pl.col("plans_target").sum()),
            reviews_target=pl.when(pl.col("reviews_target").is_not_null().any())
            .then(pl.col("reviews_target").sum()),
        ), on="team", how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0))
    )

    def finish(frame: pl.DataFrame, columns) -> pl.DataFrame:
        return frame.with_columns(
            plans_against_target=_against("plans_issued", "plans_target"),
            reviews_against_target=_against("reviews_completed", "reviews_target"),
        ).sort(columns[0][0]).select([c for c, _ in columns])

    return finish(officers, OFFICER_TARGET_COLUMNS), finish(teams, TEAM_TARGET_COLUMNS)


def _wide_trend(history: pl.DataFrame, as_of: date) -> tuple[pl.DataFrame, tuple[tuple[str, str], ...]]:
    """Weeks (newest first) by team, with the whole backlog last."""
    total = backlog_trend(history, as_of).rename({"backlog": "All"})
    by_team = backlog_trend(history, as_of, by="team")
    teams = sorted(by_team["team"].unique().to_list())
    wide = total
    for n, team in enumerate(teams):
        wide = wide.join(by_team.filter(pl.col("team") == team).select("week_ending", pl.col("backlog").alias(f"t{n}")),
                         on="week_ending", how="left")
    columns = (("week_ending", "Week ending"), *((f"t{n}", team) for n, team in enumerate(teams)),
               ("All", "All teams"))
    return wide.select([c for c, _ in columns]), columns


def _officer_trend(history: pl.DataFrame, as_of: date) -> tuple[pl.DataFrame, tuple[tuple[str, str], ...]]:
    """Case officers (rows) by week (columns, newest first)."""
    long = backlog_trend(history, as_of, by="case_officer")
    weeks = [as_of - timedelta(weeks=k) for k in range(TREND_WEEKS)]
    wide = long.select("case_officer").unique().sort("case_officer")
    for n, week in enumerate(weeks):
        wide = wide.join(long.filter(pl.col("week_ending") == week)
                         .select("case_officer", pl.col("backlog").alias(f"w{n}")), on="case_officer", how="left")
    columns = (("case_officer", "Case officer"), *((f"w{n}", f"{w.day} {w:%b}") for n, w in enumerate(weeks)))
    return wide.select([c for c, _ in columns]), columns


def list_recovery(frames: RecoveryFrames, settings: Settings, as_of: date) -> ListRecovery:
    """The three sections on the results date `as_of`, from what the list read (late_list.inputs)."""
    reviews, history = review_frames(frames)
    officer_targets, team_targets = targets(frames, settings, as_of)
    trend, trend_columns = _wide_trend(history, as_of)
    officer_trend, officer_trend_columns = _officer_trend(history, as_of)
    return ListRecovery(
        as_of=as_of,
        officer_targets=officer_targets,
        team_targets=team_targets,
        recovery_all=recovery_table(reviews, history, as_of),
        recovery_teams=recovery_table(reviews, history, as_of, by="team"),
        recovery_officers=recovery_table(reviews, history, as_of, by="case_officer"),
        trend=trend,
        trend_columns=trend_columns,
        officer_trend=officer_trend,
        officer_trend_columns=officer_trend_columns,
        capacity=capacity_for(frames.results, as_of, target_percent=settings.recovery.target_percent,
                              month_setting=settings.recovery.target_month),
    )
