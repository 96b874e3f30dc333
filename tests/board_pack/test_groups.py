"""Publication suppression of figures that add up to a total (board_pack/suppress.py), on SQLite and
PostgreSQL: packs rendered from stores built to hit each case, then read back as a reader would.

For every group (the DfE bands including and excluding exceptions, the KPI cards and the issue-bands
table of the period, the review partition, the four outcomes, good or better of audited), every count
that follows from the cells shown (a shown part, or a shown total minus the shown parts, for any set
of parts; and including minus excluding for the same parts) must be 0 or 5 or more.
"""

import re
from datetime import date, datetime, timedelta, timezone
from html import unescape
from itertools import combinations

import polars as pl
import pytest

from ehcp_monitor.board_pack import build_board_pack
from ehcp_monitor.board_pack.kpis import compute_pack, read_inputs
from ehcp_monitor.board_pack.period import parse_period
from ehcp_monitor.board_pack.render import render_html
from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot

AS_OF = date(2026, 1, 10)  # period June 2025 (previous May 2025); DfE's measures for 2025
JUNE, MAY = date(2025, 6, 16), date(2025, 5, 15)
BAND_DAYS = (100, 200, 400)  # within 20 weeks; over 20 and up to 52; over 52

# plans issued: (issue date, exception) -> counts in the three bands
# reviews: (completed in 2025, before 2025, not completed); outcomes: amend, cease, maintain, none
# qa: month -> (draft audited, draft good+, amended audited, amended good+)
SCENARIOS = {
    "reviewer": {  # the review's figures: 50, 47, 3 of 100 with 3 exceptions; QA 10 and 7
        "plans": {(JUNE, False): (49, 45, 3), (JUNE, True): (1, 2, 0)},
        "reviews": (20, 3, 10), "outcomes": (10, 2, 30, 6),
        "qa": {date(2025, 6, 1): (10, 7, 12, 11), date(2025, 5, 1): (8, 8, 0, 0), date(2025, 4, 1): (20, 15, 5, 5)},
    },
    "exceptions_in_a_band": {  # 13 exceptions overall, 3 of them in one band; May: 4 within 20 weeks
        "plans": {(JUNE, False): (40, 30, 20), (JUNE, True): (10, 3, 0),
                  (MAY, False): (20, 10, 5), (MAY, True): (4, 3, 0)},
        "reviews": (3, 1, 30), "outcomes": (0, 0, 45, 2),
        "qa": {date(2025, 6, 1): (9, 9, 0, 0), date(2025, 5, 1): (6, 1, 7, 7)},
    },
    "small_later_bands": {  # 1 and 2 in the later bands: together 3, so the whole partition goes
        "plans": {(JUNE, False): (60, 1, 2), (MAY, False): (30, 8, 0), (MAY, True): (5, 0, 0)},
        "reviews": (30, 0, 2), "outcomes": (12, 6, 20, 0),
        "qa": {date(2025, 6, 1): (5, 0, 5, 5)},
    },
}


