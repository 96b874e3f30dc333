"""People, requests, assessments, drafts and advice: the assessment half of the caseload.

Every event is drawn as a delay from the one before it; an event that would fall after the as-of
date has not happened yet, so recent cases are naturally open (outcome A, advice outstanding).
Proportions follow the national picture (docs/rules.md, Timeliness as DfE counts it): about 45 % of
plans within 20 weeks and a tail of about 7 % past 52 weeks.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl

from ehcp_monitor.domain.canonical import ADVICE_TYPES
from ehcp_monitor.synthetic import names
from ehcp_monitor.synthetic.draws import date_series, id_series, mixture, pick, text_series, uniform_days

PERSON_ID_START = 10_000_001
REQUEST_ID_START = 20_000_001
WINDOW_DAYS = 2922  # about eight years of requests before as_of
HISTORIC_DAYS = 14 * 365  # plans from before the window reach back this far

# Share of assessments that ask for each kind of advice (reg 6(1)), in ADVICE_TYPES order:
# education, health, social_care, educational_psychology, other.
ADVICE_SHARE = dict(zip(ADVICE_TYPES, (0.9, 0.85, 0.7, 0.95, 0.15), strict=True))


@dataclass
class People:
    frame: pl.DataFrame
    dob: np.ndarray  # day numbers
    historic: np.ndarray  # bool: this person's one request predates the window (outcome H)


@dataclass
class Requests:
    """What the plans half needs to know about each request, aligned with `frame` rows."""

    frame: pl.DataFrame
    person: np.ndarray  # index into people
    received: np.ndarray
    decided: np.ndarray  # day numbers, valid where outcome is Y or N
    outcome: np.ndarray  # request outcome code
    assessment: np.ndarray  # assessment outcome code, "" when there is no assessment row
    assessment_date: np.ndarray  # day numbers, valid where outcome is Y or N
    draft: np.ndarray  # day numbers, valid where has_draft
    has_draft: np.ndarray


def make_people(rng: np.random.Generator, n: int, as_of: int) -> People:
    age_years = mixture(rng, n, [(0.08, 1, 4), (0.67, 5, 15), (0.25, 16, 24)]) + rng.random(n)
    age_years = np.maximum(age_years, 1.5)
    dob = as_of - np.floor(age_years * 365.25).astype(np.int64)
    historic = (age_years >= 10) & (rng.random(n) < 0.2)
    forename = pick(rng, names.FORENAMES, n)
    surname = pick(rng, names.SURNAMES, n)
    letter = pick(rng, tuple("ABCDEFGHJKLMNPQRTUVWXYZ"), n)
    upn_digits = rng.integers(0, 10**12, size=n)
    # Children under 5 not yet at school often have no UPN.
    has_upn = ~((age_years < 5) & (rng.random(n) < 0.6))
    frame = pl.DataFrame(
        {
            "person_id": id_series("person_id", PERSON_ID_START, n),
            "date_of_birth": date_series("date_of_birth", dob),
            "forename": forename.astype(str),
            "surname": surname.astype(str),
            "upn_letter": letter.astype(str),
            "upn_digits": upn_digits,
            "has_upn": has_upn,
            "area": pick(rng, names.POSTCODE_AREAS, n).astype(str),
            "district": rng.integers(1, 30, size=n),
            "sector": rng.integers(0, 10, size=n),
            "unit": pick(rng, tuple("ABDEFGHJLNPQRSTUWXYZ"), n).astype(str),
            "unit2": pick(rng, tuple("ABDEFGHJLNPQRSTUWXYZ"), n).astype(str),
        }
    ).select(
        "person_id",
        "date_of_birth",
        "forename",
        "surname",
        pl.when("has_upn")
        .then(pl.col("upn_letter") + pl.col("upn_digits").cast(pl.Utf8).str.zfill(12))
        .alias("upn"),
        pl.format("{}{} {}{}{}", "area", "district", "sector", "unit", "unit2").alias("postcode"),
    )
    return People(frame, dob, historic)


def make_requests(rng: np.random.Generator, people: People, as_of: int) -> Requests:
    n_people = len(people.dob)
    per_person = np.where(people.historic, 1, rng.choice([1, 2, 3], size=n_people, p=[0.65, 0.26, 0.09]))
    person = np.repeat(np.arange(n_people), per_person)
    n = len(person)
    first_of_person = np.r_[0, np.cumsum(per_person)[:-1]]
    is_last = np.arange(n) == (first_of_person + per_person - 1)[person]
    historic = people.historic[person]

    low = np.maximum(people.dob[person] + 180, as_of - WINDOW_DAYS)
    high = np.full(n, as_of)
    low = np.where(historic, np.maximum(people.dob[person] + 365, as_of - HISTORIC_DAYS), low)
    high = np.where(historic, as_of - WINDOW_DAYS - 1, high)
    # Within a person, requests come in date order (the last one is the one that led to a plan).
    received = _sorted_within(person, uniform_days(rng, low, high))

    intended = np.where(
        is_last,
        pick(rng, ("Y", "N", "W"), n, p=[0.95, 0.035, 0.015]),
        pick(rng, ("Y", "N", "W"), n, p=[0.40, 0.42, 0.18]),
    )
    intended = np.where(historic, "H", intended)
    decide = mixture(rng, n, [(0.72, 10, 42), (0.18, 43, 84), (0.10, 85, 200)])
    decided = received + decide
    outcome = np.where(np.isin(intended, ("Y", "N")) & (decided > as_of), "A", intended)
    has_decision_date = np.isin(outcome, ("Y", "N"))

    assessment, assessment_date, total = _assessments(rng, outcome, is_last, received, decide, as_of)
    has_draft, draft = _drafts(rng, assessment, received, decided, total, as_of)

    officer = rng.integers(0, len(names.OFFICERS), size=n)
    on_n = outcome == "N"
    frame = pl.DataFrame(
        {
            "request_id": id_series("request_id", REQUEST_ID_START, n),
            "person_id": people.frame["person_id"].gather(person),
            "received_date": date_series("received_date", received),
            "request_outcome": outcome.astype(str),
            "request_outcome_date": date_series("request_outcome_date", decided, has_decision_date),
            "request_source": pick(rng, names.REQUEST_SOURCES, n, p=[0.45, 0.3, 0.08, 0.07, 0.05, 0.05]).astype(str),
            "request_mediation": rng.random(n) < np.where(on_n, 0.06, 0.004),
            "request_tribunal": rng.random(n) < np.where(on_n, 0.03, 0.002),
            "case_officer": np.array([o for o, _ in names.OFFICERS])[officer],
            "team": np.array([t for _, t in names.OFFICERS])[officer],
        }
    )
    return Requests(frame, person, received, decided, outcome, assessment, assessment_date, draft, has_draft)


def _sorted_within(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` sorted ascending inside each run of equal `group` (group is already contiguous)."""
    return values[np.lexsort((values, group))]


