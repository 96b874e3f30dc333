"""The generated caseload: deterministic, canonical, valid row by row, and realistic in shape."""

import re
from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ehcp_monitor.domain.canonical import (
    ADVICE_TYPES,
    CANONICAL_TABLES,
    CEASE_REASONS,
    TABLE_ORDER,
    TRANSFER_KINDS,
)
from ehcp_monitor.synthetic import generate
from tests.conftest import AS_OF
from tests.synthetic.conftest import PEOPLE

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Dates that are plans, not events, and so may lie after as_of.
PLANNED = {("phase_transfers", "transfer_date"), ("phase_transfers", "due_date")}


def test_same_seed_same_frames_and_different_seed_differs(frames):
    again = generate(people=400, seed=5, as_of=AS_OF)
    same = generate(people=400, seed=5, as_of=AS_OF)
    other = generate(people=400, seed=6, as_of=AS_OF)
    for name in TABLE_ORDER:
        assert_frame_equal(again[name], same[name])
    assert not again["requests"].equals(other["requests"])
    assert not again["people"].equals(other["people"])
    bad = generate(people=400, seed=5, as_of=AS_OF, bad_rows=True)
    for name in TABLE_ORDER:
        assert_frame_equal(bad[name], generate(people=400, seed=5, as_of=AS_OF, bad_rows=True)[name])


def test_every_table_has_the_canonical_columns_and_dtypes(frames):
    assert list(frames) == list(TABLE_ORDER)
    for name, df in frames.items():
        assert df.schema == CANONICAL_TABLES[name].polars_schema, name
        assert df.height > 0, name


def broken_rules(frames: dict[str, pl.DataFrame], as_of: date) -> dict[str, int]:
    """How many rows break each canonical constraint we can check directly (all should be 0)."""
    broken = {}
    for name, df in frames.items():
        spec = CANONICAL_TABLES[name]
        broken[f"{name} duplicate key"] = df.select(spec.key).is_duplicated().sum()
        for column in spec.columns:
            values = df[column.name].drop_nulls()
            if column.required:
                broken[f"{name}.{column.name} missing"] = df[column.name].null_count()
            if column.codes:
                broken[f"{name}.{column.name} code"] = (~values.is_in(list(column.codes))).sum()
            if values.dtype == pl.Utf8:
                broken[f"{name}.{column.name} text"] = (
                    (values.str.len_chars() > column.max_length) | values.str.contains(r"[\x00-\x1f\x7f]")
                ).sum()
            if values.dtype == pl.Date and (name, column.name) not in PLANNED:
                broken[f"{name}.{column.name} after as_of"] = (values > as_of).sum()
        for column, parent, parent_column in spec.references:
            values = df[column].drop_nulls()
            broken[f"{name}.{column} dangling"] = (~values.is_in(frames[parent][parent_column].implode())).sum()
    emails = frames["contacts"]["email"].drop_nulls().to_list()
    broken["contacts.email invalid"] = sum(not EMAIL.fullmatch(e) for e in emails)
    for label, df, later, earlier in _orders(frames):
        broken[label] = df.select((pl.col(later) < pl.col(earlier)).sum()).item()
    return {rule: n for rule, n in broken.items() if n}


