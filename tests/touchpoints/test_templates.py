"""Every stage renders both parts from the real templates; strict, escaped, overridable."""

import re
from datetime import date
from itertools import pairwise

import jinja2
import pytest

from ehcp_monitor import config
from ehcp_monitor.config import STAGES
from ehcp_monitor.touchpoints.templates import long_date, render, render_text, template_variables

FACTS = {
    "received_date": "2025-01-06", "decision_due": "2025-02-17", "decision_date": "2025-02-10",
    "final_due": "2025-05-26", "advice_types": ["health", "educational_psychology"],
    "draft_date": "2025-03-03", "comments_by": "2025-03-17", "issue_date": "2025-05-20",
    "review_due": "2025-06-01", "meeting_date": "2025-02-20", "outcome": "amend",
    "late_steps": [{"measure": "FINAL_20W", "item": None, "due_date": "2025-05-26", "days_late": 3,
                    "very_late": False, "expected_date": "2025-07-01", "expected_from": "forecast"}],
    "stage_20w": "drafting", "next_measure": "FINAL_20W", "next_date": "2025-05-26", "final_late": False,
    "case_officer": "Jo Officer", "team": "North", "child_name": "Sam",
}


def _vars(stage, variant=None, settings=None, to_young_person=False, **extra):
    return template_variables(stage=stage, case_ref="R-123", event_date=date(2025, 3, 1), variant=variant,
                              context={**FACTS, **extra}, settings=settings or config.defaults(),
                              contact_name="Carol Smith", to_young_person=to_young_person)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_subject_text_and_accessible_html(stage):
    out = render(stage, _vars(stage), config.defaults())
    assert "R-123" in out.subject and "\n" not in out.subject
    assert "Carol" not in out.subject and "Sam" not in out.subject  # no name, the child's neither
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


# --- which child, signposts, what happens next, appeal wording (issue 19) -------------------------

VARIANTS = [(s, None) for s in STAGES] + [("review_decision", v) for v in ("maintain", "amend", "cease")]


def _sms(stage, variables, settings):
    from ehcp_monitor.touchpoints.templates import _environment

    text = _environment(settings.touchpoints.template_dir).get_template(f"sms/{stage}.txt.j2").render(variables)
    return " ".join(text.split())


@pytest.mark.parametrize("stage, variant", VARIANTS)
def test_every_stage_renders_text_html_and_sms(stage, variant):
    settings = config.defaults()
    variables = _vars(stage, variant)
    out = render(stage, variables, settings)
    sms = _sms(stage, variables, settings)
    assert out.text.strip() and out.html.strip() and "R-123" in sms and "01234 567890" in sms
    assert "Sam" not in sms and "Carol" not in sms  # a text names no one (docs/touchpoints.md, Text messages)


@pytest.mark.parametrize("mode, reference", [("first_name", "Sam"), ("initials", "S. T."), ("none", None)])
def test_the_body_names_the_child_as_the_la_chooses_and_the_subject_never(mode, reference):
    import polars as pl

    from ehcp_monitor.touchpoints.events import child_reference

    people = pl.DataFrame({"forename": ["Sam"], "surname": ["Taylor"]})
    assert people.select(child_reference(mode)).item() == reference
    for stage, variant in VARIANTS:
        out = render(stage, _vars(stage, variant, child_name=reference), config.defaults())
        if reference:
            assert f"This message is about {reference}." in out.text
            assert f"<p>This message is about {reference}.</p>" in out.html
        else:
            assert "This message is about" not in out.text + out.html
        assert "Sam" not in out.subject and "S. T." not in out.subject and "Taylor" not in out.subject


# Phrases that speak to a parent about the child: never in a message to the young person.
ABOUT_THE_CHILD = ("parent or carer", "This message is about", "the child or young person", "About Sam")