def _assessments(rng, outcome, is_last, received, decide, as_of):
    n = len(outcome)
    intended = np.where(
        is_last,
        pick(rng, ("Y", "N", "W"), n, p=[0.96, 0.03, 0.01]),
        pick(rng, ("N", "W"), n, p=[0.7, 0.3]),
    )
    # Request to final plan: ~45 % within 20 weeks, ~47 % 21-52 weeks, ~8 % over a year.
    to_final = mixture(rng, n, [(0.45, 84, 140), (0.47, 141, 364), (0.08, 365, 720)])
    to_not_issue = mixture(rng, n, [(0.6, 70, 112), (0.4, 113, 300)])
    to_withdraw = decide + mixture(rng, n, [(1.0, 14, 200)])
    total = np.select([intended == "Y", intended == "N"], [to_final, to_not_issue], to_withdraw)
    total = np.maximum(total, decide + 35)
    ended = received + total
    assessment = np.where(ended > as_of, "A", intended)
    assessment = np.where(outcome == "Y", assessment, np.where(outcome == "H", "H", ""))
    return assessment, ended, np.where(intended == "Y", total, -1)


def _drafts(rng, assessment, received, decided, total, as_of):
    n = len(assessment)
    gap = mixture(rng, n, [(1.0, 15, 60)])
    draft = np.maximum(received + total - gap, decided + 7)
    draft = np.minimum(draft, received + np.maximum(total, 0))
    planned = total >= 0
    issued = planned & (assessment == "Y")
    in_progress = planned & (assessment == "A") & (draft <= as_of)
    has_draft = (issued & (rng.random(n) < 0.93)) | in_progress
    return has_draft, draft


def make_assessments(rng: np.random.Generator, requests: Requests) -> pl.DataFrame:
    rows = np.flatnonzero(requests.assessment != "")
    n = len(rows)
    outcome = requests.assessment[rows]
    to_final = requests.assessment_date[rows] - requests.received[rows]
    late = (outcome == "Y") & (to_final > 140)
    week20 = rng.random(n) < np.where(late, 0.08, 0.01)
    decided = np.isin(outcome, ("Y", "N"))
    reason = pick(rng, names.EXCEPTION_REASONS, n)
    return pl.DataFrame(
        {
            "request_id": requests.frame["request_id"].gather(rows),
            "assessment_outcome": outcome.astype(str),
            "assessment_outcome_date": date_series(
                "assessment_outcome_date", requests.assessment_date[rows], decided
            ),
            "week20": week20,
            "assessment_mediation": decided & (rng.random(n) < 0.03),
            "assessment_tribunal": decided & (rng.random(n) < 0.015),
            "exception_reason": text_series("exception_reason", reason, week20 & (rng.random(n) < 0.7)),
        }
    )


def make_drafts(requests: Requests) -> pl.DataFrame:
    rows = np.flatnonzero(requests.has_draft)
    return pl.DataFrame(
        {
            "request_id": requests.frame["request_id"].gather(rows),
            "draft_plan_date": date_series("draft_plan_date", requests.draft[rows]),
        }
    )


def make_advice(rng: np.random.Generator, requests: Requests, as_of: int) -> pl.DataFrame:
    assessed = np.flatnonzero(np.isin(requests.assessment, ("Y", "N", "A", "W")))
    decided = requests.decided[assessed]
    frames = []
    for advice_type, share in ADVICE_SHARE.items():
        chosen = rng.random(len(assessed)) < share
        rows = assessed[chosen]
        n = len(rows)
        requested = decided[chosen] + rng.integers(0, 15, size=n)
        received = requested + mixture(rng, n, [(0.62, 7, 42), (0.3, 43, 90), (0.08, 91, 200)])
        outcome = requests.assessment[rows]
        closed = np.isin(outcome, ("Y", "N"))
        # A closed assessment had its advice in by the time it ended.
        received = np.where(closed, np.minimum(received, requests.assessment_date[rows]), received)
        has_received = (received <= as_of) & (outcome != "W")
        keep = requested <= as_of
        frames.append(
            pl.DataFrame(
                {
                    "request_id": requests.frame["request_id"].gather(rows[keep]),
                    "advice_type": np.full(keep.sum(), advice_type),
                    "requested_date": date_series("requested_date", requested[keep]),
                    "received_date": date_series("received_date", received[keep], has_received[keep]),
                }
            )
        )
    return pl.concat(frames).sort("request_id", "advice_type")