def store(engine, spec) -> None:
    results, n = [], 0
    for (issued, exception), bands in spec["plans"].items():
        for days, count in zip(BAND_DAYS, bands, strict=False):
            for _ in range(count):
                n += 1
                anchor = issued - timedelta(days=days)
                results.append(("FINAL_20W", f"R{n}", None, anchor, anchor + timedelta(days=140), issued,
                                "met" if days <= 140 else "late", exception))
    for done, count in zip((date(2025, 2, 20), date(2024, 12, 20), None), spec["reviews"], strict=False):
        for _ in range(count):
            n += 1
            results.append(("REVIEW_12M", None, f"P{n}", date(2024, 3, 1), date(2025, 3, 1), done,
                            "overdue" if done is None else "met", False))
    for _ in range(spec.get("early_years", 0)):
        n += 1
        results.append(("REVIEW_EY", None, f"P{n}", date(2024, 9, 1), date(2025, 3, 1), date(2025, 2, 20),
                        "met", False))
    cols = ("measure", "request_id", "plan_id", "anchor_date", "due_date", "completed_date", "status", "exception")
    frame = pl.DataFrame([dict(zip(cols, r, strict=False)) for r in results], schema={
        "measure": pl.Utf8, "request_id": pl.Utf8, "plan_id": pl.Utf8, "anchor_date": pl.Date,
        "due_date": pl.Date, "completed_date": pl.Date, "status": pl.Utf8, "exception": pl.Boolean})
    frame = frame.with_columns(run_id=pl.lit(1), person_id=pl.format("C{}", pl.int_range(pl.len())),
                               very_late=pl.lit(False), kind=pl.lit("statutory"), basis=pl.lit("reg"))
    outcomes = [o for o, count in zip(("amend", "cease", "maintain", None), spec["outcomes"], strict=False)
                for _ in range(count)]
    reviews = pl.DataFrame({"plan_id": [f"V{i}" for i in range(len(outcomes))],
                            "decision_date": [date(2025, 4, 1)] * len(outcomes), "outcome": outcomes},
                           schema={"plan_id": pl.Utf8, "decision_date": pl.Date, "outcome": pl.Utf8})
    audits = []
    for month, (draft, draft_good, amended, amended_good) in spec["qa"].items():
        for kind, total, good in (("draft", draft, draft_good), ("amended", amended, amended_good)):
            audits += [(month + timedelta(days=3), kind, "good" if i < good else "inadequate") for i in range(total)]
    qa = pl.DataFrame({"plan_id": [f"Q{i}" for i in range(len(audits))], "audit_date": [a[0] for a in audits],
                       "plan_kind": [a[1] for a in audits], "rating": [a[2] for a in audits]},
                      schema={"plan_id": pl.Utf8, "audit_date": pl.Date, "plan_kind": pl.Utf8, "rating": pl.Utf8})
    loaded = datetime(2026, 1, 10, 2, tzinfo=timezone.utc)
    runs = pl.DataFrame({"id": [2], "started_at": [loaded], "source": ["x"], "source_kind": ["canonical"],
                         "as_of": [AS_OF], "status": ["loaded"], "checksums": ["{}"], "counts": ["{}"],
                         "summary": ["{}"], "overrides": ["{}"]})
    check_run = pl.DataFrame({"id": [1], "as_of": [AS_OF], "started_at": [loaded], "counts": ["{}"],
                              "ingest_id": [2]})
    with engine.begin() as conn:
        replace_snapshot(conn, Snapshot.from_frames({"reviews": reviews, "qa_audits": qa}, ingest_id=2),
                         loaded_at=loaded)
        write_frame(conn, "check_results", frame)
        write_frame(conn, "check_runs", check_run)
        write_frame(conn, "ingest_runs", runs)


# --- reading the pack back --------------------------------------------------------------------


