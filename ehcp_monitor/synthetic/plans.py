"""Plans, their annual reviews, phase transfers and QA audits: the plan half of the caseload."""

import numpy as np
import polars as pl

from ehcp_monitor.domain.calendar import age_expr, months_expr
from ehcp_monitor.domain.canonical import CEASE_REASONS
from ehcp_monitor.synthetic import names
from ehcp_monitor.synthetic.caseload import People, Requests
from ehcp_monitor.synthetic.draws import date_series, id_series, mixture, pick, text_series, uniform_days

PLAN_ID_START = 40_000_001


def make_plans(rng: np.random.Generator, people: People, requests: Requests, as_of: int) -> pl.DataFrame:
    rows = np.flatnonzero(np.isin(requests.assessment, ("Y", "H")))
    n = len(rows)
    historic = requests.assessment[rows] == "H"
    start = np.where(
        historic,
        requests.received[rows] + rng.integers(150, 400, size=n),
        requests.assessment_date[rows],
    )
    ceased = (rng.random(n) < 0.09) & (start + 30 <= as_of)
    cease = uniform_days(rng, start + 30, np.full(n, as_of))
    reason = pick(rng, CEASE_REASONS, n, p=[0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05, 0.03, 0.02])
    return pl.DataFrame(
        {
            "plan_id": id_series("plan_id", PLAN_ID_START, n),
            "person_id": people.frame["person_id"].gather(requests.person[rows]),
            "request_id": requests.frame["request_id"].gather(rows),
            "start_date": date_series("start_date", start),
            "cease_date": date_series("cease_date", cease, ceased),
            "cease_reason": text_series("cease_reason", reason, ceased),
            **_plan_officers(n),
        }
    )


def _plan_officers(n: int) -> dict[str, pl.Series]:
    """Who holds each plan (its reviews), dealt in turn and drawing nothing from the generator, so
    every other column is as before; one plan in ten has none and falls back to its request's."""
    turn = (np.arange(n) * 5) % len(names.OFFICERS)
    blank = np.arange(n) % 10 == 9
    officer = np.array([o for o, _ in names.OFFICERS])[turn]
    team = np.array([t for _, t in names.OFFICERS])[turn]
    return {
        "case_officer": pl.Series("case_officer", np.where(blank, None, officer), dtype=pl.Utf8),
        "team": pl.Series("team", np.where(blank, None, team), dtype=pl.Utf8),
    }