@pytest.mark.parametrize("stage, variant", VARIANTS)
def test_a_young_person_is_spoken_to_not_about(stage, variant):
    settings = config.defaults()
    to_parent = _vars(stage, variant)
    to_them = {**_vars(stage, variant, to_young_person=True), "contact_name": None}
    for variables in (to_them, {**to_them, "contact_name": "Sam Taylor"}):
        out = render(stage, variables, settings)
        every_part = out.text + out.html + render_text(stage, variables, settings)
        assert not [p for p in ABOUT_THE_CHILD if p in every_part], stage
    # The greeting, then a blank line, in a text email and a letter alike.
    assert render(stage, to_them, settings).text.startswith("Hello,\n\n")
    assert render(stage, {**to_parent, "contact_name": None}, settings).text.startswith("Dear parent or carer,\n\n")
    assert render(stage, to_parent, settings).text.startswith("Dear Carol Smith,\n\nThis message is about Sam.\n")


@pytest.mark.parametrize("stage, words", [
    ("decision_to_assess", "We will also ask for your views."),
    ("review_upcoming", "ask for your views, at least 2 weeks before it."),
    ("decision_not_to_issue", "how your school, college or setting can support you."),
])
def test_what_a_young_person_is_told_of_their_own_views_and_support(stage, words):
    out = render(stage, _vars(stage, to_young_person=True), config.defaults())
    assert words in " ".join(out.text.split()) and words in " ".join(out.html.split())


def test_a_row_planned_before_the_child_was_named_still_renders():
    facts = {k: v for k, v in FACTS.items() if k != "child_name"}
    variables = template_variables(stage="request_received", case_ref="R-123", event_date=date(2025, 3, 1),
                                   variant=None, context=facts, settings=config.defaults())
    assert "This message is about" not in render("request_received", variables, config.defaults()).text


SIGNPOSTS = {
    "touchpoints.sendiass_name": "Shire SENDIASS", "touchpoints.sendiass_phone": "01999 100200",
    "touchpoints.sendiass_email": "advice@shire-iass.org.uk", "touchpoints.sendiass_url": "https://shire-iass.org.uk",
    "touchpoints.local_offer_url": "https://www.shire.gov.uk/send-local-offer",
}


@pytest.mark.parametrize("stage, variant", VARIANTS)
def test_every_message_signposts_sendiass_and_the_local_offer(stage, variant):
    settings = config.defaults().replace(**SIGNPOSTS)
    out = render(stage, _vars(stage, variant, settings=settings), settings)
    for value in SIGNPOSTS.values():
        assert value in out.text and value in out.html
    assert "FREE, INDEPENDENT ADVICE" in out.text and "Free, independent advice</h2>" in out.html
    assert '<a href="https://shire-iass.org.uk"' in out.html and 'href="mailto:advice@shire-iass.org.uk"' in out.html


def test_a_signpost_left_empty_is_not_printed():
    settings = config.defaults().replace(**{k: "" for k in SIGNPOSTS})
    out = render("request_received", _vars("request_received", settings=settings), settings)
    assert "your local SEND Information, Advice and Support Service (SENDIASS)" in out.text
    assert "Phone: " not in out.text and "Website:" not in out.text and "Local Offer" not in out.text
    assert "<ul>" not in out.html.split("Free, independent advice")[1]


def _delay(steps, settings=None):
    settings = settings or config.defaults()
    return render("delay_notice", _vars("delay_notice", settings=settings, late_steps=steps), settings)


def test_a_delay_notice_says_when_the_step_is_now_expected_what_is_done_and_who_to_ask():
    steps = [
        {"measure": "FINAL_20W", "item": None, "due_date": "2025-05-26", "days_late": 3, "very_late": False,
         "expected_date": "2025-07-01", "expected_from": "forecast"},
        {"measure": "ADVICE_6W", "item": "health", "due_date": "2025-05-01", "days_late": 28, "very_late": False,
         "expected_date": "2025-06-12", "expected_from": "default"},
    ]
    settings = config.defaults().replace(**{"touchpoints.delay_next_steps": "We have asked the health service "
                                            "to send the advice this week."})
    out = _delay(steps, settings)
    for part in (out.text, out.html):
        assert "issuing the final EHC plan" in part and "from health services" in part
        assert "Tuesday 1 July 2025" in part and "how long cases like this have taken" in part  # the forecast
        assert "Thursday 12 June 2025" in part  # the default
        assert "We have asked the health service to send the advice this week." in part
        assert "Jo Officer" in part and "sendteam@example.gov.uk" in part and "01234 567890" in part
    assert part.count("how long cases like this") == 1  # only the forecast step says it is an estimate


