"""Rendering a touchpoint: subject, plain text and HTML from Jinja2 templates.

Templates live in reports/emails/ as `<stage>.subject.j2`, `<stage>.txt.j2` and `<stage>.html.j2`;
a file of the same name in `touchpoints.template_dir` overrides the built-in one. Undefined
variables are errors (StrictUndefined); HTML is autoescaped. Subjects are one line and carry the
stage and the case reference only.
"""

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2

from ehcp_monitor.config import Settings
from ehcp_monitor.domain.measures import MEASURES
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
    return env


def template_variables(*, stage: str, case_ref: str, event_date, variant: str | None,
                       context: dict | str, settings: Settings, contact_name: str | None = None) -> dict:
    """Everything a template may use (docs/touchpoints.md lists them)."""
    facts = json.loads(context) if isinstance(context, str) else dict(context or {})
    tp = settings.touchpoints
    return {
        **facts,
        "stage": stage,
        "case_ref": case_ref,
        "event_date": event_date,
        "variant": variant,
        "contact_name": contact_name,
        "case_officer": facts.get("case_officer"),
        "team": facts.get("team"),
        "la_name": settings.la.name,
        "team_email": tp.team_email,
        "team_phone": tp.team_phone,
        "delay_repeat_days": tp.delay_repeat_days,
    }


def render(stage: str, variables: dict, settings: Settings) -> Rendered:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    env = _environment(settings.touchpoints.template_dir)
    subject = env.get_template(f"{stage}.subject.j2").render(variables)
    return Rendered(
        # One line whatever the data holds: a line break in a case reference cannot add a header.
        subject=" ".join(subject.split()),
        text=env.get_template(f"{stage}.txt.j2").render(variables),
        html=env.get_template(f"{stage}.html.j2").render(variables),
    )
