"""Annual review recovery: the overdue review backlog, what falls due, what was done, and when the
backlog clears (docs/late-list.md and docs/board-pack.md, "Annual review recovery").

Pure polars on frames the caller reads (the board pack with `read_recovery_frames`; the weekly list
with the rest of its inputs, through `recovery_frames`); nothing here reads the clock. Every figure
is on `as_of`, the date of the check results used:

- **overdue**: review cycles (`REVIEW_12M`, `REVIEW_EY`) whose stored status is `overdue`, by how
  long overdue (the stored days late): under 3 months (1-91 days), 3 to 6 months (92-182), 6 to 12
  months (183-365), over 12 months (366 or more);
- **due in the next 4, 8 and 12 weeks**: open cycles (not overdue, not completed, not closed) due on
  or after `as_of` and less than 28, 56, 84 days after it (each window holds the shorter ones);
- **completed last week / in the last 4 weeks**: completion dates in the 7 / 28 days before `as_of`;
- **the weekly trend**: for each of the 12 weeks ending on `as_of`, `as_of` - 7 days, ..., the
  backlog counted in the stored history (`overdue_history`) of the latest check dated in that week;
  a week with no check has no figure;
- **the clearing date**: the net weekly fall over the last 4 weeks, (backlog 4 weeks ago - backlog
  now) / 4, and `as_of` + backlog / that rate in weeks (rounded up to a day). A backlog that did not
  fall is "not clearing"; without a check 4 weeks ago it is "not known".

Every review is allocated to the plan's own case officer and team, else to those of the plan's
request (docs/input-formats.md, Canonical extracts).
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_table
from ehcp_monitor.db.results import read_overdue_since, read_results
from ehcp_monitor.domain import vocabulary

REVIEW_MEASURES = ("REVIEW_12M", "REVIEW_EY")
NO_NAME = "(not recorded)"
ALL = "All"
# Cycles still running and not yet overdue: what falls due in the next weeks.
NOT_YET_DUE_STATUSES = (vocabulary.DUE_SOON, vocabulary.PENDING)
# (column, label, first day overdue, last day overdue or None)
OVERDUE_BANDS = (
    ("overdue_under_3m", "Overdue under 3 months", 1, 91),
    ("overdue_3_6m", "Overdue 3 to 6 months", 92, 182),
    ("overdue_6_12m", "Overdue 6 to 12 months", 183, 365),
    ("overdue_over_12m", "Overdue over 12 months", 366, None),
)
DUE_WEEKS = (4, 8, 12)
TREND_WEEKS = 12
RATE_WEEKS = 4
# How the backlog is going, in words.
CLEARING, NOT_CLEARING, NOT_KNOWN, NO_BACKLOG = "clears", "not clearing", "not known", "no backlog"

RECOVERY_COLUMNS = (
    *((c, label) for c, label, _, _ in OVERDUE_BANDS),
    ("overdue", "Overdue in all"),
    *((f"due_{w}w", f"Due in the next {w} weeks") for w in DUE_WEEKS),
    ("completed_last_week", "Completed last week"),
    ("completed_4w", "Completed in the last 4 weeks"),
    ("backlog_4w_ago", "Overdue 4 weeks ago"),
    ("net_per_week", "Net fall a week (last 4 weeks)"),
    ("clears", "Backlog clears"),
)


def allocate(plans: pl.DataFrame, requests: pl.DataFrame) -> pl.DataFrame:
    """Per plan: its case officer and team, each the plan's own, else its request's (plan_id,
    case_officer, team)."""
    from_request = requests.select(
        "request_id", pl.col("case_officer").alias("_officer"), pl.col("team").alias("_team")
    ).unique("request_id", keep="first")
    return plans.select("plan_id", "request_id", "case_officer", "team").join(
        from_request, on="request_id", how="left"
    ).select(
        "plan_id",
        case_officer=pl.coalesce(_blank_null("case_officer"), _blank_null("_officer")),
        team=pl.coalesce(_blank_null("team"), _blank_null("_team")),
    ).unique("plan_id", keep="first")


def _blank_null(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text != "").then(text)


def with_owner(frame: pl.DataFrame, owners: pl.DataFrame, *, key: str = "plan_id") -> pl.DataFrame:
    """`frame` with case_officer and team (NO_NAME where none is recorded)."""
    return frame.join(owners.select(key, "case_officer", "team"), on=key, how="left").with_columns(
        pl.col("case_officer", "team").fill_null(NO_NAME)
    )


def _window(column: str, start: date, end_before: date) -> pl.Expr:
    return (pl.col(column) >= start) & (pl.col(column) < end_before)


def _current(reviews: pl.DataFrame, as_of: date, keys: list[str]) -> pl.DataFrame:
    """Band, due and completed counts per group of `keys` (none: one row)."""
    days = pl.col("days_late")
    overdue = pl.col("status") == "overdue"
    aggs = [
        (overdue & (days >= lo if hi is None else days.is_between(lo, hi))).sum().alias(c)
        for c, _, lo, hi in OVERDUE_BANDS
    ]
    aggs.append(overdue.sum().alias("overdue"))
    not_yet_due = pl.col("status").is_in(NOT_YET_DUE_STATUSES) & pl.col("completed_date").is_null()
    aggs += [
        (not_yet_due & _window("due_date", as_of, as_of + timedelta(weeks=w))).sum().alias(f"due_{w}w")
        for w in DUE_WEEKS
    ]
    aggs += [
        _window("completed_date", as_of - timedelta(days=7), as_of).sum().alias("completed_last_week"),
        _window("completed_date", as_of - timedelta(days=28), as_of).sum().alias("completed_4w"),
    ]
    frame = reviews.group_by(keys).agg(aggs) if keys else reviews.select(aggs)
    counts = [c for c, _ in RECOVERY_COLUMNS[:10]]
    return frame.with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))


def week_runs(history: pl.DataFrame, as_of: date, weeks: int = TREND_WEEKS) -> pl.DataFrame:
    """The check run counted for each week ending on `as_of` - 7k (k = 0..weeks-1): the latest one
    dated in that week (week_ending, run_id); weeks without a check are left out."""
    ends = pl.DataFrame({"week_ending": [as_of - timedelta(weeks=k) for k in range(weeks)]},
                        schema={"week_ending": pl.Date})
    runs = history.select("run_id", "check_date").unique()
    return (
        ends.join(runs, how="cross")
        .filter((pl.col("check_date") <= pl.col("week_ending"))
                & (pl.col("check_date") > pl.col("week_ending") - pl.duration(days=7)))
        .sort(["week_ending", "check_date", "run_id"])
        .group_by("week_ending", maintain_order=True)
        .last()
        .select("week_ending", "run_id")
    )


def backlog_trend(history: pl.DataFrame, as_of: date, *, by: str | None = None,
                  weeks: int = TREND_WEEKS) -> pl.DataFrame:
    """The overdue review backlog each week (week_ending, [by], backlog), newest week first.

    `history`: the stored overdue rows of review measures (run_id, check_date and, with `by`, that
    column). A week with no check has a null backlog; a group with no overdue row in a week's
    check has 0.
    """
    ends = pl.DataFrame({"week_ending": [as_of - timedelta(weeks=k) for k in range(weeks)]},
                        schema={"week_ending": pl.Date})
    counted = week_runs(history, as_of, weeks)
    keys = ["week_ending", *([by] if by else [])]
    counts = history.join(counted, on="run_id").group_by(keys).agg(pl.len().cast(pl.Int64).alias("backlog"))
    grid = ends
    if by:
        groups = history.select(by).unique()
        grid = ends.join(groups, how="cross")
    checked = pl.col("week_ending").is_in(counted["week_ending"].implode())
    return (
        grid.join(counts, on=keys, how="left")
        .with_columns(backlog=pl.when(checked).then(pl.col("backlog").fill_null(0)))
        .sort(["week_ending", *([by] if by else [])], descending=[True, *([False] if by else [])])
    )


def clearing_date(backlog_now: int | None, backlog_then: int | None, as_of: date,
                  weeks: int = RATE_WEEKS) -> tuple[float | None, date | None, str]:
    """(net fall a week, the date the backlog clears, how it is going) at the last `weeks` weeks' rate."""
    if not backlog_now:
        return None, None, NO_BACKLOG
    if backlog_then is None:
        return None, None, NOT_KNOWN
    rate = (backlog_then - backlog_now) / weeks
    if rate <= 0:
        return rate, None, NOT_CLEARING
    return rate, as_of + timedelta(days=math.ceil(backlog_now / rate * 7)), CLEARING


