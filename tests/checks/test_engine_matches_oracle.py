"""The polars engine and the per-case oracle give identical frames on random case histories.

Histories lean on the boundaries: day 42/112/140 exactly, 29 February, month ends, a fifth
birthday on the anchor date, completions after the as-of date, withdrawn assessments, ceased
plans, latest-only reviews, and the drafts / advice tables present or absent.
"""

from datetime import date, timedelta
from functools import partial

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ehcp_monitor import config
from ehcp_monitor.checks import clock_engine as engine
from ehcp_monitor.checks import oracle
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.canonical import ADVICE_TYPES, OUTCOME_CODES, REVIEW_OUTCOMES, TRANSFER_KINDS
from ehcp_monitor.domain.results import RESULT_COLUMNS
from ehcp_monitor.synthetic import generate
from tests.checks.helpers import snapshot

SPECIAL_DAYS = [date(2024, 2, 29), date(2025, 2, 28), date(2025, 8, 31), date(2025, 1, 31), date(2025, 3, 14),
                date(2025, 5, 26), date(2024, 12, 31), date(2023, 3, 1)]

days = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2019, 1, 1), date(2027, 6, 30)))


def near(*targets: int, spread: int = 900):
    """An offset in days: one of the targets (each +-1) or anything up to `spread`."""
    exact = sorted({t + d for t in targets for d in (-1, 0, 1)})
    return st.one_of(st.sampled_from(exact), st.sampled_from(exact), st.integers(0, spread))


def maybe(strategy):
    return st.one_of(st.none(), strategy)


def after(day: date, offset: int) -> date:
    return day + timedelta(days=offset)


def fifth_birthday_on(day: date) -> date:
    try:
        return day.replace(year=day.year - 5)
    except ValueError:  # anchored on 29 February: born on 1 March five years before
        return date(day.year - 5, 3, 1)


@st.composite
def case(draw, label: str, as_of: date) -> dict[str, list[dict]]:
    pid, rid, plan_id = f"P{label}", f"R{label}", f"PL{label}"
    received = after(as_of, -draw(near(0, 14, 42, 98, 112, 126, 140, 154, 182, 400, spread=1500)))
    tables: dict[str, list[dict]] = {name: [] for name in (
        "people", "requests", "assessments", "drafts", "advice", "plans", "reviews", "phase_transfers")}
    decided = after(received, draw(near(20, 42, spread=120)))
    tables["requests"].append({
        "request_id": rid, "person_id": pid, "received_date": received,
        "request_outcome": draw(st.sampled_from(["Y", "Y", "Y", "N", "A", "W", "H"])),
        "request_outcome_date": draw(st.sampled_from([decided, decided, decided, decided, None])),
    })
    if draw(st.integers(0, 3)):
        tables["assessments"].append({
            "request_id": rid, "assessment_outcome": draw(st.sampled_from(OUTCOME_CODES)),
            "assessment_outcome_date": draw(maybe(near(100, 112, 140, 250, 400, spread=600)
                                                  .map(lambda o: after(received, o)))),
            "week20": draw(maybe(st.booleans())),
        })
    if draw(st.booleans()):
        draft = draw(st.one_of(near(60, 98, spread=200).map(lambda o: after(received, o)),
                               near(0, 14, 15, spread=40).map(lambda o: after(as_of, -o))))
        tables["drafts"].append({"request_id": rid, "draft_plan_date": draft})
    for advice_type in draw(st.lists(st.sampled_from(ADVICE_TYPES), max_size=3, unique=True)):
        requested = after(decided, draw(st.integers(0, 30)))
        tables["advice"].append({
            "request_id": rid, "advice_type": advice_type, "requested_date": requested,
            "received_date": draw(maybe(near(20, 42, spread=150).map(partial(after, requested)))),
        })
    born = received - timedelta(days=draw(st.integers(365, 365 * 20)))
    if draw(st.integers(0, 3)):
        start = draw(st.one_of(st.sampled_from(SPECIAL_DAYS),
                               near(140, 400, 800, 1500, spread=3000).map(lambda o: after(as_of, -o))))
        if draw(st.booleans()):
            born = fifth_birthday_on(start)
        else:
            born = start - timedelta(days=draw(st.integers(365, 365 * 18)))
        tables["plans"].append({
            "plan_id": plan_id, "person_id": pid, "request_id": draw(st.sampled_from([rid, None])),
            "start_date": start,
            "cease_date": draw(st.one_of(st.none(), st.none(),
                                         near(180, 365, 730, spread=2000).map(lambda o: after(start, o)))),
            "review_history": draw(st.sampled_from(["full", "latest_only"])),
        })
        meeting = start
        for _ in range(draw(st.integers(0, 5))):
            meeting = after(meeting, draw(st.sampled_from([150, 180, 330, 358, 365, 380])))
            if meeting > after(as_of, 60):
                break
            decision = draw(maybe(st.sampled_from([0, 27, 28, 29, 60]).map(partial(after, meeting))))
            outcome = draw(maybe(st.sampled_from(REVIEW_OUTCOMES + ("amend",))))
            notice = draw(maybe(st.integers(0, 30).map(partial(after, meeting))))
            tables["reviews"].append({
                "plan_id": plan_id, "meeting_date": draw(st.sampled_from([meeting, meeting, None])),
                "decision_date": decision, "outcome": outcome, "amendment_notice_date": notice,
                "amended_final_date": notice and draw(maybe(near(56, spread=120).map(partial(after, notice)))),
            })
            if (decision or tables["reviews"][-1]["meeting_date"]) and draw(st.integers(0, 4)) == 0:
                tables["reviews"].append(draw(review_twin(tables["reviews"][-1])))
            if decision is not None and draw(st.integers(0, 4)) == 0:
                born = fifth_birthday_on(decision)
        kinds = draw(st.lists(st.sampled_from(TRANSFER_KINDS), max_size=2, unique=True))
        # sometimes two kinds fall due on the same day (a given due date): the item orders them
        same_due = draw(maybe(days))
        for kind in kinds:
            transfer = draw(days)
            tables["phase_transfers"].append({
                "plan_id": plan_id, "transfer_kind": kind, "transfer_date": transfer,
                "due_date": same_due or draw(maybe(st.just(after(transfer, -200)))),
                "final_date": draw(maybe(near(150, 200, 300, spread=400)
                                         .map(lambda o, day=transfer: after(day, -o)))),
            })
    tables["people"].append({"person_id": pid, "date_of_birth": born})
    return tables