def test_a_delay_notice_planned_before_expected_dates_still_renders():
    out = _delay([{"measure": "DECIDE_6W", "item": None, "due_date": "2025-02-17", "days_late": 3,
                   "very_late": False}])
    assert "Monday 17 February 2025" in out.text and "We now expect it" not in out.text
    assert "We are chasing everyone" in out.text  # the default of touchpoints.delay_next_steps


SCHOOL_ONLY = "If you only want to appeal the school named, you do not need to contact a mediation adviser first"
MEDIATION_FIRST = "you must contact a mediation adviser"


@pytest.mark.parametrize("stage, variant, school_only", [
    ("decision_not_to_assess", None, False),
    ("decision_not_to_issue", None, False),
    ("review_decision", "cease", False),
    ("review_decision", "maintain", False),
    ("final_plan_issued", None, True),
    ("amended_plan_issued", None, True),
])
def test_appeal_wording_is_right_for_each_decision(stage, variant, school_only):
    # Mediation advice comes before any appeal (Children and Families Act 2014 s55), except one only
    # about the school or placement named in a plan.
    out = render(stage, _vars(stage, variant), config.defaults())
    for part in (out.text, out.html.replace("&#39;", "'")):
        assert "First-tier Tribunal" in part and MEDIATION_FIRST in part
        # The time limit in full (reg 43): a family must not think they are out of time.
        assert "within 2 months of the date of our decision letter" in part
        assert "within 1 month of getting a mediation certificate if that is later" in part
        assert (SCHOOL_ONLY in part) is school_only
        if school_only:
            assert "Before you appeal, you must contact a mediation adviser" not in part
            assert "If your appeal is about the description of needs or the support in the plan" in part


@pytest.mark.parametrize("stage, facts", [
    ("delay_notice", {"late_steps": [{"measure": "FINAL_20W", "item": None, "due_date": "2026-09-30", "days_late": 300,
                                      "very_late": True, "expected_date": "2026-09-30", "expected_from": "forecast"}]}),
    ("progress_update", {"final_late": False, "next_date": "2026-09-30"}),
    ("progress_update", {"final_late": True}),
])
def test_the_new_texts_fit_one_message_at_their_longest(stage, facts):
    settings = config.defaults().replace(**{"touchpoints.team_phone": "+44 20 7946 0000"})
    variables = {**_vars(stage, settings=settings, **facts), "case_ref": "R" * 64}
    sms = _sms(stage, variables, settings)
    assert len(sms) <= 160 and ("30 September 2026" in sms or "late" in sms)


def test_a_delay_notice_sent_on_or_after_its_expected_date_leaves_the_date_out():
    """Planned on Saturday, sent on Monday: an expected date of Sunday is never shown as ahead."""
    steps = [
        {"measure": "FINAL_20W", "item": None, "due_date": "2025-05-26", "days_late": 3, "very_late": False,
         "expected_date": "2025-06-01", "expected_from": "forecast"},
        {"measure": "ADVICE_6W", "item": "health", "due_date": "2025-05-01", "days_late": 28, "very_late": False,
         "expected_date": "2025-06-12", "expected_from": "default"},
    ]
    settings = config.defaults()
    facts = {**FACTS, "late_steps": steps}
    variables = template_variables(stage="delay_notice", case_ref="R1", event_date=date(2025, 5, 31),
                                   variant=None, context=facts, settings=settings, sent_on=date(2025, 6, 2))
    out = render("delay_notice", variables, settings)
    for part in (out.text, out.html):
        assert "Sunday 1 June 2025" not in part and "Thursday 12 June 2025" in part
    assert [s["expected_date"] for s in variables["late_steps"]] == [None, "2025-06-12"]
    # On the day before, the date is still ahead and shown.
    earlier = template_variables(stage="delay_notice", case_ref="R1", event_date=date(2025, 5, 31), variant=None,
                                 context=facts, settings=settings, sent_on=date(2025, 5, 31))
    assert "Sunday 1 June 2025" in render("delay_notice", earlier, settings).text