def clears_text(status: str, when: date | None) -> str:
    if status == CLEARING and when is not None:
        return f"by {when:%d/%m/%Y}"
    return {NO_BACKLOG: "no backlog", NOT_CLEARING: "not clearing",
            NOT_KNOWN: "not known: no check 4 weeks ago"}.get(status, status)


def _listed(reviews: pl.DataFrame, then: pl.DataFrame | None, as_of: date, by: str) -> pl.Series:
    """The groups of `by` a recovery table lists: those holding a review cycle still running
    (overdue, due soon or not yet due), or one completed in the LISTED_DAYS before `as_of`, or
    with cycles overdue in the check 4 weeks ago (`then`: its backlog then is in the row). Not an
    officer or team whose plans ceased or whose cycles were all done long ago: nothing of theirs
    is overdue, due or done lately."""
    recent = reviews.filter(pl.col("status").is_in(vocabulary.OPEN_STATUSES)
                            | (pl.col("completed_date") >= as_of - timedelta(days=LISTED_DAYS)))[by]
    return pl.concat([recent, *([then[by]] if then is not None else [])]).unique()


def recovery_table(reviews: pl.DataFrame, history: pl.DataFrame, as_of: date, *,
                   by: str | None = None) -> pl.DataFrame:
    """One row per group of `by` (most overdue first) and a last row "All"; without `by`, the "All"
    row only. Columns: [by], then RECOVERY_COLUMNS (clears in words; clears_on the date or null).

    `reviews`: the stored results of review measures with status, days_late, due_date,
    completed_date (and `by`); `history`: as for backlog_trend. The groups listed are those
    `_listed` gives: the rows add up to "All" in every column.
    """
    keys = [by] if by else []
    total = _current(reviews, as_of, [])
    counted = week_runs(history, as_of, RATE_WEEKS + 1)
    then_end = as_of - timedelta(weeks=RATE_WEEKS)
    then_run = counted.filter(pl.col("week_ending") == then_end)["run_id"]
    then = history.filter(pl.col("run_id").is_in(then_run.implode())) if then_run.len() else None
    rows = None
    if by:
        listed = pl.col(by).is_in(_listed(reviews, then, as_of, by).implode(), nulls_equal=True)
        rows = _current(reviews.filter(listed), as_of, keys).sort(["overdue", by], descending=[True, False])

    def then_count(group: str | None) -> int | None:
        if then is None:
            return None
        return then.height if group is None or by is None else then.filter(pl.col(by) == group).height

    def finish(frame: pl.DataFrame, groups: list[str | None]) -> pl.DataFrame:
        befores = [then_count(g) for g in groups]
        worked = [clearing_date(now, before, as_of)
                  for now, before in zip(frame["overdue"].to_list(), befores, strict=True)]
        return frame.with_columns(
            pl.Series("backlog_4w_ago", befores, dtype=pl.Int64),
            pl.Series("net_per_week", [None if r is None else round(r, 1) for r, _, _ in worked], dtype=pl.Float64),
            pl.Series("clears_on", [d for _, d, _ in worked], dtype=pl.Date),
            pl.Series("clears", [clears_text(s, d) for _, d, s in worked], dtype=pl.Utf8),
        )

    total = finish(total, [None])
    if not by or rows is None:
        return total
    total = total.with_columns(pl.lit(ALL).alias(by)).select(rows.columns + ["backlog_4w_ago", "net_per_week",
                                                                              "clears_on", "clears"])
    return pl.concat([finish(rows, rows[by].to_list()), total])


