"""Words, not codes, wherever a person reads the list (docs/late-list.md, "Words, not codes"): the
HTML page and email body, the page as Chromium shows it, and the workbook; the CSV keeps the codes."""

import re
from html.parser import HTMLParser

import openpyxl
import pytest

from ehcp_monitor.domain.measures import MEASURE_CODES, measure
from ehcp_monitor.domain.vocabulary import FORECAST_SOURCE_WORDS, STAGES_20W, STATUSES
from ehcp_monitor.late_list import build_late_list
from tests.late_list.test_late_list import read_csv
from tests.late_list.test_meeting import AS_OF as GENERATED_AS_OF
from tests.late_list.test_meeting import load_generated
from tests.report_data.late_list_dataset import AS_OF, load_dataset

# The data team's section and sheets keep the codes of `ehcp-monitor quarantine` (findings name the
# clocks they withheld by code): they are the ones left out of the scan.
DATA_TEAM_SECTION = '<section id="data-quality">'
DATA_TEAM_SHEETS = {"Data quality", "Data quality findings"}
CODES = re.compile(r"\b(%s)\b" % "|".join(
    [*MEASURE_CODES, *STAGES_20W, *(s for s in STATUSES if "_" in s)]))


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "title")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html.split(DATA_TEAM_SECTION)[0])
    return " ".join(parser.parts)


def column_of(path, title, header) -> list:
    sheet = openpyxl.load_workbook(path)[title]
    index = [c.value for c in sheet[1]].index(header)
    return [row[index].value for row in sheet.iter_rows(min_row=2)]


def codes_in_workbook(path) -> list[tuple[str, str, str]]:
    found = []
    for sheet in openpyxl.load_workbook(path):
        if sheet.title in DATA_TEAM_SHEETS:
            continue
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and CODES.search(cell.value):
                    found.append((sheet.title, cell.coordinate, cell.value))
    return found


@pytest.fixture
def built(engine, settings, tmp_path):
    load_dataset(engine)
    return build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")


def test_the_page_and_the_email_body_show_stages_and_measures_in_words(built):
    for html in (built.html_path.read_text(encoding="utf-8"), built.email_html):
        text = text_of(html)
        assert "Gathering advice" in text and "Finalising the plan" in text
        assert "gathering_advice" not in text and "finalising" not in text
        assert CODES.findall(text) == []
    page = text_of(built.html_path.read_text(encoding="utf-8"))
    for code in ("DECIDE_6W", "ADVICE_6W", "DRAFT_LOCAL", "FINAL_20W", "REVIEW_12M"):
        assert f"Overdue clocks: {measure(code).label}" in page, code


def test_the_workbook_shows_words_and_the_csv_keeps_the_codes(built):
    def column(title, header):
        return column_of(built.xlsx_path, title, header)

    assert column("Very late 20-week", "Stage") == ["Finalising the plan", "Gathering advice"]
    assert column("Other overdue", "Measure") == [measure(code).label for code in (
        "DECIDE_6W", "ADVICE_6W", "DRAFT_LOCAL", "FINAL_20W", "REVIEW_12M")]
    assert column("Other overdue", "Stage") == [None, None, None, "Drafting the plan", None]
    assert codes_in_workbook(built.xlsx_path) == []
    rows = read_csv(built.csv_path)
    assert rows["stage"].to_list() == ["finalising", "gathering_advice", None, None, None, "drafting", None]
    assert rows["measure"].to_list()[2:] == ["DECIDE_6W", "ADVICE_6W", "DRAFT_LOCAL", "FINAL_20W", "REVIEW_12M"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_chromium_shows_the_stage_in_words(built, tmp_path):
    from tests.browser import browser_page

    with browser_page(built.html_path, screenshot=tmp_path / "words.png") as result:
        assert result.console_errors == []
        stages = result.page.locator("#very-late table tbody tr td:nth-child(9)").all_inner_texts()
        assert stages == ["Finalising the plan", "Gathering advice"]
        shown = result.page.locator("main").inner_text().split("Data quality of the last ingest (for the")[0]
    assert "Gathering advice" in shown and "gathering_advice" not in shown
    assert CODES.findall(shown) == []


def test_no_code_on_a_generated_caseload_list(engine, settings, tmp_path):
    # Every stage and most measures turn up on a generated caseload.
    load_generated(engine, settings)
    built = build_late_list(engine, settings, as_of=GENERATED_AS_OF, out_dir=tmp_path)
    page = built.html_path.read_text(encoding="utf-8")
    assert "Drafting the plan" in text_of(page) and "This LA&#39;s cases" in page
    sources = {*column_of(built.xlsx_path, "At risk 20-week", "Forecast from"),
               *column_of(built.xlsx_path, "Forecast basis", "From")}
    assert FORECAST_SOURCE_WORDS["history"] in sources and sources <= set(FORECAST_SOURCE_WORDS.values())
    for html in (page, built.email_html):
        assert CODES.findall(text_of(html)) == []
    assert codes_in_workbook(built.xlsx_path) == []
    assert set(read_csv(built.csv_path)["stage"].drop_nulls()) <= set(STAGES_20W)


def test_the_documented_words_are_the_ones_shown():
    from pathlib import Path

    from ehcp_monitor.domain.vocabulary import STAGE_WORDS_20W, TOUCHPOINT_STAGE_WORDS

    def documented(doc: str) -> dict[str, str]:
        text = (Path(__file__).parents[2] / "docs" / doc).read_text(encoding="utf-8")
        section = text.split("## Words, not codes")[1].split("\n## ")[0]
        return {code: words for code, words in re.findall(r"^\| `(\w+)`[^|]* \| (.+?) \|$", section, re.M)}

    late_list = documented("late-list.md")
    expected = {**STAGE_WORDS_20W, **FORECAST_SOURCE_WORDS, **{c: measure(c).label for c in MEASURE_CODES}}
    assert late_list == expected
    assert documented("board-pack.md") == TOUCHPOINT_STAGE_WORDS