def _with_dob(plans: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    return plans.join(people.select("person_id", "date_of_birth"), on="person_id", how="left")


def make_reviews(rng: np.random.Generator, plans: pl.DataFrame, people: pl.DataFrame, as_of: int,
                 early_years_age: int = 5, early_years_months: int = 6) -> pl.DataFrame:
    """A review cycle at a time for every plan at once: due 12 months (6 for under-5s) after the
    previous completion (CFA s44; CoP 9.178), with realistic slippage, late decisions and gaps."""
    as_of_date = pl.lit(as_of).cast(pl.Date)
    chains = _with_dob(plans, people).select(
        "plan_id", "date_of_birth", "cease_date", pl.col("start_date").alias("anchor")
    )
    cycles = [pl.DataFrame(schema={"plan_id": pl.Utf8, "meeting_date": pl.Date, "decision_date": pl.Date})]
    while chains.height:
        n = chains.height
        under5 = age_expr(pl.col("date_of_birth"), pl.col("anchor")) < early_years_age
        slip = mixture(rng, n, [(0.6, -70, -14), (0.27, -13, 45), (0.13, 46, 180)])
        lag = mixture(rng, n, [(0.45, 0, 28), (0.4, 29, 70), (0.15, 71, 150)])
        chains = chains.with_columns(
            pl.when(under5).then(months_expr(pl.col("anchor"), early_years_months))
            .otherwise(months_expr(pl.col("anchor"), 12)).alias("due"),
            pl.Series("slip", slip), pl.Series("lag", lag),
            pl.Series("missing", rng.random(n) < 0.03),
        ).with_columns(
            (pl.col("due") + pl.duration(days=pl.col("slip"))).alias("meeting_date"),
        ).with_columns(
            (pl.col("meeting_date") + pl.duration(days=pl.col("lag"))).alias("decided")
        )
        held = ~pl.col("missing") & (pl.col("meeting_date") <= as_of_date) & (
            pl.col("cease_date").is_null() | (pl.col("meeting_date") < pl.col("cease_date"))
        )
        decided_in_time = (pl.col("decided") <= as_of_date) & (
            pl.col("cease_date").is_null() | (pl.col("decided") <= pl.col("cease_date"))
        )
        chains = chains.filter(held).with_columns(
            pl.when(decided_in_time).then(pl.col("decided")).alias("decision_date")
        )
        cycles.append(chains.select("plan_id", "meeting_date", "decision_date"))
        chains = chains.filter(pl.col("decision_date").is_not_null()).select(
            "plan_id", "date_of_birth", "cease_date", pl.col("decision_date").alias("anchor")
        )
    reviews = pl.concat(cycles)
    return _outcomes(rng, reviews, plans, as_of)


def _outcomes(rng, reviews: pl.DataFrame, plans: pl.DataFrame, as_of: int) -> pl.DataFrame:
    n = reviews.height
    as_of_date = pl.lit(as_of).cast(pl.Date)
    notice = rng.integers(0, 15, size=n)
    to_final = mixture(rng, n, [(0.55, 14, 56), (0.35, 57, 120), (0.10, 121, 250)])
    decided = pl.col("decision_date").is_not_null()
    reviews = reviews.join(plans.select("plan_id", "cease_date"), on="plan_id", how="left").with_columns(
        pl.Series("amend", rng.random(n) < 0.35),
        pl.Series("notice_recorded", rng.random(n) < 0.95),
        pl.Series("final_recorded", rng.random(n) < 0.95),
        (pl.col("decision_date") + pl.duration(days=pl.Series(notice))).alias("notice"),
        (pl.col("meeting_date") == pl.col("meeting_date").max().over("plan_id")).alias("latest"),
    ).with_columns(
        (pl.col("notice") + pl.duration(days=pl.Series(to_final))).alias("final"),
        pl.when(~decided).then(None)
        .when(pl.col("latest") & pl.col("cease_date").is_not_null()).then(pl.lit("cease"))
        .when(pl.col("amend")).then(pl.lit("amend"))
        .otherwise(pl.lit("maintain")).alias("outcome"),
    )
    has_notice = (pl.col("outcome") == "amend") & pl.col("notice_recorded") & (pl.col("notice") <= as_of_date)
    return reviews.select(
        "plan_id", "meeting_date", "decision_date", "outcome",
        pl.when(has_notice).then("notice").alias("amendment_notice_date"),
        pl.when(has_notice & pl.col("final_recorded") & (pl.col("final") <= as_of_date))
        .then("final").alias("amended_final_date"),
    ).sort("plan_id", "meeting_date")


def make_phase_transfers(rng: np.random.Generator, plans: pl.DataFrame, people: pl.DataFrame,
                         as_of: int) -> pl.DataFrame:
    """Transfers into reception and year 7 (school, due 15 February) and into post-16 (due 31 March)
    for the September after the birthday that starts the phase, plus a few post-16 moves at other
    times (due 5 months before) (reg 18)."""
    as_of_date = pl.lit(as_of).cast(pl.Date)
    base = _with_dob(plans, people).with_columns(
        (pl.col("date_of_birth").dt.year() + (pl.col("date_of_birth").dt.month() >= 9).cast(pl.Int32))
        .alias("cohort")
    )
    kinds = []
    for kind, age, due_month, due_day in (("school", 4, 2, 15), ("school", 11, 2, 15), ("post16", 16, 3, 31)):
        year = pl.col("cohort") + age
        kinds.append(base.select(
            "plan_id", "start_date", "cease_date",
            pl.lit(kind).alias("transfer_kind"),
            pl.date(year, 9, 1).alias("transfer_date"),
            pl.date(year, due_month, due_day).alias("rule_due"),
        ))
    other = base.filter(pl.Series(rng.random(base.height) < 0.03))
    offset = rng.integers(-700, 300, size=other.height)
    kinds.append(other.select(
        "plan_id", "start_date", "cease_date",
        pl.lit("post16_other").alias("transfer_kind"),
        (as_of_date + pl.duration(days=pl.Series(offset))).alias("transfer_date"),
    ).with_columns(months_expr(pl.col("transfer_date"), -5).alias("rule_due")))
    transfers = pl.concat(kinds).filter(
        (pl.col("rule_due") > pl.col("start_date"))
        & (pl.col("transfer_date") <= as_of_date + pl.duration(days=400))
        & (pl.col("cease_date").is_null() | (pl.col("cease_date") > pl.col("transfer_date")))
    )
    n = transfers.height
    slip = mixture(rng, n, [(0.65, -60, 0), (0.25, 1, 90), (0.10, 91, 200)])
    override = rng.random(n) < 0.02
    transfers = transfers.with_columns(
        pl.when(pl.Series(override)).then(pl.col("rule_due") - pl.duration(days=14)).alias("due_date"),
        pl.max_horizontal(pl.col("rule_due") + pl.duration(days=pl.Series(slip)), "start_date").alias("final"),
        pl.Series("recorded", rng.random(n) < 0.93),
    )
    return transfers.select(
        "plan_id", "transfer_kind", "transfer_date", "due_date",
        pl.when(pl.col("recorded") & (pl.col("final") <= as_of_date)).then("final").alias("final_date"),
    ).sort("plan_id", "transfer_date")


def make_qa_audits(rng: np.random.Generator, plans: pl.DataFrame, drafts: pl.DataFrame,
                   reviews: pl.DataFrame, as_of: int) -> pl.DataFrame:
    as_of_date = pl.lit(as_of).cast(pl.Date)
    draft = plans.join(drafts, on="request_id").select("plan_id", pl.col("draft_plan_date").alias("done"),
                                                       pl.lit("draft").alias("plan_kind"))
    amended = reviews.filter(pl.col("amended_final_date").is_not_null()).select(
        "plan_id", pl.col("amended_final_date").alias("done"), pl.lit("amended").alias("plan_kind"))
    audited = pl.concat([draft, amended])
    audited = audited.filter(pl.Series(rng.random(audited.height) < 0.12))
    n = audited.height
    ratings = pick(rng, ("outstanding", "good", "requires_improvement", "inadequate"), n,
                   p=[0.1, 0.5, 0.3, 0.1])
    return audited.select(
        "plan_id",
        pl.min_horizontal(pl.col("done") + pl.duration(days=pl.Series(rng.integers(0, 21, size=n))),
                          as_of_date).alias("audit_date"),
        "plan_kind",
        pl.Series("rating", ratings.astype(str)),
    ).unique(["plan_id", "audit_date", "plan_kind"], keep="first", maintain_order=True)