# --- reading the store: the one read both features share ----------------------------------------


@dataclass
class RecoveryFrames:
    """What recovery and capacity need from the store (no names of children, no dates of birth)."""

    results: pl.DataFrame  # FINAL_20W and review rows of the latest check run
    owners: pl.DataFrame  # plan_id, case_officer, team (the plan's, else its request's)
    requests: pl.DataFrame  # request_id, case_officer, team
    history: pl.DataFrame  # stored overdue review rows: run_id, check_date, plan_id


RESULT_COLUMNS = ("measure", "request_id", "plan_id", "anchor_date", "due_date", "completed_date", "status",
                  "days_late")


RECOVERY_MEASURES = ("FINAL_20W", *REVIEW_MEASURES)
# A group of the recovery tables is listed while it holds a review cycle still running or
# completed one in this many days before the results' date (_listed).
LISTED_DAYS = 365
PEOPLE_SCHEMA: dict[str, Any] = {"request_id": pl.Utf8, "case_officer": pl.Utf8, "team": pl.Utf8}


def read_recovery_frames(conn: Connection, *, since: date) -> RecoveryFrames:
    """The latest check run's 20-week and review results, who holds each plan and request, and the
    stored overdue review rows of checks dated from `since` on."""
    results = read_results(conn, measures=RECOVERY_MEASURES, columns=RESULT_COLUMNS)
    requests = read_table(conn, "requests", PEOPLE_SCHEMA)
    plans = read_table(conn, "plans", cast(dict[str, Any], {"plan_id": pl.Utf8, **PEOPLE_SCHEMA}))
    return recovery_frames(results, requests, plans, read_review_history(conn, since=since))


def read_review_history(conn: Connection, *, since: date) -> pl.DataFrame:
    """The stored overdue review rows of checks dated from `since` on (run_id, check_date, plan_id)."""
    return read_overdue_since(conn, REVIEW_MEASURES, since).rename({"as_of": "check_date"})


def recovery_frames(results: pl.DataFrame, requests: pl.DataFrame, plans: pl.DataFrame,
                    history: pl.DataFrame) -> RecoveryFrames:
    """RecoveryFrames from frames already read: `results` with at least RESULT_COLUMNS (only the
    RECOVERY_MEASURES rows are kept), `requests` and `plans` with at least their PEOPLE_SCHEMA columns
    (plans also plan_id), `history` as read_review_history reads it."""
    results = results.filter(pl.col("measure").is_in(RECOVERY_MEASURES)).select(RESULT_COLUMNS)
    requests = requests.select(list(PEOPLE_SCHEMA))
    plans = plans.select("plan_id", *PEOPLE_SCHEMA)
    return RecoveryFrames(results, allocate(plans, requests), requests, history)


def review_frames(frames: RecoveryFrames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(review results, stored review history), each with the case officer and team holding the plan."""
    reviews = with_owner(frames.results.filter(pl.col("measure").is_in(REVIEW_MEASURES)), frames.owners)
    return reviews, with_owner(frames.history, frames.owners)


def history_since(as_of: date) -> date:
    """The first check date the trend and the clearing date can use."""
    return as_of - timedelta(weeks=TREND_WEEKS)
