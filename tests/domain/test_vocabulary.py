"""The shared vocabulary is declared once and the product speaks only it.

Statuses, 20-week stages, touchpoint stages, outbox statuses and KPI codes come from
`ehcp_monitor.domain.vocabulary`; periods and words from `ehcp_monitor.domain.measures`. These tests
check that the clock engine and the oracle produce nothing outside the vocabulary on a generated
caseload, that the due dates are the registry's periods, and that each list has one home.
"""

import re
from datetime import date

import polars as pl
import pytest

from ehcp_monitor import config, forecast
from ehcp_monitor.board_pack import dfe_year, kpis
from ehcp_monitor.checks import clock_engine, oracle
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain import measures, vocabulary
from ehcp_monitor.domain.measures import MEASURE_CODES, MEASURES, PACK_MEASURES, measure
from ehcp_monitor.domain.vocabulary import (
    KPI_SPECS,
    OPEN_STATUSES,
    OUTBOX_STATUSES,
    STAGES_20W,
    STATUSES,
    TARGET_KPIS,
    TOUCHPOINT_STAGES,
)
from ehcp_monitor.late_list import content
from ehcp_monitor.paths import templates_dir
from ehcp_monitor.synthetic import generate
from ehcp_monitor.touchpoints import dispatch, events, templates
from tests.conftest import ROOT

AS_OF = date(2025, 3, 14)


@pytest.fixture(scope="module")
def caseload() -> Snapshot:
    frames = generate(1500, seed=5, as_of=AS_OF)
    # Some requests agreed with no decision date recorded: their 20-week clocks wait on the decision.
    frames["requests"] = frames["requests"].with_row_index("_n").with_columns(
        request_outcome_date=pl.when(pl.col("_n") % 40 == 0).then(None).otherwise(pl.col("request_outcome_date"))
    ).drop("_n")
    return Snapshot.from_frames(frames)


@pytest.fixture(scope="module")
def results(caseload) -> dict[str, pl.DataFrame]:
    settings = config.defaults()
    return {name: module.evaluate(caseload, settings, AS_OF)
            for name, module in (("engine", clock_engine), ("oracle", oracle))}


# --- what the clocks produce -------------------------------------------------------------------


@pytest.mark.parametrize("source", ["engine", "oracle"])
def test_stages_and_statuses_come_from_the_vocabulary(results, source):
    frame = results[source]
    stages = set(frame["stage"].drop_nulls())
    assert stages <= set(STAGES_20W)
    assert set(frame["status"]) <= set(STATUSES)
    assert set(frame["measure"]) <= set(MEASURE_CODES)
    # every stage shows on this caseload, so the check above is not vacuous
    assert stages == set(STAGES_20W)
    # a stage says where an open 20-week case is stuck: only open FINAL_20W clocks carry one
    staged = frame.filter(pl.col("stage").is_not_null())
    assert set(staged["measure"]) == {"FINAL_20W"}
    assert set(staged["status"]) <= set(OPEN_STATUSES)


@pytest.mark.parametrize("source", ["engine", "oracle"])
def test_due_dates_are_the_registrys_periods(results, source):
    """Each weekly clock falls due its period's days after its anchor; REVIEW_12M 12 months on."""
    frame = results[source]
    for m in MEASURES:
        rows = frame.filter(pl.col("measure") == m.code)
        if m.days is not None:
            assert rows.height > 0, m.code
            gaps = set((rows["due_date"] - rows["anchor_date"]).dt.total_days())
            assert gaps == {m.days}, m.code
        elif m.months is not None:
            assert rows.height > 0, m.code
            months = (rows["due_date"].dt.year() - rows["anchor_date"].dt.year()) * 12 + (
                rows["due_date"].dt.month() - rows["anchor_date"].dt.month())
            assert set(months) == {m.months}, m.code
        assert set(rows["kind"]) <= {m.kind} and set(rows["basis"]) <= {m.basis}


def test_twenty_weeks_as_days_is_derived():
    assert measure("FINAL_20W").days == 140 == vocabulary.DAYS_20W
    assert kpis.ISSUE_BANDS[0] == ("Within 20 weeks", 0, 140)
    assert kpis.OPEN_BANDS[1] == ("Over 6 and up to 20 weeks", 43, 140)
    assert forecast.DEFAULT_DAYS["awaiting_decision"] == (140, 210)
    assert content.OVER_A_YEAR_DAYS == kpis.ISSUE_BANDS[-1][1] == 365