def _orders(frames):
    people, requests, plans = frames["people"], frames["requests"], frames["plans"]
    assessed = frames["assessments"].join(requests, on="request_id")
    advice = frames["advice"].join(requests, on="request_id", suffix="_request")
    reviews = frames["reviews"].join(plans, on="plan_id")
    return [
        ("request before birth", requests.join(people, on="person_id"), "received_date", "date_of_birth"),
        ("decision before request", requests, "request_outcome_date", "received_date"),
        ("assessment outcome before request", assessed, "assessment_outcome_date", "received_date"),
        ("assessment outcome before decision", assessed, "assessment_outcome_date", "request_outcome_date"),
        ("draft before request", frames["drafts"].join(requests, on="request_id"), "draft_plan_date",
         "received_date"),
        ("advice received before requested", frames["advice"], "received_date", "requested_date"),
        ("advice requested before decision", advice, "requested_date", "request_outcome_date"),
        ("plan before request", plans.join(requests, on="request_id"), "start_date", "received_date"),
        ("plan ceased before start", plans, "cease_date", "start_date"),
        ("review decision before meeting", reviews, "decision_date", "meeting_date"),
        ("review meeting before plan", reviews, "meeting_date", "start_date"),
        ("amendment notice before decision", reviews, "amendment_notice_date", "decision_date"),
        ("amended plan before notice", reviews, "amended_final_date", "amendment_notice_date"),
        ("review decision after cease", reviews, "cease_date", "decision_date"),
    ]


def test_every_row_keeps_the_canonical_constraints(frames):
    assert broken_rules(frames, AS_OF) == {}
    # The orders above were really exercised, not vacuously true on empty joins.
    for label, df, later, earlier in _orders(frames):
        assert df.filter(pl.col(later).is_not_null() & pl.col(earlier).is_not_null()).height > 0, label


@settings(max_examples=40, deadline=None)
@given(people=st.integers(1, 300), seed=st.integers(0, 2**32 - 1),
       as_of=st.dates(min_value=date(2022, 1, 1), max_value=date(2030, 12, 31)))
def test_any_seed_size_and_date_gives_valid_rows(people, seed, as_of):
    frames = generate(people=people, seed=seed, as_of=as_of)
    assert frames["people"].height == people
    assert broken_rules(frames, as_of) == {}


def test_decided_outcomes_have_dates_and_open_ones_none(frames):
    requests, assessments = frames["requests"], frames["assessments"]
    decided = requests.filter(pl.col("request_outcome").is_in(["Y", "N"]))
    assert decided["request_outcome_date"].null_count() == 0
    undecided = requests.filter(pl.col("request_outcome").is_in(["A", "H"]))
    assert undecided["request_outcome_date"].null_count() == undecided.height
    ended = assessments.filter(pl.col("assessment_outcome").is_in(["Y", "N"]))
    assert ended["assessment_outcome_date"].null_count() == 0
    # Only requests decided Y (or historical ones) are assessed.
    outcome_of = assessments.join(requests, on="request_id")["request_outcome"]
    assert set(outcome_of.unique()) <= {"Y", "H"}


def test_emails_are_single_valid_addresses(frames):
    emails = frames["contacts"]["email"].drop_nulls()
    assert emails.len() > 0
    assert all(EMAIL.fullmatch(e) for e in emails.to_list())


def test_upns_have_thirteen_characters(frames):
    upns = frames["people"]["upn"].drop_nulls()
    assert upns.str.contains(r"^[A-Z][0-9]{12}$").all()


def test_request_and_plan_volumes_follow_people(frames):
    per_person = frames["requests"].height / PEOPLE
    assert 1.3 <= per_person <= 1.5
    assert 0.7 <= frames["plans"].height / PEOPLE <= 0.95
    y_share = (frames["requests"]["request_outcome"] == "Y").mean()
    assert 0.65 <= y_share <= 0.78
    assert set(frames["requests"]["request_outcome"].unique()) == {"Y", "N", "A", "W", "H"}


def test_a_majority_of_plans_are_late_with_a_long_tail(frames):
    issued = frames["assessments"].filter(pl.col("assessment_outcome") == "Y").join(
        frames["requests"], on="request_id")
    weeks = issued.select((pl.col("assessment_outcome_date") - pl.col("received_date")).dt.total_days())
    days = weeks.to_series()
    assert 0.35 <= (days <= 140).mean() <= 0.60
    assert 0.02 <= (days >= 365).mean() <= 0.15
    assert frames["assessments"]["week20"].mean() < 0.1
    assert frames["assessments"]["week20"].any()


