"""DfE's current measures from the LA's own records, reconciliation with the published figures, the
exceptions warning and requests by source (board_pack/dfe_year.py), on SQLite and PostgreSQL."""

from datetime import date

import polars as pl
import pytest

from ehcp_monitor.board_pack.benchmarks import import_benchmarks
from ehcp_monitor.board_pack.dfe_year import dfe_year, last_full_year
from ehcp_monitor.board_pack.kpis import read_inputs
from tests.board_pack.test_kpis import store_dataset
from tests.conftest import DFE_DATA, DFE_DATA_2026

AFTER_2025 = date(2026, 1, 10)  # the last full calendar year is 2025
NEIGHBOURS = ["E06000019", "E10000034"]


@pytest.fixture
def inputs(engine):
    store_dataset(engine)
    import_benchmarks(engine, DFE_DATA)
    import_benchmarks(engine, DFE_DATA_2026)
    return read_inputs(engine)


@pytest.fixture
def settings_sn(settings):
    return settings.replace(**{"board_pack.statistical_neighbours": NEIGHBOURS})


def rows(year):
    return {r.code: r for r in year.rows}


def own(row):
    return (row.own.numerator, row.own.denominator, row.own.value)


def test_last_full_calendar_year():
    assert last_full_year(date(2026, 1, 1)) == 2025 and last_full_year(date(2025, 12, 31)) == 2024


def test_own_figures_the_dfe_way(inputs, settings_sn):
    found = rows(dfe_year(inputs, settings_sn, AFTER_2025))
    # plans issued in 2025, mediation (R5) and tribunal (R6) left out: R1 136 d, R2 155 (exc), R3 407,
    # R4 140 (exc), R10 135, R7 127
    assert own(found["final_20w"]) == (4, 6, 66.7)
    assert own(found["final_20w_band_20_52"]) == (1, 6, 16.7)
    assert own(found["final_20w_band_over_52"]) == (1, 6, 16.7)
    assert own(found["final_20w_ex"]) == (3, 4, 75.0)
    assert own(found["final_20w_band_20_52_ex"]) == (0, 4, 0.0)
    assert found["avg_weeks_issue"].own.value == 26.2  # 1100 days / 6 / 7
    assert found["avg_weeks_issue_ex"].own.value == 28.8  # 805 / 4 / 7 = 28.75
    # cycles due in 2025: P1 and P7 (EY) done in the year, P2, P3 and P5 not done; P6 closed
    assert found["reviews_expected"].own.value == 5
    assert own(found["reviews_completed"]) == (2, 5, 40.0)
    assert own(found["reviews_completed_prior"]) == (0, 5, 0.0)
    assert own(found["reviews_not_completed"]) == (3, 5, 60.0)
    assert own(found["review_decision_4w"]) == (2, 3, 66.7)
    assert own(found["phase_transfer"]) == (1, 2, 50.0)
    assert found["phase_transfers_due"].own.value == 2 and found["phase_transfers_final"].own.value == 1
    assert found["requests"].own.value == 16
    assert own(found["requests_refused"]) == (0, 16, 0.0)


def test_beside_england_region_neighbours_and_reconciled(inputs, settings_sn):
    year = dfe_year(inputs, settings_sn, AFTER_2025)
    assert (year.year, year.published_year) == (2025, "2025")
    twenty = rows(year)["final_20w"]
    published = {k: (c.time_period, c.value) for k, c in twenty.compare.items()}
    assert published["la"] == ("2025", 11.4) and published["england"] == ("2025", 45.5)
    assert published["region"] == ("2025", 40.7)
    assert published["neighbours"][1] is not None
    assert twenty.difference == 55.3 and twenty.flagged
    prior = rows(year)["reviews_completed_prior"]
    assert prior.difference == -3.6 and prior.flagged  # 0.0 own against 3.6 published
    assert rows(year)["reviews_completed"].compare["england"].value == 56.8
    assert rows(year)["avg_weeks_issue"].compare["england"].value == 25.6
    assert rows(year)["avg_weeks_issue"].difference is None  # only rates are reconciled
    assert "final_20w" in {r.code for r in year.flagged}


def test_not_yet_published_year_shows_the_latest_and_reconciles_nothing(engine, settings_sn):
    store_dataset(engine)
    import_benchmarks(engine, DFE_DATA)  # the June 2025 release: 2024 at the latest
    year = dfe_year(read_inputs(engine), settings_sn, AFTER_2025)
    twenty = rows(year)["final_20w"]
    assert twenty.compare["england"].time_period == "2024" and twenty.difference is None
    assert year.flagged == [] and year.published_year == "2024"


def test_differences_of_two_points_or_less_are_not_flagged(inputs, settings_sn):
    # own 66.7 (4 of 6) against a published figure 1.9 points above it
    inputs.figures = inputs.figures.with_columns(
        pl.when((pl.col("measure") == "final_20w") & (pl.col("area_code") == "E06000051")
                & (pl.col("time_period") == "2025")).then(68.6).otherwise(pl.col("value")).alias("value"))
    twenty = rows(dfe_year(inputs, settings_sn, AFTER_2025))["final_20w"]
    assert twenty.difference == -1.9 and not twenty.flagged


def test_warns_when_more_than_90_percent_are_exceptions(inputs, settings_sn):
    assert dfe_year(inputs, settings_sn, AFTER_2025).warnings == []  # 2 of 6
    inputs.results = inputs.results.with_columns(exception=pl.col("measure") == "FINAL_20W")
    year = dfe_year(inputs, settings_sn, AFTER_2025)
    assert year.exception_share == 100.0
    assert len(year.warnings) == 1 and "100.0% of the plans issued in 2025" in year.warnings[0]


def test_requests_by_source_and_review_outcomes(inputs, settings_sn):
    requests = inputs.snapshot["requests"]
    sources = ["parent"] * 9 + ["school"] * 5 + [None] * (requests.height - 14)
    inputs.snapshot.tables["requests"] = requests.sort("request_id").with_columns(
        pl.Series("request_source", sources, pl.Utf8),
        pl.Series("request_outcome", ["N"] * 4 + ["Y"] * (requests.height - 4)))
    inputs.snapshot.tables["reviews"] = pl.DataFrame({
        "plan_id": ["P1", "P2", "P3", "P4"],
        "decision_date": [date(2025, 6, 10), date(2025, 6, 12), date(2025, 6, 30), date(2024, 5, 1)],
        "outcome": ["amend", "maintain", None, "cease"],
    })
    year = dfe_year(inputs, settings_sn, AFTER_2025)
    in_2025 = requests.filter(pl.col("received_date").dt.year() == 2025).height
    assert sum(n for _, n in year.sources) == in_2025 == 16
    assert year.sources[0][0] == "parent"
    refused = rows(year)["requests_refused"]
    assert refused.own.denominator == 16 and refused.compare["la"].value == 19.6
    assert own(rows(year)["review_outcome_amended"]) == (1, 3, 33.3)
    assert own(rows(year)["review_no_outcome_recorded"]) == (1, 3, 33.3)
    assert own(rows(year)["review_outcome_ceased"]) == (0, 3, 0.0)  # P4's decision was in 2024
