"""Accessibility check with axe-core in headless Chromium (tests/browser.py opens the page).

axe-core is the npm package, installed outside the repository's tracked files:

    npm install --prefix .ci/node axe-core@4

`axe_violations(path)` opens the page, injects axe, runs every WCAG 2.x A/AA rule and returns the
violations of the given impacts (default serious and critical) with the console errors.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import browser_page

AXE_JS = Path(__file__).resolve().parent.parent / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@dataclass
class AxeResult:
    violations: list[dict]  # axe's own violation objects (id, impact, help, nodes)
    console_errors: list[str]
    rules_passed: int

    def summary(self) -> str:
        return "; ".join(f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in self.violations)


def axe_violations(path: Path, *, impacts: tuple[str, ...] = ("serious", "critical"),
                   width: int = 1280) -> AxeResult:
    if not AXE_JS.exists():
        pytest.skip(f"axe-core is not installed: npm install --prefix .ci/node axe-core@4 ({AXE_JS})")
    with browser_page(path, screenshot=Path(path).with_suffix(".axe.png"), width=width) as result:
        result.page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
        report = result.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        errors = list(result.console_errors)
    found = [v for v in report["violations"] if v.get("impact") in impacts]
    return AxeResult(found, errors, len(report["passes"]))
