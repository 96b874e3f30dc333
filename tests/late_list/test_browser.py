"""The HTML list opened in headless Chromium: renders, no console errors, fields shown as text."""

import pytest

from ehcp_monitor.late_list import build_late_list
from tests.browser import browser_page
from tests.report_data.late_list_dataset import AS_OF, SCRIPT_REASON, load_dataset


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_html_opens_in_chromium_without_errors(engine, settings, tmp_path):
    load_dataset(engine)
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")
    with browser_page(built.html_path, screenshot=tmp_path / "late-list.png") as result:
        assert result.console_errors == []
        assert result.title == "Weekly late-plan list, 14/03/2025"
        # The <script> in an exception reason is text on the page, never run.
        assert SCRIPT_REASON in result.text
        assert result.page.locator("script").count() == 0
        first_rows = result.page.locator("table").first.locator("tbody tr td:first-child").all_inner_texts()
        assert first_rows == ["R2", "R1"]
        headings = result.page.locator("h2").all_inner_texts()
        assert headings[:2] == ["Contents", "Headline"]
        assert headings[-1] == "Data quality of the last ingest (for the data team)"
    png = result.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_html_has_no_accessibility_violations(engine, settings, tmp_path):
    from tests.axe import axe_violations

    load_dataset(engine)
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")
    result = axe_violations(built.html_path, impacts=("moderate", "serious", "critical"))
    assert result.violations == [], result.summary()
    assert result.console_errors == []