def _sent_on(stage, sent_on, **facts):
    variables = template_variables(stage=stage, case_ref="R-123", event_date=date(2025, 3, 1), variant=None,
                                   context={**FACTS, **facts}, settings=config.defaults(), sent_on=sent_on)
    out = render(stage, variables, config.defaults())
    return " ".join(out.text.split()), " ".join(out.html.split()), render_text(stage, variables, config.defaults())


def test_a_final_plan_due_date_passed_by_the_day_the_decision_goes_is_not_told_as_ahead():
    # FACTS: the final plan due Monday 26 May 2025.
    for part in _sent_on("decision_to_assess", date(2025, 5, 26))[:2]:
        assert "the final plan must be issued by Monday 26 May 2025" in part.replace("<strong>", "").replace(
            "</strong>", "")
    text, html, sms = _sent_on("decision_to_assess", date(2025, 5, 27))
    for part in (text, html.replace("<strong>", "").replace("</strong>", "")):
        assert "should have been issued by Monday 26 May 2025" in part and "must be issued" not in part
        assert "We are sorry that it is late." in part
    assert "Final plan due" not in sms
    assert "Final plan due by 26 May 2025" in _sent_on("decision_to_assess", date(2025, 5, 20))[2]


def test_a_request_received_sent_after_its_decision_date_does_not_tell_that_date_as_ahead():
    """Keyed late, it may go beside its decision (made on time) or its apology: neither "we will
    decide by" a date gone, nor an apology for a delay there may not have been."""
    # FACTS: the decision due Monday 17 February 2025.
    text, html, sms = _sent_on("request_received", date(2025, 2, 17))
    assert "We will decide whether to carry out an assessment by Monday 17 February 2025" in text
    assert "Decision by 17 February 2025" in sms
    text, html, sms = _sent_on("request_received", date(2025, 2, 18))
    for part in (text, html.replace("<strong>", "").replace("</strong>", "")):
        assert ("The law gives us 6 weeks to decide whether to carry out an assessment: until Monday 17 February "
                "2025. If you have not had our decision, your case officer can tell you where things are.") in part
        assert "sorry" not in part.lower() and "We will decide whether" not in part
    assert "Decision was due 17 February 2025: not had it? Call us." in sms and "Decision by" not in sms


@pytest.mark.parametrize("decision_due", ["2025-02-17", None])
def test_a_request_received_whose_decision_is_recorded_does_not_say_we_will_decide(decision_due):
    """Keyed late with its decision, the two go the same night: "we will decide by" would arrive
    beside "we have decided". Worded as the request received past its decision date, claiming
    neither that a decision was made nor that one is to come."""
    text, html, sms = _sent_on("request_received", date(2025, 2, 10), decided=True, decision_due=decision_due)
    until = ": until Monday 17 February 2025" if decision_due else ""
    for part in (text, html.replace("<strong>", "").replace("</strong>", "")):
        assert (f"The law gives us 6 weeks to decide whether to carry out an assessment{until}. If you have not "
                "had our decision, your case officer can tell you where things are.") in part
        assert "We will decide" not in part and "We will write to you with our decision" not in part
    assert ("Decision due by 17 February 2025: not had it? Call us." if decision_due
            else "Not had our decision? Call us.") in sms
    assert "Decision by" not in sms
    # A row planned before the fact existed reads as before.
    text, _html, _sms = _sent_on("request_received", date(2025, 2, 10))
    assert "We will decide whether to carry out an assessment by Monday 17 February 2025" in text


def test_a_draft_whose_comment_days_ended_before_it_went_says_they_ended():
    # FACTS: comments by Monday 17 March 2025.
    text, html, sms = _sent_on("draft_plan_issued", date(2025, 3, 17))
    assert "You have until Monday 17 March 2025" in text and "Your views by 17 March 2025" in sms
    text, html, sms = _sent_on("draft_plan_issued", date(2025, 3, 18))
    for part in (text, html):
        assert "The 15 days for your comments ended on Monday 17 March 2025" in part
        assert "You have until" not in part and "What you can do by" not in part
    assert "Views were due 17 March 2025: call us now." in sms