def test_every_advice_type_with_late_and_outstanding_advice(frames):
    advice = frames["advice"]
    assert set(advice["advice_type"].unique()) == set(ADVICE_TYPES)
    late = advice.filter((pl.col("received_date") - pl.col("requested_date")).dt.total_days() > 42)
    assert set(late["advice_type"].unique()) == set(ADVICE_TYPES)
    outstanding = advice.filter(pl.col("received_date").is_null())
    assert set(outstanding["advice_type"].unique()) == set(ADVICE_TYPES)


def test_most_issued_plans_have_drafts_and_some_do_not(frames):
    issued = frames["assessments"].filter(pl.col("assessment_outcome") == "Y")["request_id"]
    with_draft = issued.is_in(frames["drafts"]["request_id"].implode()).mean()
    assert 0.85 <= with_draft < 1.0


def test_review_histories_with_slippage_amendments_and_gaps(frames):
    reviews = frames["reviews"]
    per_plan = reviews.group_by("plan_id").len()["len"]
    assert per_plan.max() >= 5
    decided = reviews.filter(pl.col("decision_date").is_not_null())
    late_decision = (decided["decision_date"] - decided["meeting_date"]).dt.total_days() > 28
    assert 0.3 <= late_decision.mean() <= 0.8
    amended = reviews.filter(pl.col("outcome") == "amend")
    assert amended["amendment_notice_date"].null_count() < amended.height
    assert amended["amended_final_date"].null_count() > 0
    assert amended["amended_final_date"].drop_nulls().len() > 0
    assert reviews.filter(pl.col("decision_date").is_null()).height > 0  # awaiting a decision
    assert set(reviews["outcome"].drop_nulls().unique()) == {"maintain", "amend", "cease"}
    plans_without_review = frames["plans"].filter(~pl.col("plan_id").is_in(reviews["plan_id"].implode()))
    assert plans_without_review.height > 0


def test_under_fives_ceased_plans_and_phase_transfers(frames):
    plans = frames["plans"].join(frames["people"], on="person_id")
    under5 = plans.filter(pl.col("date_of_birth") > date(AS_OF.year - 5, AS_OF.month, AS_OF.day))
    assert under5.height > 0
    ceased = frames["plans"].filter(pl.col("cease_date").is_not_null())
    assert 0.03 <= ceased.height / frames["plans"].height <= 0.2
    assert set(ceased["cease_reason"].unique()) == set(CEASE_REASONS)
    transfers = frames["phase_transfers"]
    assert set(transfers["transfer_kind"].unique()) == set(TRANSFER_KINDS)
    past = transfers.filter(pl.col("transfer_date") <= AS_OF)
    assert past["final_date"].null_count() > 0
    assert transfers["due_date"].drop_nulls().len() > 0


def test_officers_teams_contacts_and_audits(frames):
    requests = frames["requests"]
    assert requests["case_officer"].n_unique() == 12
    assert requests["team"].n_unique() == 4
    assert requests["request_mediation"].any() and requests["request_tribunal"].any()
    assert frames["assessments"]["assessment_mediation"].any()
    contacts = frames["contacts"]
    assert contacts["person_id"].n_unique() / PEOPLE > 0.85
    assert set(contacts["role"].unique()) == {"parent_carer", "young_person"}
    assert contacts["opted_out"].any()
    assert contacts["email"].null_count() > 0
    audits = frames["qa_audits"]
    assert set(audits["plan_kind"].unique()) == {"draft", "amended"}
    assert audits["rating"].n_unique() == 4


def test_fresh_events_around_as_of(frames):
    fortnight = AS_OF - timedelta(days=14)
    requests = frames["requests"]
    assert requests.filter(pl.col("received_date") > fortnight).height > 0
    assert requests.filter(pl.col("request_outcome_date") > fortnight).height > 0
    assert frames["drafts"].filter(pl.col("draft_plan_date") > fortnight).height > 0
    assert frames["reviews"].filter(pl.col("decision_date") > fortnight).height > 0
