"""`generate`: a deterministic synthetic caseload as canonical frames."""

from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl

from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER
from ehcp_monitor.synthetic import caseload, contacts, plans
from ehcp_monitor.synthetic.draws import day_number

STEPS = len(TABLE_ORDER)


def generate(people: int, seed: int, as_of: date, bad_rows: bool = False,
             on_step: Callable[[str], None] | None = None) -> dict[str, pl.DataFrame]:
    """Every canonical table for `people` invented children, the same for the same seed.

    Without bad rows the frames have exactly the canonical columns and dtypes and every row is
    valid. With `bad_rows` a small share of deliberately invalid rows (every code V001-V010) is
    added; since an unreadable date cannot be held in a date column, those frames are raw text
    (every column Utf8, dates ISO, flags 0/1), as an extract would carry them.
    """
    rng = np.random.default_rng(seed)
    day = day_number(as_of)
    step = on_step or (lambda _name: None)
    frames: dict[str, pl.DataFrame] = {}

    folk = caseload.make_people(rng, people, day)
    frames["people"] = folk.frame
    step("people")
    requests = caseload.make_requests(rng, folk, day)
    frames["requests"] = requests.frame
    step("requests")
    frames["assessments"] = caseload.make_assessments(rng, requests)
    step("assessments")
    frames["drafts"] = caseload.make_drafts(requests)
    step("drafts")
    frames["advice"] = caseload.make_advice(rng, requests, day)
    step("advice")
    frames["plans"] = plans.make_plans(rng, folk, requests, day)
    step("plans")
    frames["reviews"] = plans.make_reviews(rng, frames["plans"], folk.frame, day)
    step("reviews")
    frames["phase_transfers"] = plans.make_phase_transfers(rng, frames["plans"], folk.frame, day)
    step("phase_transfers")
    frames["contacts"] = contacts.make_contacts(rng, folk, day)
    step("contacts")
    frames["qa_audits"] = plans.make_qa_audits(rng, frames["plans"], frames["drafts"], frames["reviews"], day)
    step("qa_audits")

    frames = {name: to_canonical(name, frames[name]) for name in TABLE_ORDER}
    if bad_rows:
        from ehcp_monitor.synthetic.bad_rows import add_bad_rows

        frames = add_bad_rows(frames, rng, as_of)
    return frames


def to_canonical(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Exactly the canonical columns of `name`, in order, with their dtypes (an optional column the
    generator does not draw is empty)."""
    schema = CANONICAL_TABLES[name].polars_schema
    return frame.select([
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()
    ])
