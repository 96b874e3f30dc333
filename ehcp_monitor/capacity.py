"""Capacity: how many plans a month the LA needs to issue to reach a share within 20 weeks by a month
(docs/late-list.md and docs/board-pack.md, "Capacity").

"To reach T % within 20 weeks in month M you need to issue N plans a month", from the open 20-week
caseload by age and the intake of the last 3 months. A weekly model, pure (no clock, no store):

- **The caseload**: the open `FINAL_20W` clocks (overdue, due soon or pending) on the results date,
  each by whole weeks since its request was received.
- **The intake**: new assessments a month, the `FINAL_20W` clocks whose request was received in the
  13 weeks ending 6 weeks before the results date (a younger request may not have its decision to
  assess yet), divided by 3; it joins the caseload evenly week by week, at 0 weeks.
- **Ready to issue**: a case can be issued from week 18 (`READY_WEEKS`: the draft by week 16, then
  the 15 days the family has to comment, reg 13), never earlier, however much capacity there is.
- **Oldest first**: each week the LA issues N / (52/12) plans, the oldest ready cases first (the
  cases already late are cleared before the newer ones).
- **Within 20 weeks**: a plan issued while it is under 20 whole weeks open.
- **The share**: of the plans the model issues in the weeks starting in month M, those within 20
  weeks. N is the smallest whole number of plans a month that reaches T (found by halving: a larger
  N never issues a case later). When even issuing every ready case at once does not reach T in M,
  or no case would be ready to issue in M, there is no N.

It leaves out mediation and tribunal cases no more than the engine does, assumes the intake stays
as it was and no case is withdrawn, and counts exceptions like any other case (DfE's measure
"including exceptions").
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from ehcp_monitor.domain.vocabulary import OPEN_STATUSES

READY_WEEKS = 18
WITHIN_WEEKS = 20
WEEKS_PER_MONTH = 52 / 12
INTAKE_LAG_DAYS = 42  # decisions to assess are due 6 weeks after the request (reg 5(1))
INTAKE_DAYS = 91  # 13 weeks: 3 months


@dataclass(frozen=True)
class Capacity:
    target_percent: float
    month: date  # the first day of the target month
    plans_per_month: int | None  # None: not reachable (see `reason`)
    reason: str
    open_cases: int
    open_late: int  # open cases already 20 weeks or more
    intake_per_month: float
    issued_per_month: float  # plans issued a month in the last 3 months
    share_at_current_rate: float | None  # month M's share at that rate, percent

    def sentence(self) -> str:
        month = f"{self.month:%B %Y}"
        if self.plans_per_month is None:
            head = f"{self.target_percent:g}% of new plans within 20 weeks in {month} cannot be reached: {self.reason}."
        else:
            head = (f"To reach {self.target_percent:g}% of new plans issued within 20 weeks in {month}, "
                    f"you need to issue {self.plans_per_month:,} plans a month from now.")
        rate = f"{self.issued_per_month:.0f}"
        current = (f" At the last 3 months' rate ({rate} a month) {month} would reach "
                   f"{self.share_at_current_rate:.1f}%." if self.share_at_current_rate is not None else
                   f" At the last 3 months' rate ({rate} a month) no plan would be issued in {month}.")
        return head + current


def target_month(setting: str, as_of: date) -> date:
    """The target month's first day: `setting` (YYYY-MM), or the sixth month after `as_of`'s."""
    if setting:
        year, month = (int(p) for p in setting.split("-"))
        return date(year, month, 1)
    months = as_of.year * 12 + as_of.month - 1 + 6
    return date(months // 12, months % 12 + 1, 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def simulate(ages: list[int], intake_per_month: float, plans_per_month: float, *, as_of: date,
             month: date) -> tuple[float, float]:
    """(plans issued within 20 weeks, plans issued) in the weeks starting in `month` (see the module)."""
    end = _next_month(month)
    weeks = max(0, math.ceil((end - as_of).days / 7))
    size = max([*ages, 0]) + weeks + 2
    queue = [0.0] * size  # queue[a]: cases a whole weeks open
    for a in ages:
        queue[a] += 1
    intake = intake_per_month / WEEKS_PER_MONTH
    capacity = plans_per_month / WEEKS_PER_MONTH
    on_time = issued = 0.0
    for k in range(weeks):
        start = as_of + timedelta(weeks=k)
        queue[0] += intake
        left = capacity
        for a in range(size - 1, READY_WEEKS - 1, -1):
            if left <= 0:
                break
            take = min(left, queue[a])
            if take <= 0:
                continue
            queue[a] -= take
            left -= take
            if month <= start < end:
                issued += take
                if a < WITHIN_WEEKS:
                    on_time += take
        queue = [0.0] + queue[:-1]
    return on_time, issued


def _share(ages, intake, n, as_of, month) -> float | None:
    on_time, issued = simulate(ages, intake, n, as_of=as_of, month=month)
    return None if issued <= 1e-9 else 100 * on_time / issued


def plans_needed(ages: list[int], intake_per_month: float, *, as_of: date, month: date, target_percent: float,
                 issued_per_month: float = 0.0) -> Capacity:
    """The smallest whole number of plans a month reaching `target_percent` in `month` (see the module)."""
    if month <= date(as_of.year, as_of.month, 1):
        raise ValueError("the target month must be after the month of the results date")
    late = sum(1 for a in ages if a >= WITHIN_WEEKS)
    weeks = math.ceil((_next_month(month) - as_of).days / 7)
    # Enough to issue every ready case the week it is ready.
    top = math.ceil((len(ages) + intake_per_month * weeks / WEEKS_PER_MONTH + 1) * WEEKS_PER_MONTH)
    current = _share(ages, intake_per_month, issued_per_month, as_of, month)

    def result(n: int | None, reason: str = "") -> Capacity:
        return Capacity(target_percent, month, n, reason, len(ages), late, intake_per_month, issued_per_month,
                        None if current is None else round(current, 1))

    best = _share(ages, intake_per_month, top, as_of, month)
    if best is None:
        return result(None, "no case would be ready, or left, to issue in that month")
    if best < target_percent:
        return result(None, f"even issuing every case as soon as it is ready gives {best:.1f}%")
    lo, hi = 0, top  # share(hi) reaches the target
    while lo < hi:
        mid = (lo + hi) // 2
        share = _share(ages, intake_per_month, mid, as_of, month)
        if share is not None and share >= target_percent:
            hi = mid
        else:
            lo = mid + 1
    return result(hi)


def caseload(results: pl.DataFrame, as_of: date) -> tuple[list[int], float, float]:
    """From the stored 20-week results (anchor_date, status, completed_date): the open cases' whole
    weeks open, the intake a month and the plans issued a month over the last 3 months."""
    r = results.filter(pl.col("measure") == "FINAL_20W")
    open_ = r.filter(pl.col("status").is_in(OPEN_STATUSES) & (pl.col("anchor_date") <= as_of))
    ages = ((pl.lit(as_of) - pl.col("anchor_date")).dt.total_days() // 7).cast(pl.Int64)
    intake_end = as_of - timedelta(days=INTAKE_LAG_DAYS)
    intake = r.filter((pl.col("anchor_date") < intake_end)
                      & (pl.col("anchor_date") >= intake_end - timedelta(days=INTAKE_DAYS))).height
    issued = r.filter((pl.col("completed_date") < as_of)
                      & (pl.col("completed_date") >= as_of - timedelta(days=INTAKE_DAYS))).height
    return open_.select(ages.alias("weeks"))["weeks"].to_list(), intake / 3, issued / 3


def capacity_for(results: pl.DataFrame, as_of: date, *, target_percent: float, month_setting: str) -> Capacity:
    """The capacity figure on the results date, from the settings' target and month."""
    ages, intake, issued = caseload(results, as_of)
    month = target_month(month_setting, as_of)
    if month <= date(as_of.year, as_of.month, 1):
        return Capacity(target_percent, month, None, "the target month is not after the results date's month",
                        len(ages), sum(1 for a in ages if a >= WITHIN_WEEKS), intake, issued, None)
    return plans_needed(ages, intake, as_of=as_of, month=month, target_percent=target_percent,
                        issued_per_month=issued)