# --- the words people read ---------------------------------------------------------------------


def test_every_measure_has_words_for_families_and_a_label_for_staff():
    for m in MEASURES:
        assert m.words and m.label and m.description, m.code
    for field in ("words", "label"):
        texts = [getattr(m, field) for m in MEASURES]
        assert len(set(texts)) == len(texts), f"two measures share their {field}"
    assert templates.MEASURE_WORDS == {m.code: m.words for m in MEASURES}
    assert content.MEASURE_LABELS == {m.code: m.label for m in MEASURES}


def test_the_words_name_the_measures_own_period_and_basis():
    """A label or a family's sentence that names a period names the measure's: '20 weeks' for FINAL_20W."""
    for m in MEASURES:
        for text in (m.words, m.label):
            for count, unit in re.findall(r"(\d+) (weeks|months)", text):
                assert (int(count), unit) == (m.period.count, m.period.unit), (m.code, text)
        if m.weeks is not None:
            assert f"{m.weeks} weeks" in m.label, m.code
        if m.basis != "none":  # staff see the rule's source: "reg 13(2)", "CFA s44, reg 18"
            assert all(part in m.label for part in m.basis.split("; ")), m.code


def test_email_templates_turn_codes_into_the_registrys_words():
    env = templates._environment("")
    words = env.filters["measure_words"]
    assert words("FINAL_20W") == "issuing the final EHC plan (due within 20 weeks of the request)"
    assert all(words(m.code) == m.words for m in MEASURES)


# --- one home for each list --------------------------------------------------------------------


def test_kpi_codes_have_one_source():
    assert config.TARGET_KPIS is TARGET_KPIS
    assert kpis.SPECS is KPI_SPECS and kpis.HEADLINE is vocabulary.HEADLINE_KPIS
    assert TARGET_KPIS == tuple(code for code, spec in KPI_SPECS.items() if spec.unit == "%")
    assert set(vocabulary.HEADLINE_KPIS) <= set(KPI_SPECS)
    assert dfe_year.ROWS is vocabulary.DFE_YEAR_ROWS
    dfe_codes = [code for code, _, _ in dfe_year.ROWS]
    assert len(set(dfe_codes)) == len(dfe_codes)
    # every KPI a clock feeds is a declared KPI, fed by one clock only, and that clock is in the pack
    fed = [code for m in MEASURES for code in m.kpis]
    assert len(set(fed)) == len(fed) and set(fed) <= set(KPI_SPECS)
    assert {m.code for m in MEASURES if m.kpis} == set(PACK_MEASURES)
    assert kpis.PACK_MEASURES is PACK_MEASURES


def test_kpi_definitions_quote_the_measures_days():
    for code, clock in (("final_20w", "FINAL_20W"), ("decide_6w", "DECIDE_6W"), ("not_issue_16w", "NOT_ISSUE_16W"),
                        ("review_decision_4w", "REVIEW_DECISION_4W"), ("amend_8w", "AMEND_FINAL_8W")):
        assert code in measure(clock).kpis
        assert f"within {measure(clock).days} days" in KPI_SPECS[code].definition


def test_stage_lists_have_one_source():
    assert config.STAGES is TOUCHPOINT_STAGES
    assert forecast.STAGES is STAGES_20W
    assert len(set(STAGES_20W)) == len(STAGES_20W) and len(set(TOUCHPOINT_STAGES)) == len(TOUCHPOINT_STAGES)
    assert set(STAGES_20W).isdisjoint(TOUCHPOINT_STAGES)
    assert events.DRAFT_COMMENT_DAYS is measures.DRAFT_COMMENT_DAYS == 15
    assert set(OPEN_STATUSES) < set(STATUSES)


@pytest.mark.parametrize("stage", TOUCHPOINT_STAGES)
def test_every_touchpoint_stage_has_its_templates(stage):
    for part in ("subject", "txt", "html"):
        assert (templates_dir() / "emails" / f"{stage}.{part}.j2").is_file()


def test_outbox_statuses_are_the_documented_ones():
    assert set(dispatch.DUE_STATUSES) < set(OUTBOX_STATUSES)
    assert len(set(OUTBOX_STATUSES)) == len(OUTBOX_STATUSES)
    doc = (ROOT / "docs" / "touchpoints.md").read_text(encoding="utf-8")
    assert [s for s in OUTBOX_STATUSES if f"`{s}`" not in doc] == []
