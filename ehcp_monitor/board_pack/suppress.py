"""Publication suppression across figures that add up to a total (docs/board-pack.md, "Publishing").

A figure on its own is judged by `render.Formatter.hidden`. Figures that share a total are judged
here as one group, so that no count of 1 to 4 follows from the total minus the figures shown:

- a partition (the three DfE bands, the review partition, the four outcomes, good or better of
  audited): every part of 1 to 4 is hidden, then the next smallest parts until the hidden parts
  (with any part never shown) add up to 0 or 5 or more;
- including and excluding exceptions: the exceptions are "including minus excluding", overall and in
  each part. When any of them is 1 to 4 every excluding-exceptions figure is hidden;
- a quarter's or a year's QA figure is the sum of its months' rows; a year's pack shows DfE's reviews
  expected, the sum of the two review cards' totals: each such sum is a partition too.

Hidden figures are returned as copies marked `suppressed`; the data given is not changed.
"""

from dataclasses import replace
from datetime import date
from typing import Iterable, Sequence

from ehcp_monitor.board_pack.kpis import Figure, PackData, Table
from ehcp_monitor.board_pack.period import Period


def small(n: int | float | None) -> bool:
    return n is not None and 1 <= n <= 4


def any_small(counts: Sequence[int]) -> bool:
    return any(small(n) for n in counts)


def partition_hidden(parts: Sequence[Sequence[int]], unshown: Sequence[int] | None = None,
                     keep: Sequence[int] = (), start: Iterable[int] = ()) -> set[int]:
    """Indices of `parts` (each a vector of counts, e.g. a table row) to hide so that no part of 1 to 4
    shows and the hidden parts plus `unshown` (what the total holds beyond the parts) add up to 0 or
    5 or more in every column. Secondary parts are the next smallest, those in `keep` last; `start`
    are parts already hidden for another reason."""
    width = len(parts[0]) if parts else len(unshown or ())
    hidden_sum = list(unshown or [0] * width)
    hidden = {i for i, p in enumerate(parts) if any_small(p)} | set(start)
    for i in hidden:
        hidden_sum = [a + b for a, b in zip(hidden_sum, parts[i], strict=False)]
    candidates = sorted((i in keep, sum(p) == 0, sum(p), i) for i, p in enumerate(parts) if i not in hidden)
    for *_, i in candidates:
        if not any_small(hidden_sum):
            break
        hidden.add(i)
        hidden_sum = [a + b for a, b in zip(hidden_sum, parts[i], strict=False)]
    return hidden


def _discloses(fig: Figure) -> bool:
    """A rate hidden on its own (render.Formatter.hidden): a count of 1 to 4 in it or left by it."""
    return any_small([fig.numerator, fig.denominator, fig.denominator - fig.numerator])


def _counts(figs: Sequence[Figure]) -> tuple[list[int], int] | None:
    """The parts and their common total, or None when the group has no complete counts."""
    if not figs or any(f.numerator is None or f.denominator is None for f in figs):
        return None
    total = figs[0].denominator
    return [f.numerator for f in figs], total


def hide_partition(figs: Sequence[Figure], keep: Sequence[int] = ()) -> list[Figure]:
    """The figures of one partition of a total (each "part of total"), the ones to hide marked."""
    found = _counts(figs)
    if found is None:
        return list(figs)
    parts, total = found
    hidden = partition_hidden([[n] for n in parts], [total - sum(parts)], keep)
    return [replace(f, suppressed=True) if i in hidden else f for i, f in enumerate(figs)]


def exceptions_small(including: Sequence[Figure], excluding: Sequence[Figure]) -> bool:
    """Whether "including minus excluding" is 1 to 4 overall or in any part (or what the parts leave)."""
    inc, exc = _counts(including), _counts(excluding)
    if inc is None or exc is None:
        return False
    (inc_parts, n), (exc_parts, m) = inc, exc
    differences = [a - b for a, b in zip(inc_parts, exc_parts, strict=False)]
    return any_small([n - m, *differences, (n - sum(inc_parts)) - (m - sum(exc_parts))])


def hide_with_exceptions(including: Sequence[Figure], excluding: Sequence[Figure],
                         keep: Sequence[int] = ()) -> tuple[list[Figure], list[Figure]]:
    link = exceptions_small(including, excluding)
    inc = hide_partition(including, keep)
    exc = [replace(f, suppressed=True) for f in excluding] if link else hide_partition(excluding, keep)
    return inc, exc


def suppress_groups(data: PackData) -> PackData:
    """A copy of `data` for the published pack, every grouped figure that would disclose 1 to 4 marked."""
    kpis = dict(data.kpis)
    if "final_20w" in kpis and "final_20w_ex" in kpis:
        inc, exc = kpis["final_20w"], kpis["final_20w_ex"]

        def pair(a: Figure, b: Figure) -> tuple[Figure, Figure]:
            (a,), (b,) = hide_with_exceptions([a], [b])
            return a, b

        cur = pair(inc.current, exc.current)
        prev = pair(inc.previous, exc.previous)
        before = dict(exc.trend)
        trend = [(m, pair(f, before[m])) for m, f in inc.trend if m in before]
        kpis["final_20w"] = replace(inc, current=cur[0], previous=prev[0],
                                    trend=[(m, p[0]) for m, p in trend])
        kpis["final_20w_ex"] = replace(exc, current=cur[1], previous=prev[1],
                                       trend=[(m, p[1]) for m, p in trend])
    if data.dfe and data.period.kind == "year" and data.period.start.year == data.dfe.year:
        kpis.update(_reviews_of_the_year(kpis))
    tables = dict(data.tables)
    if "qa" in tables and "qa_good" in kpis:
        tables["qa"] = _qa_within_periods(tables["qa"], kpis["qa_good"], data.period, data.previous)
    return replace(data, kpis=kpis, tables=tables, dfe=_dfe(data.dfe) if data.dfe else None)


