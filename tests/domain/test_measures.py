"""One registry of measures: it agrees with the config, the docs, `ehcp-monitor rules` and the regulation."""

import re

import pytest

from ehcp_monitor import config
from ehcp_monitor.domain.measures import (
    GUIDANCE,
    LOCAL,
    MEASURE_CODES,
    MEASURES,
    MONTHS,
    PACK_MEASURES,
    STATUTORY,
    WEEKS,
    measure,
)
from ehcp_monitor.rules_doc import DOC_BEGIN, DOC_END, refresh_doc, render_rules_table
from tests.conftest import ROOT

# Each clock's period as the regulation (or guidance, or the LA's own setting) gives it.
REGULATION = {
    "DECIDE_6W": ("reg 5(1)", WEEKS, 6),
    "ADVICE_6W": ("reg 8", WEEKS, 6),
    "DRAFT_LOCAL": ("none", WEEKS, "rules.draft_target_weeks"),
    "NOT_ISSUE_16W": ("reg 10(1)", WEEKS, 16),
    "FINAL_20W": ("reg 13(2)", WEEKS, 20),
    "REVIEW_12M": ("CFA s44; reg 18", MONTHS, 12),
    "REVIEW_EY": ("CoP 9.178", MONTHS, "rules.early_years_review_months"),
    "REVIEW_DECISION_4W": ("reg 20(10)", WEEKS, 4),
    "AMEND_FINAL_8W": ("reg 22(3)", WEEKS, 8),
    "PHASE_TRANSFER": ("reg 18", None, None),  # fixed dates, no period
}


def test_every_measure_once_in_config_order():
    assert tuple(m.code for m in MEASURES) == config.MEASURE_CODES
    assert config.MEASURE_CODES is MEASURE_CODES  # config reads the codes from the registry
    for m in MEASURES:
        assert m.kind in ("statutory", "guidance", "local")
        assert set(m.settings) <= set(config.SETTINGS_BY_KEY)


@pytest.mark.parametrize("code", MEASURE_CODES)
def test_periods_match_the_regulation(code):
    basis, unit, count = REGULATION[code]
    m = measure(code)
    assert m.basis == basis
    if unit is None:
        assert m.period is None and m.weeks is None and m.months is None and m.days is None
        return
    assert m.period.unit == unit
    if isinstance(count, str):  # the LA's setting gives the count
        assert m.period.count is None and m.period.setting == count
        assert count in m.settings and count in config.SETTINGS_BY_KEY
    else:
        assert m.period.count == count and m.period.setting is None
        assert (m.weeks, m.months) == ((count, None) if unit == WEEKS else (None, count))
        assert m.days == (count * 7 if unit == WEEKS else None)


def test_the_code_names_the_period():
    """FINAL_20W runs 20 weeks, REVIEW_12M 12 months: a code's suffix never contradicts its period."""
    for m in MEASURES:
        suffix = re.fullmatch(r".*_(\d+)([WM])", m.code)
        if suffix:
            assert (int(suffix[1]), {"W": WEEKS, "M": MONTHS}[suffix[2]]) == (m.period.count, m.period.unit)


def test_the_due_rule_is_read_from_the_period():
    assert measure("FINAL_20W").due_rule == "anchor + 20 weeks (140 days)"
    assert measure("DECIDE_6W").due_rule == "anchor + 6 weeks (42 days)"
    assert measure("REVIEW_12M").due_rule == "anchor + 12 months"
    assert measure("DRAFT_LOCAL").due_rule == "anchor + draft_target_weeks weeks"
    assert measure("REVIEW_EY").due_rule == "anchor + early_years_review_months months"
    assert measure("PHASE_TRANSFER").due_rule.startswith("the input due date if given")


def test_kinds_and_pack_membership():
    assert {m.code for m in MEASURES if m.kind == GUIDANCE} == {"REVIEW_EY"}
    assert {m.code for m in MEASURES if m.kind == LOCAL} == {"DRAFT_LOCAL"}
    assert all(m.kind == STATUTORY for m in MEASURES if m.code not in ("REVIEW_EY", "DRAFT_LOCAL"))
    # the weekly list's own clocks stay out of the board pack; every pack clock has a KPI
    assert set(MEASURE_CODES) - set(PACK_MEASURES) == {"ADVICE_6W", "DRAFT_LOCAL"}
    assert all(measure(code).kpis for code in PACK_MEASURES)
    assert not any(measure(code).kpis for code in ("ADVICE_6W", "DRAFT_LOCAL"))


def test_docs_rules_md_carries_the_generated_table():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert DOC_BEGIN in text and DOC_END in text
    assert refresh_doc(text, config.defaults()) == text, "run: python -m ehcp_monitor.rules_doc"


def test_settings_in_force_follow_the_config():
    settings = config.defaults().replace(**{
        "rules.draft_target_weeks": 12, "rules.very_late_days_by_measure": {"REVIEW_12M": 28}})
    table = render_rules_table(settings)
    assert "`rules.draft_target_weeks = 12`" in table
    review_line = next(line for line in table.splitlines() if line.startswith("| `REVIEW_12M`"))
    assert "`rules.very_late_days = 28`" in review_line
    # guidance and local clocks are never very late, so no threshold is shown for them
    for code in ("REVIEW_EY", "DRAFT_LOCAL"):
        line = next(line for line in table.splitlines() if line.startswith(f"| `{code}`"))
        assert "very_late_days" not in line
