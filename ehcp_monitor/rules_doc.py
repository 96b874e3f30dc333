"""The measures with the settings in force: `ehcp-monitor rules` and the table in docs/rules.md.

Run `python -m ehcp_monitor.rules_doc` to bring docs/rules.md's generated table up to date.
"""

from ehcp_monitor.config import Settings
from ehcp_monitor.domain.measures import MEASURES, STATUTORY, Measure


def settings_in_force(m: Measure, settings: Settings) -> dict[str, object]:
    values = {key: settings[key] for key in m.settings}
    if m.kind == STATUTORY:
        values["rules.very_late_days"] = settings.very_late_days(m.code)
    return values


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_rules_table(settings: Settings) -> str:
    """The markdown table of measures with the settings in force (docs/rules.md, The measures)."""
    lines = [
        "| code | kind | basis | applies to | anchor | due | completed by | settings in force |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in MEASURES:
        in_force = ", ".join(f"`{k} = {v}`" for k, v in settings_in_force(m, settings).items()) or "none"
        cells = (f"`{m.code}`", m.kind, m.basis, m.applies_to, m.anchor, m.due_rule, m.completed_by, in_force)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


DOC_BEGIN = "<!-- BEGIN GENERATED: measures (python -m ehcp_monitor.rules_doc) -->"
DOC_END = "<!-- END GENERATED: measures -->"


def refresh_doc(text: str, settings: Settings) -> str:
    """docs/rules.md with its generated measures table brought up to date."""
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    return f"{head}{DOC_BEGIN}\n{render_rules_table(settings)}{DOC_END}{tail}"


if __name__ == "__main__":
    from pathlib import Path

    from ehcp_monitor.config import defaults

    doc = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    doc.write_text(refresh_doc(doc.read_text(encoding="utf-8"), defaults()), encoding="utf-8")