@st.composite
def review_twin(draw, review: dict) -> dict:
    """A second review of the plan completed on the same day as `review` (by meeting or decision)."""
    meeting, decision = review["meeting_date"], review["decision_date"]
    if draw(st.booleans()):  # same meeting, another decision
        return {**review, "decision_date": after(decision, 1) if decision else meeting}
    return {**review, "meeting_date": after(meeting, -1) if meeting else decision}


# Case labels whose byte order is not the order they are generated in (digits, cases, lengths).
LABELS = ["10", "9", "a", "B", "07", "Z9", "x", "100"]


@st.composite
def caseloads(draw) -> tuple[Snapshot, config.Settings, date]:
    as_of = draw(days)
    tables: dict[str, list[dict]] = {}
    for label in draw(st.permutations(LABELS))[:draw(st.integers(1, 8))]:
        for name, rows in draw(case(label, as_of)).items():
            tables.setdefault(name, []).extend(rows)
    optional = ["assessments", "drafts", "advice", "plans", "reviews", "phase_transfers"]
    absent = draw(st.sets(st.sampled_from(optional)))
    present = {name: rows for name, rows in tables.items() if name not in absent}
    settings_ = config.defaults().replace(**{
        "rules.due_soon_days": draw(st.sampled_from([0, 14, 30])),
        "rules.review_completed_by": draw(st.sampled_from(["decision", "meeting"])),
        "rules.early_years_age": draw(st.sampled_from([5, 6])),
        "rules.early_years_review_months": draw(st.sampled_from([3, 6])),
        "rules.draft_target_weeks": draw(st.sampled_from([12, 14])),
        "rules.very_late_days_by_measure": draw(st.sampled_from([{}, {"FINAL_20W": 0, "REVIEW_12M": 28}])),
    })
    return snapshot(**present), settings_, as_of


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caseloads())
def test_engine_matches_oracle(caseload):
    snap, settings_, as_of = caseload
    fast = engine.evaluate(snap, settings_, as_of)
    slow = oracle.evaluate(snap, settings_, as_of)
    assert fast.columns == list(RESULT_COLUMNS)
    assert_frame_equal(fast, slow)


@pytest.mark.parametrize("years_back", [0, 80])
def test_engine_matches_oracle_on_a_synthetic_caseload(years_back):
    """Thousands of cases: long columns over a few years of dates, so the calendar's per-day
    lookup path runs inside the engine (the random histories above are too small for it); moved
    80 years back, every day number is negative."""
    shift = timedelta(days=round(365.25 * years_back))
    as_of = date(2025, 3, 14)
    frames = {
        name: df.with_columns(pl.col(c) - shift for c, t in df.schema.items() if t == pl.Date)
        for name, df in generate(5000, seed=11, as_of=as_of).items()
    }
    snap = Snapshot.from_frames(frames)
    settings_ = config.defaults()
    assert_frame_equal(engine.evaluate(snap, settings_, as_of - shift), oracle.evaluate(snap, settings_, as_of - shift))
