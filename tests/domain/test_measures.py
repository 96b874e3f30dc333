"""One registry of measures: it agrees with the config, the docs and `ehcp-monitor rules`."""

from ehcp_monitor import config
from ehcp_monitor.domain.measures import DOC_BEGIN, DOC_END, MEASURES, refresh_doc, render_rules_table
from tests.conftest import ROOT


def test_every_measure_once_in_config_order():
    assert tuple(m.code for m in MEASURES) == config.MEASURE_CODES
    for m in MEASURES:
        assert m.kind in ("statutory", "guidance", "local")
        assert set(m.settings) <= set(config.SETTINGS_BY_KEY)


def test_docs_rules_md_carries_the_generated_table():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert DOC_BEGIN in text and DOC_END in text
    assert refresh_doc(text, config.defaults()) == text, "run: python -m ehcp_monitor.domain.measures"


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