@pytest.mark.parametrize("final_outcome, told, sms_told", [
    ("issued", "We have issued the final EHC plan", "Final plan now issued: not had it? Call us."),
    ("not_issued", "We have decided not to issue an EHC plan",
     "We have decided not to issue a plan. Call us.")])
@pytest.mark.parametrize("sent_on", [date(2025, 3, 10), date(2025, 6, 2)])
def test_a_draft_whose_final_plan_is_in_the_records_neither_invites_comments_nor_gives_deadlines(
        final_outcome, told, sms_told, sent_on):
    """Keyed late, the draft goes the same night as the final plan (or the decision not to issue
    one): no comment window, no final plan deadline, ahead or passed; where things are now."""
    text, html, sms = _sent_on("draft_plan_issued", sent_on, final_outcome=final_outcome)
    for part in (text, html):
        assert "We sent you the draft education, health and care (EHC) plan on Monday 3 March 2025." in part
        assert told in part and "contact your case officer" in part
        for said in ("17 March 2025", "26 May 2025", "comments", "must be issued", "should have been issued"):
            assert said not in part
    assert "Draft plan sent 3 March 2025, ref R-123. " + sms_told in sms
    assert "views" not in sms.lower() and "17 March" not in sms
    # A row planned before the fact existed reads as before.
    assert "You have until Monday 17 March 2025" in _sent_on("draft_plan_issued", date(2025, 3, 10))[0]


@pytest.mark.parametrize("to_young_person", [False, True])
def test_a_stage_inferred_for_want_of_a_table_is_told_in_neutral_words(to_young_person):
    """`assessing` (events: DRAFTING inferred without the drafts or advice table): never "writing
    the draft", which the family may have had for weeks."""
    settings = config.defaults()
    out = render("progress_update", _vars("progress_update", stage_20w="assessing",
                                           to_young_person=to_young_person), settings)
    for part in (out.text, out.html):
        assert ("Right now, we are carrying out the EHC needs assessment and working towards the final EHC plan."
                in " ".join(part.split()))
        assert "draft" not in part


def test_a_progress_update_never_names_a_date_passed_by_the_day_it_goes():
    # FACTS: next date Monday 26 May 2025 (the final plan, not late when planned).
    text, html, sms = _sent_on("progress_update", date(2025, 5, 26))
    assert "The next date the law sets is Monday 26 May 2025" in text and "26 May 2025" in sms
    text, html, sms = _sent_on("progress_update", date(2025, 5, 27), next_date="2025-05-26")
    for part in (text, html.replace("<strong>", "").replace("</strong>", "")):
        assert "The next date the law sets" not in part
        assert "The final plan was due by Monday 26 May 2025, and it is late. We are sorry." in part
    assert "the final plan is late, sorry" in sms
    # An advice date passed, the plan not yet due: the update names no date.
    text, html, sms = _sent_on("progress_update", date(2025, 4, 2), next_date="2025-04-01",
                               next_measure="ADVICE_6W")
    assert "The next date the law sets" not in text + html and "we are working on it" in sms
    for part in (text, html):
        assert "WHAT HAPPENS NEXT We are working on the next step" in part.replace(
            '<h2 style="font-size: 22px; margin: 30px 0 10px;">What happens next</h2> <p>', "WHAT HAPPENS NEXT ")


def test_a_late_final_plan_is_regretted_without_claiming_a_delay_notice_was_sent():
    for part in _sent_on("progress_update", date(2025, 6, 2), final_late=True)[:2]:
        assert "it is late. We are sorry." in part and "written to you about the delay" not in part


def test_an_under_five_review_should_be_held_by_its_date_and_is_not_annual():
    text, html, sms = _sent_on("review_upcoming", date(2025, 5, 1), review_measure="REVIEW_EY")
    for part in (text, html.replace("<strong>", "").replace("</strong>", "")):
        assert "should be reviewed by Sunday 1 June 2025" in part and "must be reviewed" not in part
    assert "The review of the EHC plan" in sms and "annual" not in sms
    text, html, sms = _sent_on("review_upcoming", date(2025, 5, 1), review_measure="REVIEW_12M")
    assert "must be reviewed by Sunday 1 June 2025" in text and "The annual review" in sms
    # A row planned before the measure was among its facts reads as the yearly review.
    assert "must be reviewed by" in _sent_on("review_upcoming", date(2025, 5, 1))[0]


