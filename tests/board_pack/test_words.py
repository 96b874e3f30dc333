"""Words, not codes, in the pack (docs/board-pack.md, "Words, not codes"): touchpoint stages, measures
and 20-week stages in the HTML and the PDF are words; codes stay in element ids and the CSVs."""

import re
from html.parser import HTMLParser

from ehcp_monitor.board_pack import build_board_pack
from ehcp_monitor.domain.measures import MEASURE_CODES
from ehcp_monitor.domain.vocabulary import KPI_CODES, OUTBOX_STATUSES, STAGES_20W, STATUSES, TOUCHPOINT_STAGES
from tests.board_pack.test_kpis import AS_OF
from tests.board_pack.test_render import pdf_text, stored  # noqa: F401  (fixture)

# A one-word code ("requests", "sent") is also an English word: only codes with an underscore are sought.
CODES = re.compile(r"\b(%s)\b" % "|".join(c for c in (
    *MEASURE_CODES, *STAGES_20W, *TOUCHPOINT_STAGES, *KPI_CODES, *STATUSES, *OUTBOX_STATUSES) if "_" in c))


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag == "style"

    def handle_endtag(self, tag):
        self._skip -= tag == "style"

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_the_pack_names_touchpoint_stages_in_words_and_shows_no_code(stored, tmp_path):  # noqa: F811
    engine, settings = stored
    result = build_board_pack(engine, settings, period="2025-06", as_of=AS_OF, out_dir=tmp_path)
    html = result.html_path.read_text(encoding="utf-8")
    table = re.search(r'<table class="data" id="touchpoint-table">.*?</table>', html, re.S).group(0)
    rows = re.findall(r'<th scope="row">(.*?)</th>', table)
    assert rows == ["Request received", "Delay notice", "All stages"]  # in the order a case meets them
    text = text_of(html)
    assert CODES.findall(text) == []
    assert 'id="kpi-final_20w"' in html  # codes stay where no one reads them: ids, never text
    assert CODES.findall(re.sub(r"\s+", " ", pdf_text(result.pdf_path))) == []
