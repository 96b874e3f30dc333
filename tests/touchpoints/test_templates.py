"""Every stage renders both parts from the real templates; strict, escaped, overridable."""

import re
from datetime import date

import jinja2
import pytest

from ehcp_monitor import config
from ehcp_monitor.config import STAGES
from ehcp_monitor.touchpoints.templates import long_date, render, template_variables

FACTS = {
    "received_date": "2025-01-06", "decision_due": "2025-02-17", "decision_date": "2025-02-10",
    "final_due": "2025-05-26", "advice_types": ["health", "educational_psychology"],
    "draft_date": "2025-03-03", "comments_by": "2025-03-17", "issue_date": "2025-05-20",
    "review_due": "2025-06-01", "meeting_date": "2025-02-20", "outcome": "amend",
    "late_steps": [{"measure": "FINAL_20W", "item": None, "due_date": "2025-05-26", "days_late": 3,
                    "very_late": False}],
    "case_officer": "Jo Officer", "team": "North",
}


def _vars(stage, variant=None, settings=None, **extra):
    return template_variables(stage=stage, case_ref="R-123", event_date=date(2025, 3, 1), variant=variant,
                              context={**FACTS, **extra}, settings=settings or config.defaults(),
                              contact_name="Carol Smith")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_subject_text_and_accessible_html(stage):
    out = render(stage, _vars(stage), config.defaults())
    assert "R-123" in out.subject and "\n" not in out.subject
    assert "Carol" not in out.subject
    assert "R-123" in out.text and "sendteam@example.gov.uk" in out.text and "01234 567890" in out.text
    assert '<html lang="en-GB">' in out.html
    assert re.search(r"<h1[^>]*>[^<]+</h1>", out.html)
    assert "<img" not in out.html
    assert "{{" not in out.text + out.html


def test_dates_are_written_out_in_full():
    assert long_date("2025-03-03") == "Monday 3 March 2025"
    out = render("draft_plan_issued", _vars("draft_plan_issued"), config.defaults())
    assert "Monday 17 March 2025" in out.text and "Monday 17 March 2025" in out.html


@pytest.mark.parametrize("variant, words", [("maintain", "keep the education"), ("amend", "proposed changes"),
                                            ("cease", "stop maintaining"), (None, "made our decision")])
def test_review_decision_has_a_variant_per_outcome(variant, words):
    out = render("review_decision", _vars("review_decision", variant), config.defaults())
    assert words in out.text and words in out.html


def test_html_is_escaped_and_text_is_not():
    out = render("request_received", _vars("request_received", case_officer="<b>Jo & Co</b>"), config.defaults())
    assert "&lt;b&gt;Jo &amp; Co&lt;/b&gt;" in out.html and "<b>Jo" not in out.html
    assert "<b>Jo & Co</b>" in out.text


def test_a_missing_variable_is_an_error_not_a_blank():
    variables = _vars("draft_plan_issued")
    del variables["comments_by"]
    with pytest.raises(jinja2.UndefinedError):
        render("draft_plan_issued", variables, config.defaults())


def test_a_line_break_in_the_case_reference_stays_in_one_subject_line():
    variables = {**_vars("request_received"), "case_ref": "R1\r\nBcc: x@evil.example"}
    out = render("request_received", variables, config.defaults())
    assert "\r" not in out.subject and "\n" not in out.subject


def test_an_la_can_override_any_template(tmp_path):
    (tmp_path / "request_received.subject.j2").write_text("Your request {{ case_ref }} (Shire)\n")
    settings = config.defaults().replace(**{"touchpoints.template_dir": str(tmp_path)})
    out = render("request_received", _vars("request_received", settings=settings), settings)
    assert out.subject == "Your request R-123 (Shire)"
    assert "decide whether to carry out an assessment" in out.text  # the rest stays built in