@pytest.mark.parametrize("variant", ["maintain", "cease"])
def test_a_text_of_a_review_decision_the_family_can_appeal_says_so(variant):
    variables = _vars("review_decision", variant)
    assert "You can appeal." in render_text("review_decision", variables, config.defaults())


def test_an_under_fives_plan_is_said_to_be_reviewed_as_often_as_the_la_reviews_it():
    settings = config.defaults().replace(**{"rules.early_years_review_months": 4})
    for stage, variant, yearly, under_five in (
        ("final_plan_issued", None, "The plan will be reviewed at least every 12 months, and we will write",
         "and while the child is under 5 we aim to review it every 4 months."),
        ("review_decision", "maintain", "the next review will be within 12 months.",
         "the next review should be within 4 months, as for every child under 5."),
    ):
        for measure, words in (("REVIEW_12M", yearly), ("REVIEW_EY", under_five), (None, yearly)):
            out = render(stage, _vars(stage, variant, settings, next_review_measure=measure), settings)
            assert words in " ".join(out.text.split()) and words in " ".join(out.html.split())


def test_a_message_released_as_a_correction_says_so_in_every_part():
    settings = config.defaults()
    corrects = {"corrects": {"stage": "decision_not_to_assess", "sent_on": "2025-03-14"}}
    for facts, said in ((corrects, True), ({}, False)):
        variables = template_variables(stage="decision_to_assess", case_ref="R1", event_date=date(2025, 3, 12),
                                       variant=None, settings=settings,
                                       context={"decision_date": "2025-03-12", "received_date": "2025-03-10",
                                                "final_due": "2025-07-28", "advice_types": [], **facts})
        out = render("decision_to_assess", variables, settings)
        assert out.subject.startswith("Correction: ") is said
        assert ("This message corrects the one we sent you on Friday 14 March 2025." in out.text) is said
        assert ("This message corrects the one we sent you on Friday 14 March 2025." in out.html) is said
        assert render_text("decision_to_assess", variables, settings).startswith(
            "Correction to our message of 14 March 2025. ") is said


# One fact at a time that picks a branch of some stage's wording (FACTS give the rest).
BRANCHES = [
    {}, {"to_young_person": True}, {"contact_name": None}, {"child_name": None}, {"case_officer": None},
    {"team": None}, {"corrects": {"stage": "decision_to_assess", "sent_on": "2025-03-14"}}, {"advice_types": []},
    {"final_due": None}, {"decision_due": None}, {"decided": True}, {"next_review_measure": "REVIEW_EY"},
    {"review_measure": "REVIEW_EY"}, {"final_late": True}, {"stage_20w": None}, {"next_date": None},
    {"final_outcome": "issued"}, {"final_outcome": "not_issued"}, {"received_date": "2024-06-03"},
    {"late_steps": [{"measure": "DECIDE_6W", "item": None, "due_date": "2025-02-17", "days_late": 3,
                     "very_late": False}]},
    {"late_steps": [{"measure": "ADVICE_6W", "item": "health", "due_date": "2025-05-01", "days_late": 28,
                     "very_late": False, "expected_date": "2025-06-12", "expected_from": "default"},
                    {"measure": "FINAL_20W", "item": None, "due_date": "2025-05-26", "days_late": 3,
                     "very_late": False, "expected_date": None, "expected_from": "forecast"}]},
]
HEADING = re.compile(r"[A-Z][A-Z0-9 ,]*")  # WHAT HAPPENS NEXT; WHAT YOU CAN DO, BY MONDAY 17 MARCH 2025