def _reviews_of_the_year(kpis) -> dict:
    """In a year's pack DfE's reviews expected are the year's 12-month and early-years cycles due:
    neither card's total may be the expected less the other's."""
    codes = [c for c in ("review_12m", "review_ey") if c in kpis and kpis[c].current.denominator is not None]
    if len(codes) < 2:
        return {}
    hidden = partition_hidden([[kpis[c].current.denominator] for c in codes])
    return {c: replace(kpis[c], current=replace(kpis[c].current, suppressed=True))
            for i, c in enumerate(codes) if i in hidden}


def table_hidden_rows(table: Table) -> set[int]:
    """Rows of a published table whose counts and rates are all c: a row holding a count of 1 to 4,
    or whose count's total minus it is 1 to 4 (`pairs`), or that differs by 1 to 4 from the row it is
    part of (`subset_of`); beside a total row, the next smallest rows until the hidden ones add up to
    0 or 5 or more in every column."""

    def counts(row) -> list[int]:
        return [row[i] if isinstance(row[i], int) else 0 for i in sorted(table.count_columns)]

    def discloses(r: int, row) -> bool:
        rests = [row[d] - row[n] for n, d in table.pairs if isinstance(row[n], int) and isinstance(row[d], int)]
        outer = table.subset_of.get(r)
        within = [] if outer is None else [a - b for a, b in zip(counts(table.rows[outer]), counts(row), strict=False)]
        return any_small(counts(row)) or any_small(rests) or any_small(within)

    hidden = {r for r, row in enumerate(table.rows) if discloses(r, row)}
    if table.total_row and table.rows:
        hidden |= partition_hidden([counts(row) for row in table.rows[:-1]])
    return hidden


def _qa_within_periods(qa: Table, kpi, period: Period, previous: Period) -> Table:
    """The period's QA figure is the sum of its months' rows: a hidden month must not be the figure
    minus the months shown (a quarter or a year)."""
    hidden = table_hidden_rows(qa)
    for p, fig in ((period, kpi.current), (previous, kpi.previous)):
        if fig.numerator is None or fig.denominator is None or fig.suppressed or _discloses(fig):
            continue  # the figure shows no counts
        months = {m.strftime("%b %Y") for m in _months(p)}
        rows = [r for r, row in enumerate(qa.rows) if row[0] in months]
        # audited, good or better, not: both kinds together, as the period's figure gives them
        parts = [[row[1] + row[4], row[2] + row[5], row[1] - row[2] + row[4] - row[5]] for row in
                 (qa.rows[r] for r in rows)]
        found = partition_hidden(parts, start=[i for i, r in enumerate(rows) if r in hidden])
        hidden |= {rows[i] for i in found}
    return replace(qa, hide_rows=hidden)


def _months(p: Period) -> list[date]:
    out, day = [], p.start
    while day <= p.end:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


BANDS = ("final_20w", "final_20w_band_20_52", "final_20w_band_over_52")
REVIEWS = ("reviews_completed", "reviews_completed_prior", "reviews_not_completed")
OUTCOMES = ("review_outcome_amended", "review_outcome_ceased", "review_outcome_maintained",
            "review_no_outcome_recorded")


def _dfe(dfe):
    own = {r.code: r.own for r in dfe.rows}
    changed: dict[str, Figure] = {}
    if all(c in own for c in BANDS) and all(f"{c}_ex" in own for c in BANDS):
        # Within 20 weeks is the headline: the two later bands are hidden before it.
        including, excluding = [own[c] for c in BANDS], [own[f"{c}_ex"] for c in BANDS]
        inc, exc = hide_with_exceptions(including, excluding, keep=[0])
        changed.update(zip(BANDS, inc, strict=False))
        changed.update(zip((f"{c}_ex" for c in BANDS), exc, strict=False))
        if "avg_weeks_issue_ex" in own and exceptions_small(including, excluding):
            changed["avg_weeks_issue_ex"] = replace(own["avg_weeks_issue_ex"], suppressed=True)
    for codes in (REVIEWS, OUTCOMES):
        if all(c in own for c in codes):
            changed.update(zip(codes, hide_partition([own[c] for c in codes]), strict=False))
    rows = [replace(r, own=changed[r.code]) if r.code in changed else r for r in dfe.rows]
    warnings = dfe.warnings
    share = dfe.exceptions
    if share.value is not None and share.denominator and _discloses(share):
        # "97.0% of 100 plans" would give the 3 plans that are not exceptions
        warnings = [w.replace(f"{share.value:.1f}% of", "More than 90% of", 1) for w in warnings]
    return replace(dfe, rows=rows, warnings=warnings)
