"""The officers' commentary on each KPI: `<board_pack.commentary_dir>/<period code>.md`.

One `## code` heading per KPI (e.g. `## final_20w`), then its commentary: paragraphs, `- ` bullet
lists and `**bold**`, nothing else (every other character is text, escaped). A text before the first
heading is the commentary on the whole pack. A heading that names no KPI is reported on the pack's
notes so a typo does not silently drop a comment.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

OVERALL = ""
_HEADING = re.compile(r"^##\s+(\S+)\s*$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass
class Commentary:
    path: Path | None  # the file read, None when there is none for the period
    sections: dict[str, Markup] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # headings naming no KPI


def _inline(text: str) -> Markup:
    return Markup(_BOLD.sub(lambda m: f"<strong>{m[1]}</strong>", str(escape(text))))


def to_html(text: str) -> Markup:
    """Paragraphs and bullet lists of the small markdown subset above."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln.startswith(("- ", "* ")) for ln in lines):
            out.append("<ul>" + "".join(f"<li>{_inline(ln[2:].strip())}</li>" for ln in lines) + "</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return Markup("".join(out))


def read_commentary(folder: str | Path, period_code: str, kpi_codes) -> Commentary:
    path = Path(folder) / f"{period_code}.md"
    if not path.is_file():
        return Commentary(None)
    parts: dict[str, list[str]] = {OVERALL: []}
    current = OVERALL
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if m := _HEADING.match(line):
            current = m[1].strip().lower()
            parts.setdefault(current, [])
        else:
            parts[current].append(line)
    known = set(kpi_codes)
    found = Commentary(path)
    for code, lines in parts.items():
        body = "\n".join(lines).strip()
        if code != OVERALL and code not in known:
            found.unknown.append(code)
        elif body:
            found.sections[code] = to_html(body)
    return found
