"""The list for the Monday meeting on a generated caseload: the email body's size as a real SMTP server
receives it, the at-risk cases, and the full page in headless Chromium (folding sections, axe)."""

from datetime import UTC, date, datetime

import openpyxl
import polars as pl
import pytest

from ehcp_monitor.checks.run import run_check
from ehcp_monitor.db.bulk import read_frame
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.domain.vocabulary import FORECAST_SOURCE_WORDS, STAGE_WORDS_20W
from ehcp_monitor.forecast import STAGES
from ehcp_monitor.late_list import build_late_list, send_late_list
from ehcp_monitor.late_list.content import compose
from ehcp_monitor.late_list.inputs import load_inputs
from ehcp_monitor.late_list.render import render_email_html
from ehcp_monitor.synthetic.generate import generate
from tests.late_list.test_send import TEAM, smtp_settings
from tests.report_data.smtp_inbox import running_inbox

AS_OF = date(2025, 3, 14)
NOW = datetime(2025, 3, 17, 7, 0, tzinfo=UTC)
PEOPLE = 3000  # as large as is quick; bench/late_list.py measures 50,000
MAIL_CLIP_BYTES = 100_000


def load_generated(engine, settings, people: int = PEOPLE) -> None:
    frames = generate(people=people, seed=7, as_of=AS_OF)
    with engine.begin() as conn:
        replace_snapshot(conn, Snapshot.from_frames(frames, ingest_id=1), loaded_at=NOW)
    run_check(engine, settings, as_of=AS_OF, now=lambda: NOW)


@pytest.fixture
def built(engine, settings, tmp_path):
    load_generated(engine, settings)
    return build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")


def test_the_email_body_fits_under_the_clipping_size_as_received(built, settings):
    with running_inbox() as (inbox, port):
        sent = send_late_list(built, smtp_settings(settings, port, TEAM[:1]), now=NOW)
    assert sent == {"recipients": 1, "sent": 1, "failed": 0}
    (_, msg), = inbox.messages
    html_part = msg.get_body(preferencelist=("html",))
    encoded = html_part.get_payload()  # as it came over SMTP, transfer encoding and all
    assert 10_000 < len(encoded.encode("ascii")) < MAIL_CLIP_BYTES
    html = html_part.get_content()
    for heading in ("Headline", "Very late 20-week cases", "At risk: 20-week cases forecast to be late",
                    "By case officer", "By team", "Other overdue clocks", "Data quality of the last ingest"):
        assert heading in html, heading
    # The other overdue clocks are counted in the body, listed in the page and the workbook only.
    decisions = "Overdue clocks: Decision whether to assess (6 weeks, reg 5(1))"
    assert decisions not in html
    page = built.html_path.read_text(encoding="utf-8")
    assert decisions in page and len(page) > 3 * len(html)
    assert built.counts["very_late_20w"] > 50 and built.counts["at_risk_20w"] > 20
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "late-list-2025-03-14.xlsx"


def test_a_body_over_budget_lists_fewer_rows_and_says_where_the_rest_are(engine, settings):
    load_generated(engine, settings)
    content = compose(load_inputs(engine, as_of=AS_OF))
    body = render_email_html(content, budget=30_000)
    assert len(body.encode("utf-8")) <= 30_000
    total = content.very_late_20w.height
    assert f"of {total:,}. Every one is in the attached" in body
    assert "(sheet &ldquo;Very late 20-week&rdquo;) and in late-list-2025-03-14.html" in body
    # The oldest cases are the ones shown.
    assert content.very_late_20w["case_ref"][0] in body


def test_at_risk_cases_are_open_not_yet_overdue_and_forecast_past_their_due_date(built, engine):
    with engine.connect() as conn:
        open_20w = read_frame(
            conn, "SELECT request_id, status FROM check_results WHERE measure = 'FINAL_20W'",
            {"request_id": pl.Utf8, "status": pl.Utf8},
        )
    sheet = openpyxl.load_workbook(built.xlsx_path)["At risk 20-week"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=False)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == built.counts["at_risk_20w"] > 0
    status = dict(open_20w.iter_rows())
    for row in rows:
        assert status[row["Case ref"]] in ("due_soon", "pending")
        assert row["Stage"] in STAGE_WORDS_20W.values()  # words, not codes
        assert row["Forecast issue"] > row["Due"]
        assert row["Days late (forecast)"] == (row["Forecast issue"] - row["Due"]).days > 0
        assert row["Days late (80th percentile)"] >= row["Days late (forecast)"]
        assert row["Forecast from"] in FORECAST_SOURCE_WORDS.values()
        assert row["Action agreed"] is None and row["Owner"] is None
    dues = [row["Due"] for row in rows]
    assert dues == sorted(dues)  # soonest due first
    basis = openpyxl.load_workbook(built.xlsx_path)["Forecast basis"]
    sources = {row[0].value: row[4].value for row in basis.iter_rows(min_row=2)}
    assert set(sources) == {STAGE_WORDS_20W[s] for s in STAGES}
    assert FORECAST_SOURCE_WORDS["history"] in sources.values()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_page_has_contents_and_sections_that_fold(built, tmp_path):
    from tests.browser import browser_page

    with browser_page(built.html_path, screenshot=tmp_path / "page.png") as result:
        page = result.page
        assert result.console_errors == []
        links = page.locator("nav a").all_inner_texts()
        assert links[:3] == ["Headline", "Very late 20-week cases", "At risk: 20-week cases forecast to be late"]
        # Every contents link leads to a section on the page.
        for href in page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            assert page.locator(href).count() == 1, href
        very_late = page.locator("#very-late details")
        assert very_late.evaluate("d => d.open") is True
        table = very_late.locator("table")
        assert table.is_visible()
        very_late.locator("summary").click()  # folds with a click, as with Enter or Space on the focused summary
        assert very_late.evaluate("d => d.open") is False and not table.is_visible()
        very_late.locator("summary").focus()
        page.keyboard.press("Enter")
        assert very_late.evaluate("d => d.open") is True and table.is_visible()
        # The forecast's basis starts folded.
        assert page.locator("#at-risk details").nth(1).evaluate("d => d.open") is False


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_page_and_the_body_have_no_accessibility_violations(built, tmp_path):
    from tests.axe import axe_violations

    body = tmp_path / "body.html"
    body.write_text(built.email_html, encoding="utf-8")
    for path in (built.html_path, body):
        result = axe_violations(path, impacts=("moderate", "serious", "critical"))
        assert result.violations == [], (path.name, result.summary())
        assert result.console_errors == []
