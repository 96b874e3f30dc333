"""Contacts: a parent carer for most children, the young person too for most over-16s."""

import numpy as np
import polars as pl

from ehcp_monitor.synthetic import names
from ehcp_monitor.synthetic.caseload import People
from ehcp_monitor.synthetic.draws import pick

CONTACT_ID_START = 90_000_001


def make_contacts(rng: np.random.Generator, people: People, as_of: int) -> pl.DataFrame:
    n = len(people.dob)
    age = (as_of - people.dob) / 365.25
    parent = rng.random(n) < 0.93
    young = (age >= 16) & (rng.random(n) < 0.6)
    person = np.r_[np.flatnonzero(parent), np.flatnonzero(young)]
    role = np.r_[np.full(parent.sum(), "parent_carer"), np.full(young.sum(), "young_person")]
    order = np.argsort(person, kind="stable")
    person, role = person[order], role[order]
    m = len(person)
    surname = people.frame["surname"].gather(person)
    forename = pl.Series(pick(rng, names.FORENAMES, m).astype(str))
    forename = pl.select(
        pl.when(pl.Series(role == "young_person")).then(people.frame["forename"].gather(person)).otherwise(forename)
    ).to_series()
    frame = pl.DataFrame(
        {
            # Stable from one as-of date to the next, as a case system's keys are: the child's
            # position, and the role (a young person turning 16 must not re-key every later contact).
            "contact_id": pl.Series(CONTACT_ID_START + 2 * person + (role == "young_person")).cast(pl.Utf8),
            "person_id": people.frame["person_id"].gather(person),
            "role": role.astype(str),
            "forename": forename,
            "surname": surname,
            "serial": np.arange(m),
            "domain": pick(rng, names.EMAIL_DOMAINS, m).astype(str),
            "has_email": rng.random(m) < 0.88,
            "opted_out": rng.random(m) < 0.04,
        }
    )
    return frame.select(
        "contact_id",
        "person_id",
        "role",
        pl.format("{} {}", "forename", "surname").alias("name"),
        pl.when("has_email")
        .then(pl.format("{}.{}{}@{}", pl.col("forename").str.to_lowercase(),
                        pl.col("surname").str.to_lowercase(), "serial", "domain"))
        .alias("email"),
        "opted_out",
    )