def text(cell: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", cell))).strip()


def number(cell: str) -> int | None:
    return None if cell == "c" else int(cell.replace(",", ""))


def figure(cell: str) -> tuple[int | None, int | None]:
    """(numerator, denominator) as shown: "50.0% (50 of 100)" -> (50, 100); "c" -> (None, None)."""
    found = re.search(r"\(([\d,]+) of ([\d,]+)\)", cell)
    return (number(found[1]), number(found[2])) if found else (None, None)


def dfe_cell(html: str, code: str) -> str:
    row = re.search(rf'<tr id="dfe-{code}">(.*?)</tr>', html, re.S)[1]
    return text(re.findall(r"<td>(.*?)</td>", row, re.S)[0])


def card(html: str, code: str, which: str, label: str = "") -> str:
    block = re.search(rf'<section class="kpi" id="kpi-{code}".*?</section>', html, re.S)[0]
    label = label or ("June 2025" if which == "current" else r"Previous \(May 2025\)")
    return text(re.search(rf'<th scope="row">{label}</th><td>(.*?)</td>', block, re.S)[1])


def table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="data" id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S)[1]
    return [[text(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def either(a, b):
    assert a is None or b is None or a == b
    return a if a is not None else b


def derivable(parts: list, total) -> dict[tuple, int]:
    """Every set of parts whose sum follows from what is shown: all shown, or the total minus the rest."""
    out = {}
    for k in range(1, len(parts) + 1):
        for chosen in combinations(range(len(parts)), k):
            inside = [parts[i] for i in chosen]
            outside = [p for i, p in enumerate(parts) if i not in chosen]
            if None not in inside:
                out[chosen] = sum(inside)
            elif total is not None and None not in outside:
                out[chosen] = total - sum(outside)
    return out


def assert_nothing_small(name, parts, total, excluding=None):
    found = derivable(parts, total)
    small = {k: v for k, v in found.items() if 1 <= v <= 4}
    assert not small, f"{name}: {small} follow from {parts} of {total}"
    if total is not None:
        assert not 1 <= total <= 4, name
    if excluding is not None:
        other = derivable(*excluding)
        differences = {k: found[k] - other[k] for k in found.keys() & other.keys()}
        assert not {k: d for k, d in differences.items() if 1 <= d <= 4}, f"{name}: exceptions {differences}"


def groups(html: str) -> dict[str, tuple]:
    """Each group as (parts, total[, excluding (parts, total)]) with None where a figure is c."""
    out = {}
    # DfE's bands for 2025, with the exceptions between them
    band_codes = ("final_20w", "final_20w_band_20_52", "final_20w_band_over_52")
    sides = {}
    for suffix in ("", "_ex"):
        figs = [figure(dfe_cell(html, c + suffix)) for c in band_codes]
        total = None
        for _, d in figs:
            total = either(total, d)
        sides[suffix] = ([n for n, _ in figs], total)
    out["dfe bands"] = (*sides[""], sides["_ex"])
    out["dfe bands excluding"] = sides["_ex"]
    reviews = [figure(dfe_cell(html, c)) for c in ("reviews_completed", "reviews_completed_prior",
                                                   "reviews_not_completed")]
    total = number(dfe_cell(html, "reviews_expected"))
    for _, d in reviews:
        total = either(total, d)
    out["dfe reviews"] = ([n for n, _ in reviews], total)
    outcomes = [figure(dfe_cell(html, c)) for c in ("review_outcome_amended", "review_outcome_ceased",
                                                    "review_outcome_maintained", "review_no_outcome_recorded")]
    total = None
    for _, d in outcomes:
        total = either(total, d)
    out["dfe outcomes"] = ([n for n, _ in outcomes] + [None], total)  # any other outcome: never shown
    # the period: the KPI cards and the issue-bands table are one group
    bands = {r[0]: [number(c) for c in (r[1], r[2], r[4], r[6])] for r in table(html, "issue-bands")}
    period = {}
    for label, code in (("Including exceptions", "final_20w"), ("Excluding exceptions", "final_20w_ex")):
        within, n = figure(card(html, code, "current"))
        total, *parts = bands[label]
        period[label] = ([either(within, parts[0]), parts[1], parts[2]], either(n, total))
    out["period bands"] = (*period["Including exceptions"], period["Excluding exceptions"])
    out["period bands excluding"] = period["Excluding exceptions"]
    previous = {code: figure(card(html, code, "previous")) for code in ("final_20w", "final_20w_ex")}
    (a, n), (b, m) = previous["final_20w"], previous["final_20w_ex"]
    out["previous cards"] = ([a, None], n, ([b, None], m))
    for row in table(html, "qa-table"):
        draft, draft_good, amended, amended_good = (number(row[i]) for i in (1, 2, 4, 5))
        out[f"qa {row[0]} draft"] = ([draft_good, None], draft)
        out[f"qa {row[0]} amended"] = ([amended_good, None], amended)
    return out


@pytest.fixture(params=sorted(SCENARIOS))
def pack(request, engine, settings):
    store(engine, SCENARIOS[request.param])
    return request.param, compute_pack(read_inputs(engine), settings, parse_period("2025-06"), AS_OF), settings


def test_no_count_of_1_to_4_follows_from_a_published_group(pack):
    name, data, settings = pack
    published = groups(render_html(data, settings, publish=True))
    for group, found in published.items():
        assert_nothing_small(f"{name}: {group}", *found)
    internal = groups(render_html(data, settings, publish=False))
    # the same check finds the disclosures in the unsuppressed pack: it is not one that cannot fail
    assert any(not _safe(found) for found in internal.values())


def _safe(found) -> bool:
    try:
        assert_nothing_small("", *found)
    except AssertionError:
        return False
    return True


def test_the_unpublished_pack_is_unchanged(pack):
    name, data, settings = pack
    before = render_html(data, settings, publish=False)
    render_html(data, settings, publish=True)
    assert render_html(data, settings, publish=False) == before  # publishing leaves the data alone
    internal = groups(before)
    spec = SCENARIOS[name]
    june = [sum(c) for c in zip(*(b for (day, _), b in spec["plans"].items() if day == JUNE), strict=False)]
    june_ex = list(spec["plans"].get((JUNE, False), (0, 0, 0)))
    assert internal["period bands"][:2] == (june, sum(june))
    assert internal["period bands excluding"] == (june_ex, sum(june_ex))
    assert internal["dfe reviews"] == (list(spec["reviews"]), sum(spec["reviews"]))
    for group, found in internal.items():  # nothing is c (a card's rest is never shown; "no cases" has none)
        assert found[1] is None or None not in found[0][:-1], group
    assert not re.search(r"<td>c</td>|>c</span>", before)


def test_the_reviewers_figures_are_suppressed_as_groups(engine, settings, tmp_path):
    store(engine, SCENARIOS["reviewer"])
    result = build_board_pack(engine, settings, period="2025-06", as_of=AS_OF, out_dir=tmp_path, publish=True)
    html = result.html_path.read_text(encoding="utf-8")
    # within 20 weeks stays (the headline); the later bands go together, so 100 - 50 - c is no count
    assert dfe_cell(html, "final_20w") == "50.0% (50 of 100)"
    assert dfe_cell(html, "final_20w_band_20_52") == "c" and dfe_cell(html, "final_20w_band_over_52") == "c"
    # 3 exceptions: everything excluding them is c, the card and the table's row too
    for code in ("final_20w_ex", "final_20w_band_20_52_ex", "final_20w_band_over_52_ex", "avg_weeks_issue_ex"):
        assert dfe_cell(html, code) == "c", code
    assert card(html, "final_20w", "current") == "50.0% (50 of 100)"
    assert card(html, "final_20w_ex", "current") == "c"
    assert table(html, "issue-bands")[1][1:] == ["c"] * 7
    # reviews 20, 3, 10 of 33: the 3 and the next smallest; outcomes 10, 2, 30, 6: the 2 and the 6
    assert [dfe_cell(html, c) for c in ("reviews_completed", "reviews_completed_prior", "reviews_not_completed")] \
        == ["60.6% (20 of 33)", "c", "c"]
    assert [dfe_cell(html, c) for c in ("review_outcome_amended", "review_outcome_ceased",
                                        "review_outcome_maintained", "review_no_outcome_recorded")] \
        == ["20.8% (10 of 48)", "c", "62.5% (30 of 48)", "c"]
    # QA: 7 good of 10 leaves 3 not good
    june = [r for r in table(html, "qa-table") if r[0] == "Jun 2025"][0]
    assert june[1:] == ["c"] * 6


def test_a_quarter_hides_a_second_month_of_qa(engine, settings):
    # June's 3 audits are c; the quarter's figure less April and May would give them back
    store(engine, {"plans": {}, "reviews": (0, 0, 0), "outcomes": (0, 0, 0, 0),
                   "qa": {date(2025, 4, 1): (20, 15, 5, 5), date(2025, 5, 1): (8, 8, 0, 0),
                          date(2025, 6, 1): (3, 3, 0, 0)}})
    data = compute_pack(read_inputs(engine), settings, parse_period("2025-Q2"), AS_OF)
    html = render_html(data, settings, publish=True)
    good, audited = figure(card(html, "qa_good", "current", r"Q2 2025 \(Apr-Jun\)"))
    assert (good, audited) == (31, 36)
    months = [r for r in table(html, "qa-table") if r[0] in ("Apr 2025", "May 2025", "Jun 2025")]
    shown = [[number(r[1]) + number(r[4]), number(r[2]) + number(r[5])] for r in months if r[1] != "c"]
    hidden_audited = audited - sum(s[0] for s in shown)
    hidden_good = good - sum(s[1] for s in shown)
    for derived in (hidden_audited, hidden_good, hidden_audited - hidden_good):
        assert not 1 <= derived <= 4
    assert len(shown) == 1  # June and the next smallest month, May


def test_a_year_pack_hides_the_cycles_the_dfe_total_would_give(engine, settings):
    # 2025's pack: DfE's 32 reviews expected are the 30 twelve-month and 2 early-years cycles due
    store(engine, {"plans": {}, "reviews": (20, 0, 10), "outcomes": (0, 0, 0, 0), "qa": {}, "early_years": 2})
    data = compute_pack(read_inputs(engine), settings, parse_period("2025"), AS_OF)
    html = render_html(data, settings, publish=True)
    assert number(dfe_cell(html, "reviews_expected")) == 32
    label = "Calendar year 2025"
    assert card(html, "review_ey", "current", label) == "c"
    shown = figure(card(html, "review_12m", "current", label))[1]
    assert shown is None  # else 32 - 30 = 2 early-years cycles
    internal = render_html(data, settings, publish=False)
    assert figure(card(internal, "review_12m", "current", label)) == (20, 30)


def test_the_exceptions_warning_gives_no_share_that_leaves_a_small_count(engine, settings):
    # 97 of 100 plans are exceptions: "97.0%" beside the 100 plans would give the 3 that are not
    store(engine, {"plans": {(JUNE, True): (50, 47, 0), (JUNE, False): (3, 0, 0)}, "reviews": (0, 0, 0),
                   "outcomes": (0, 0, 0, 0), "qa": {}})
    data = compute_pack(read_inputs(engine), settings, parse_period("2025-06"), AS_OF)
    published = text(render_html(data, settings, publish=True))
    assert "More than 90% of the plans issued in 2025 are marked as exceptions" in published
    assert "97.0%" not in published
    assert "97.0% of the plans issued in 2025" in text(render_html(data, settings, publish=False))
