"""Deliberately bad rows, covering every validation code V001-V010 (docs/input-formats.md, Bad input).

Bad rows are new rows copied from good ones and then broken, so no good row's children are
lost with them. Each kind is about 0.1 % of its table (at least one row), far below the 5 %
refusal threshold. Frames come back as raw text: an unreadable date only fits in a text column.
"""

from collections.abc import Callable
from datetime import date, timedelta
from itertools import count

import numpy as np
import polars as pl

from ehcp_monitor.synthetic.writers import as_text

BAD_ID_START = 80_000_001
MISSING_PERSON = "79999999"
MISSING_PLAN = "79999998"
MISSING_REQUEST = "79999997"


def add_bad_rows(frames: dict[str, pl.DataFrame], rng: np.random.Generator, as_of: date) -> dict[str, pl.DataFrame]:
    text = {name: as_text(df) for name, df in frames.items()}
    fresh = count(BAD_ID_START)
    after = (as_of + timedelta(days=10)).isoformat()

    def new_ids(k: int) -> pl.Series:
        return pl.Series([str(next(fresh)) for _ in range(k)], dtype=pl.Utf8)

    def broken(table: str, **changes) -> pl.DataFrame:
        """Copies of a few good rows of `table` with `changes` (values, exprs, or k -> Series)."""
        good = text[table]
        k = min(good.height, max(1, good.height // 1000))
        rows = good.sample(n=k, seed=int(rng.integers(2**31)))
        return rows.with_columns(**{c: _value(v, k) for c, v in changes.items()})

    people = [
        broken("people", person_id=new_ids, date_of_birth=None),  # V001
        broken("people", person_id=new_ids, date_of_birth="2019-02-30"),  # V002
        broken("people", person_id=new_ids, forename="Al\x07ex"),  # V010 control character
        broken("people", person_id=new_ids, surname="X" * 150),  # V010 over-long
    ]
    dup_request = broken("requests", request_id=new_ids, request_outcome="W", request_outcome_date=None)
    requests = [
        broken("requests", request_id=new_ids, received_date=None),  # V001
        broken("requests", request_id=new_ids, received_date="31/12/2022"),  # V002
        broken("requests", request_id=new_ids, request_outcome="Q"),  # V003
        dup_request, dup_request,  # V004
        broken("requests", request_id=new_ids, person_id=MISSING_PERSON),  # V005
        broken("requests", request_id=new_ids, request_outcome="Y",  # V006 decision before request
               request_outcome_date=pl.col("received_date").str.to_date() - pl.duration(days=5)),
        broken("requests", request_id=new_ids, person_id=_person_of(text, "people"),  # V006 before birth
               received_date="1999-01-04", request_outcome="W", request_outcome_date=None),
        broken("requests", request_id=new_ids, received_date=after,  # V007
               request_outcome="A", request_outcome_date=None),
        broken("requests", request_id=new_ids, request_outcome="N", request_outcome_date=None),  # V008
    ]
    bad = {
        "people": people,
        "requests": requests,
        "assessments": [broken("assessments", request_id=_unassessed(text), assessment_outcome="A",
                               assessment_outcome_date=None, exception_reason="y" * 600)],  # V010
        "advice": [
            broken("advice", advice_type="dental"),  # V003
            broken("advice", requested_date="yesterday"),  # V002
            broken("advice", received_date=pl.col("requested_date").str.to_date() - pl.duration(days=3),
                   requested_date=pl.col("requested_date").str.to_date() + pl.duration(days=1)),  # V006
            broken("advice", request_id=MISSING_REQUEST),  # V005
        ],
        "plans": [
            broken("plans", plan_id=new_ids, request_id=None, start_date="2020-05-01",
                   cease_date="2020-01-01", cease_reason="1"),  # V006
            broken("plans", plan_id=new_ids, request_id=None, person_id=MISSING_PERSON),  # V005
        ],
        "reviews": [
            broken("reviews", plan_id=MISSING_PLAN),  # V005
            broken("reviews", outcome="postpone", meeting_date=_day_before("meeting_date")),  # V003
            broken("reviews", meeting_date="2024-06-10", decision_date="2024-06-01",
                   outcome="maintain", amendment_notice_date=None, amended_final_date=None),  # V006
        ],
        "contacts": [
            broken("contacts", contact_id=new_ids, email="parent@example.com\r\nBcc: all@example.net"),  # V009
            broken("contacts", contact_id=new_ids, email="not-an-email"),  # V009
            broken("contacts", contact_id=new_ids, email="one@example.com, two@example.org"),  # V009
            broken("contacts", contact_id=pl.col("contact_id")),  # V004 duplicate of a good contact
        ],
        "qa_audits": [broken("qa_audits", rating="excellent", audit_date=_day_before("audit_date"))],  # V003
    }
    out = dict(text)
    for table, parts in bad.items():
        out[table] = pl.concat([text[table], *[_as_utf8(p) for p in parts]])
    return out


def _value(v, k: int) -> pl.Expr | pl.Series:
    if callable(v) and not isinstance(v, pl.Expr):
        return v(k)
    if isinstance(v, pl.Expr):
        return v.cast(pl.Utf8)
    return pl.lit(v, dtype=pl.Utf8)


def _day_before(column: str) -> pl.Expr:
    """A copy keyed one day earlier, so the copy is not also a duplicate of its original."""
    return pl.col(column).str.to_date() - pl.duration(days=1)


def _as_utf8(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.all().cast(pl.Utf8))


def _person_of(text: dict[str, pl.DataFrame], table: str) -> Callable[[int], pl.Series]:
    """k existing person IDs (the first ones: any will do, they were born after 1999-01-04)."""
    return lambda k: text[table]["person_id"].head(k)


def _unassessed(text: dict[str, pl.DataFrame]) -> Callable[[int], pl.Series]:
    """k undecided requests (no assessment row yet), so the copy's only fault is its text."""
    def pick(k: int) -> pl.Series:
        assessed = text["assessments"]["request_id"]
        candidates = text["requests"].filter(
            (pl.col("request_outcome") == "A") & ~pl.col("request_id").is_in(assessed.implode())
        )["request_id"]
        return candidates.head(k).extend_constant(None, max(0, k - candidates.len()))
    return pick
