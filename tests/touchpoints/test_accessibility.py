"""The HTML part of every stage (and every review outcome) passes axe-core's WCAG 2.2 A/AA rules, on a
desktop and at phone width, and reflows at 320 CSS pixels without scrolling sideways (WCAG 1.4.10)."""

from datetime import date

import pytest

from ehcp_monitor import config
from ehcp_monitor.config import STAGES
from ehcp_monitor.touchpoints.templates import render, template_variables
from tests.touchpoints.test_templates import FACTS

CASES = [(s, None) for s in STAGES] + [("review_decision", v) for v in ("maintain", "amend", "cease")]


PHONE_WIDTH = 320  # CSS pixels: WCAG 1.4.10 Reflow


def _page(tmp_path, stage, variant, settings, case_ref="R-123"):
    variables = template_variables(stage=stage, case_ref=case_ref, event_date=date(2025, 3, 1),
                                   variant=variant, context=FACTS, settings=settings,
                                   contact_name="Carol Smith")
    page = tmp_path / f"{stage}-{variant}.html"
    page.write_text(render(stage, variables, settings).html, encoding="utf-8")
    return page


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, PHONE_WIDTH], ids=["desktop", "phone"])
def test_every_email_passes_axe(tmp_path, width):
    from tests.axe import axe_violations

    settings = config.defaults()
    problems = {}
    for stage, variant in CASES:
        result = axe_violations(_page(tmp_path, stage, variant, settings), impacts=("moderate", "serious", "critical"),
                                width=width)
        if result.violations or result.console_errors:
            problems[(stage, variant)] = result.summary() or result.console_errors
    assert problems == {}


@pytest.mark.slow
def test_every_email_fits_a_phone_screen_without_scrolling_sideways(tmp_path):
    from tests.browser import browser_page

    # Words with no place to break are the likeliest to overflow: a case reference at its canonical
    # maximum (64 characters) and long signpost addresses.
    settings = config.defaults().replace(**{
        "touchpoints.sendiass_url": "https://www.example-county-sendiass.org.uk/information-advice-and-support-service",
        "touchpoints.local_offer_url": "https://www.example-county.gov.uk/children-and-families/send-local-offer",
    })
    too_wide = {}
    for stage, variant in CASES:
        with browser_page(_page(tmp_path, stage, variant, settings, "R" * 64), width=PHONE_WIDTH) as result:
            scroll_width = result.page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > PHONE_WIDTH or result.console_errors:
                too_wide[(stage, variant)] = (scroll_width, result.console_errors)
    assert too_wide == {}
