"""The HTML part of every stage (and every review outcome) passes axe-core's WCAG 2.2 A/AA rules."""

from datetime import date

import pytest

from ehcp_monitor import config
from ehcp_monitor.config import STAGES
from ehcp_monitor.touchpoints.templates import render, template_variables
from tests.touchpoints.test_templates import FACTS

CASES = [(s, None) for s in STAGES] + [("review_decision", v) for v in ("maintain", "amend", "cease")]


@pytest.mark.slow
def test_every_email_passes_axe(tmp_path):
    from tests.axe import axe_violations

    settings = config.defaults()
    problems = {}
    for stage, variant in CASES:
        variables = template_variables(stage=stage, case_ref="R-123", event_date=date(2025, 3, 1),
                                       variant=variant, context=FACTS, settings=settings,
                                       contact_name="Carol Smith")
        page = tmp_path / f"{stage}-{variant}.html"
        page.write_text(render(stage, variables, settings).html, encoding="utf-8")
        result = axe_violations(page, impacts=("moderate", "serious", "critical"))
        if result.violations or result.console_errors:
            problems[(stage, variant)] = result.summary() or result.console_errors
    assert problems == {}