@pytest.mark.parametrize("stage, variant", VARIANTS)
def test_every_plain_text_keeps_its_headings_and_paragraphs_apart(stage, variant):
    """The plain text is also a letter's body: a newline eaten by a block tag (trim_blocks) glues a
    heading to the paragraph above it, or two paragraphs into one."""
    for signposts in (SIGNPOSTS, {k: "" for k in SIGNPOSTS}):
        settings = config.defaults().replace(**signposts)
        # Every date still ahead on the first day, some passed on the second, every one on the third.
        days = (date(2025, 1, 1), date(2025, 5, 1), date(2025, 12, 31))
        for sent_on, branch in [(d, b) for d in days for b in BRANCHES]:
            facts = {k: v for k, v in branch.items() if k not in ("to_young_person", "contact_name")}
            variables = template_variables(
                stage=stage, case_ref="R-123", event_date=date(2025, 3, 1), variant=variant,
                context={**FACTS, **facts}, settings=settings, sent_on=sent_on,
                contact_name=branch.get("contact_name", "Carol Smith"), to_young_person="to_young_person" in branch)
            text = render(stage, variables, settings).text
            lines = text.split("\n")
            where = f"{stage} {variant} {sent_on} {branch}:\n{text}"
            assert "\n\n\n" not in text and text.endswith("\n") and lines[1] == "", where
            for i, line in enumerate(lines):
                assert not re.search(r"[a-z0-9)][.!?][A-Z]", line), where  # two sentences run together
                if HEADING.fullmatch(line):
                    assert lines[i - 1] == "" and lines[i + 1] == "", where
            # In the body, a line follows another directly only as an item of a list.
            body = lines[2:lines.index("WHO TO CONTACT")]
            for above, line in pairwise(body):
                assert not (above and line) or line.startswith("- "), where


def test_a_decision_to_assess_after_the_16_weeks_does_not_promise_them_as_ahead():
    """Received 16 November 2023, decided 8 March 2024: the 16 weeks for a decision not to issue a
    plan (reg 10(1)) ended on 7 March, the final plan (20 weeks) is still due on 4 April."""
    facts = {"received_date": "2023-11-16", "decision_date": "2024-03-08", "final_due": "2024-04-04"}
    text, html, _sms = _sent_on("decision_to_assess", date(2024, 3, 8), **facts)
    for part in (text, html.replace("<strong>", "").replace("</strong>", "")):
        assert "the final plan must be issued by Thursday 4 April 2024." in part
        assert ("If we decide not to issue a plan, the law says we should have told you by Thursday 7 March 2024, "
                "16 weeks after the request. That date has passed.") in part
        assert "we must tell you within 16 weeks" not in part
    # Sent on the 16 weeks' last day, they are still ahead.
    for part in _sent_on("decision_to_assess", date(2024, 3, 7), **facts)[:2]:
        assert "If we decide not to issue a plan, we must tell you within 16 weeks of the request." in part
        assert "That date has passed" not in part


@pytest.mark.parametrize("stage", ["decision_to_assess", "draft_plan_issued"])
def test_a_message_with_no_final_due_date_gives_the_20_weeks(stage):
    for part in _sent_on(stage, date(2025, 2, 10), final_due=None)[:2]:
        assert "final plan must be issued within 20 weeks of the request." in part.replace(
            "<strong>", "").replace("</strong>", "")


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.mark.parametrize("stage, variant", VARIANTS)
def test_bidirectional_controls_in_the_records_never_reach_a_message(stage, variant):
    """An override left open in a name ("Your case officer is \\u202eJo Smith") shows whatever
    follows it reversed on screen: the team's phone number."""
    settings = config.defaults()
    late = [{**FACTS["late_steps"][0], "measure": "ADVICE_6W", "item": "\u202ehealth"}]
    variables = template_variables(
        stage=stage, case_ref="R-\u2067123\u2069", event_date=date(2025, 3, 1), variant=variant, settings=settings,
        context={**FACTS, "child_name": "\u202eSam", "case_officer": "\u202eJo \u202dSmith\u202c",
                 "team": "North\u200f", "late_steps": late},
        contact_name="\u2066Carol\u2069 Smith\u202b", sent_on=date(2025, 3, 1))
    out = render(stage, variables, settings)
    sms = render_text(stage, variables, settings)
    every_part = out.subject + out.text + out.html + sms
    assert not [c for c in BIDI_CONTROLS if c in every_part]
    assert "Your case officer is Jo Smith (North)." in out.text and "Your case officer is Jo Smith (North)." in out.html
    assert "Dear Carol Smith," in out.text and "About Sam: " in sms and "R-123" in out.subject
