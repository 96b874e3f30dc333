"""Rendering a touchpoint: subject, plain text and HTML from Jinja2 templates.

Templates live in reports/emails/ as `<stage>.subject.j2`, `<stage>.txt.j2` and `<stage>.html.j2`;
a file of the same name in `touchpoints.template_dir` overrides the built-in one. Undefined
variables are errors (StrictUndefined); HTML is autoescaped. Subjects are one line and carry the
stage and the case reference only; the child is named in the body alone (`child_name`). Every
body ends with the signposts (`_signposts.txt.j2` / `_signposts.html.j2`: SENDIASS and the Local
Offer, from the settings). A text message is `sms/_message.txt.j2`: the child's reference, the
stage's short text (`sms/<stage>.txt.j2`) and the signposts in brief, as one paragraph.
"""

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from ehcp_monitor.config import Settings
from ehcp_monitor.domain.calendar import add_weeks
from ehcp_monitor.domain.measures import MEASURES, measure
from ehcp_monitor.domain.vocabulary import STAGE_FAMILY_WORDS_20W, STAGE_YOUNG_PERSON_WORDS_20W
from ehcp_monitor.domain.vocabulary import TOUCHPOINT_STAGES as STAGES
from ehcp_monitor.paths import templates_dir

BUILT_IN = templates_dir() / "emails"
MEASURE_WORDS = {m.code: m.words for m in MEASURES}  # what a family reads for each clock
ADVICE_WORDS = {
    "education": "education (the school or setting)",
    "health": "health services",
    "social_care": "social care",
    "educational_psychology": "an educational psychologist",
    "other": "other professionals",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str = ""  # the text message, when asked for (render_text; `touchpoints preview`)


def long_date(value) -> str:
    """'Friday 14 March 2025' (no leading zero), from a date or an ISO string."""
    if value is None or value == "":
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d:%A} {d.day} {d:%B %Y}"


@lru_cache(maxsize=8)
def _environment(override_dir: str) -> jinja2.Environment:
    folders = [Path(override_dir)] if override_dir else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, BUILT_IN]),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["measure_words"] = lambda code: MEASURE_WORDS.get(code, code)
    env.filters["advice_words"] = lambda code: ADVICE_WORDS.get(code, code)
    env.filters["stage_words"] = lambda code, to_young_person=False: (
        STAGE_YOUNG_PERSON_WORDS_20W if to_young_person else STAGE_FAMILY_WORDS_20W).get(code, "")
    env.tests["passed"] = _passed
    return env


@jinja2.pass_context
def _passed(context, value) -> bool:
    """`{% if final_due is passed %}`: the date is before the day the message goes (`sent_on`), so
    it cannot be written as a date still ahead. False with no date or no sending day."""
    sent_on = context.get("sent_on")
    if not value or not sent_on:
        return False
    return date.fromisoformat(str(value)[:10]) < date.fromisoformat(str(sent_on)[:10])


def template_variables(*, stage: str, case_ref: str, event_date, variant: str | None,
                       context: dict | str, settings: Settings, contact_name: str | None = None,
                       to_young_person: bool = False, sent_on: date | None = None) -> dict:
    """Everything a template may use (docs/touchpoints.md lists them).

    `to_young_person`: the message goes to the young person themselves (their contact's role),
    so it speaks to them, not to a parent about them.
    `sent_on`: the day the message goes out. A delay notice's expected date worked out when it was
    planned and no longer ahead of that day (the message waited for the sending window, was held or
    retried) is left out, never shown as a date already past; the templates test the other dates
    against it (`is passed`): a deadline already gone is told as gone.
    """
    facts = without_bidi_controls(json.loads(context) if isinstance(context, str) else dict(context or {}))
    case_ref, contact_name, variant = (without_bidi_controls(v) for v in (case_ref, contact_name, variant))
    if sent_on is not None and facts.get("late_steps"):
        facts["late_steps"] = [_without_past_expected(step, sent_on) for step in facts["late_steps"]]
    tp = settings.touchpoints
    return {
        **facts,
        "stage": stage,
        "case_ref": case_ref,
        "event_date": event_date,
        "variant": variant,
        "contact_name": contact_name,
        "to_young_person": to_young_person,
        "sent_on": sent_on.isoformat() if sent_on else None,
        "case_officer": facts.get("case_officer"),
        "team": facts.get("team"),
        "la_name": settings.la.name,
        "team_email": tp.team_email,
        "team_phone": tp.team_phone,
        "delay_repeat_days": tp.delay_repeat_days,
        "early_years_review_months": settings.rules.early_years_review_months,
        # Rows planned before the child was named carry no `child_name`: they name no one.
        "child_name": facts.get("child_name"),
        # A request received whose decision is in the records (keyed late, the two news the same
        # night): rows planned before this fact existed carry none.
        "decided": bool(facts.get("decided")),
        # A draft whose final plan (or decision not to issue one) is in the records: "issued" or
        # "not_issued"; none on rows planned before this fact existed.
        "final_outcome": facts.get("final_outcome"),
        # Set only on a row a person released as a correction (hold.release).
        "corrects": facts.get("corrects"),
        # A decision not to issue a plan is due (NOT_ISSUE_16W): the clock is only in the check
        # results once that decision is made, so a decision to assess works its date out the same way.
        "not_issue_due": _weeks_after(facts.get("received_date"), measure("NOT_ISSUE_16W").weeks),
        "update_every_days": tp.update_every_days,
        "delay_next_steps": tp.delay_next_steps,
        "sendiass_name": tp.sendiass_name,
        "sendiass_phone": tp.sendiass_phone,
        "sendiass_email": tp.sendiass_email,
        "sendiass_url": tp.sendiass_url,
        "local_offer_url": tp.local_offer_url,
    }


# Embedding, override and isolate controls, and the bare direction marks: one left open in a name
# shows what follows it (a phone number) reversed on screen. No name or reference needs them.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def without_bidi_controls(value):
    """Record-sourced text for a message, without bidirectional controls (in lists and dicts too)."""
    if isinstance(value, str):
        return value.translate(BIDI_CONTROLS)
    if isinstance(value, list):
        return [without_bidi_controls(v) for v in value]
    if isinstance(value, dict):
        return {k: without_bidi_controls(v) for k, v in value.items()}
    return value


def _weeks_after(anchor, weeks: int | None) -> str | None:
    if not anchor or weeks is None:
        return None
    return add_weeks(date.fromisoformat(str(anchor)[:10]), weeks).isoformat()


def _without_past_expected(step: dict, sent_on: date) -> dict:
    expected = step.get("expected_date")
    if expected and date.fromisoformat(str(expected)[:10]) <= sent_on:
        return {**step, "expected_date": None}
    return step


def render(stage: str, variables: dict, settings: Settings) -> Rendered:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    env = _environment(settings.touchpoints.template_dir)
    subject = env.get_template(f"{stage}.subject.j2").render(variables)
    # Released by a person as a correction (hold.release): said first, whatever the LA's templates.
    correction = "Correction: " if variables.get("corrects") else ""
    return Rendered(
        # One line whatever the data holds: a line break in a case reference cannot add a header.
        subject=correction + " ".join(subject.split()),
        text=env.get_template(f"{stage}.txt.j2").render(variables),
        html=env.get_template(f"{stage}.html.j2").render(variables),
    )


def render_text(stage: str, variables: dict, settings: Settings) -> str:
    """The stage's text message: one paragraph (docs/touchpoints.md, Text messages)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    env = _environment(settings.touchpoints.template_dir)
    return " ".join(env.get_template("sms/_message.txt.j2").render(variables).split())
