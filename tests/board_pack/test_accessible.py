"""The readable, accessible pack: a tagged PDF (PDF/UA-1) read back with pypdf, charts with an England
line and the last value on the last point, better/worse marks, commentary from the period's markdown
file, suppression that leaves no rate derivable, and one LA identity on the cover and in emails."""

import re
from datetime import date

import pytest
from pypdf import PdfReader

from ehcp_monitor.board_pack import build_board_pack
from ehcp_monitor.board_pack.benchmarks import import_benchmarks
from ehcp_monitor.board_pack.charts import trend_svg
from ehcp_monitor.board_pack.commentary import read_commentary
from ehcp_monitor.board_pack.kpis import Figure, Table
from ehcp_monitor.board_pack.render import Formatter
from tests.board_pack.test_kpis import store_dataset
from tests.conftest import DFE_DATA, DFE_DATA_2026

D = date.fromisoformat
COMMENTARY = """The month in **one** line.

## final_20w
Two plans were held up by <late> advice.

- panel moved to weekly
- two more officers

## not_a_kpi
Lost.
"""


@pytest.fixture
def built(engine, settings, tmp_path):
    store_dataset(engine)
    import_benchmarks(engine, DFE_DATA)
    import_benchmarks(engine, DFE_DATA_2026)
    (tmp_path / "commentary").mkdir()
    (tmp_path / "commentary" / "2025-06.md").write_text(COMMENTARY, encoding="utf-8")
    settings = settings.replace(**{
        "la.name": "Shropshire Council", "la.code": "E06000051",
        "board_pack.statistical_neighbours": ["E06000019", "E10000034"],
        "board_pack.commentary_dir": str(tmp_path / "commentary"),
    })
    return build_board_pack(engine, settings, period="2025-06", as_of=D("2026-01-10"), out_dir=tmp_path / "out")


def _struct_types(node, found: set, depth=0) -> None:
    node = node.get_object()
    if "/S" in node:
        found.add(str(node["/S"]))
    kids = node.get("/K")
    if kids is None or depth > 60:
        return
    for kid in (kids if isinstance(kids, list) else [kids]):
        kid = kid.get_object() if hasattr(kid, "get_object") else kid
        if hasattr(kid, "get") and ("/K" in kid or "/S" in kid):
            _struct_types(kid, found, depth + 1)


def test_pdf_is_tagged_pdf_ua_with_title_language_and_structure(built):
    reader = PdfReader(built.pdf_path)
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True  # what pdfinfo reports as "Tagged: yes"
    assert root["/Lang"] == "en-GB"
    assert "Partnership Board performance pack" in reader.metadata.title
    assert root["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()  # PDF/UA identification
    types: set = set()
    _struct_types(root["/StructTreeRoot"], types)
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/L", "/LI"} <= types
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in reader.pages))
    for expected in ("DfE’s measures for calendar year 2025", "Shropshire Council (DfE statistics code E06000051)",
                     "Reconciliation with the published figures", "Mediation and tribunal cases",
                     "Two plans were held up by <late> advice.", "England 45.5% (2025)"):
        assert expected in text, expected


def test_html_carries_commentary_changes_england_line_and_one_identity(built):
    html = built.html_path.read_text(encoding="utf-8")
    # commentary per KPI from 2025-06.md, escaped; the pack-wide text under the headlines; a typo reported
    block = re.search(r'id="commentary-final_20w">(.*?)</div>', html, re.S).group(1)
    assert "Two plans were held up by &lt;late&gt; advice." in block
    assert "<li>panel moved to weekly</li>" in block
    assert "No commentary for this period." in re.search(r'id="commentary-decide_6w">(.*?)</div>', html, re.S)[1]
    assert "The month in <strong>one</strong> line." in html
    assert "Headings naming no measure were left out: not_a_kpi" in html
    # better / worse against the previous period, in words
    assert "worse, down 40.0 points" in html
    # the England line on every rate chart DfE publishes, labelled
    chart = re.search(r'<svg[^>]*aria-labelledby="chart-final_20w-t.*?</svg>', html, re.S).group(0)
    assert "stroke-dasharray=\"1.5 2.5\"" in chart and "England 45.5% (2025)" in chart
    # one identity: the LA's name on the cover and as the published row's label, never its raw code alone
    assert "Shropshire Council (DfE statistics code E06000051)" in html
    assert "Shropshire Council (published)" in html and "Shropshire (published)" not in html


def test_last_value_label_sits_on_the_last_point():
    points = [(D("2025-01-01"), 40.0), (D("2025-02-01"), 55.0), (D("2025-03-01"), 70.0), (D("2025-04-01"), None)]
    svg = str(trend_svg("c", "T", points, "%", england_by_year={2024: 45.9}))
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    label = re.search(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*class="last-value">([^<]+)</text>', svg)
    assert label[3] == "70.0%"  # the last month with a value (April has none)
    cx, cy = map(float, circles[-1])
    assert float(label[1]) == pytest.approx(cx + 7) and float(label[2]) == pytest.approx(cy + 4)
    # 2025 not yet published: 2024's England figure carries on, and says which year it is
    assert "England 45.9% (2024)" in svg and "2024 45.9%." in svg


def test_england_line_takes_each_year_then_the_latest():
    months = [date(2024, 11, 1), date(2024, 12, 1), date(2025, 1, 1), date(2026, 2, 1)]
    svg = str(trend_svg("c", "T", [(m, 50.0) for m in months], "%", england_by_year={2024: 40.0, 2025: 60.0}))
    line = re.search(r'<polyline points="([^"]+)" fill="none" stroke="#505a5f"', svg)[1]
    ys = [float(p.split(",")[1]) for p in line.split()]
    assert ys[0] == ys[1] > ys[2] == ys[3]  # 40 % in 2024, 60 % from 2025 on (2026 not yet published)
    assert "England 60.0% (2025)" in svg


@pytest.mark.parametrize("fig, shown", [
    (Figure(0, 3, 0.0), ("c", "")),  # never "c (0 of c)": a 0 of a small total gives 0 %
    (Figure(3, 5, 60.0), ("c", "")),
    (Figure(99, 100, 99.0), ("c", "")),  # 1 late of 100 would follow from the rate
    (Figure(0, 100, 0.0), ("0.0%", "0 of 100")),
    (Figure(50, 100, 50.0), ("50.0%", "50 of 100")),
    (Figure(None, 3, 27.5), ("c", "")),  # an average over 3 plans
])
def test_publish_leaves_no_rate_derivable(fig, shown):
    fmt = Formatter(publish=True)
    assert (fmt.value(fig, "%" if fig.numerator is not None else "weeks"), fmt.detail(fig, "%")) == shown
    assert Formatter(publish=False).value(fig, "%") != "c"


def test_publish_hides_a_second_row_beside_a_total():
    table = Table("t", ["Band", "Number"], [["a", 3], ["b", 10], ["c", 20], ["All", 33]], count_columns={1},
                  total_row=True)
    assert Formatter(publish=True).table_rows(table) == [["a", "c"], ["b", "c"], ["c", "20"], ["All", "33"]]
    rates = Table("r", ["", "n", "ok", "%"], [["x", 3, 0, 0.0], ["y", 10, 7, 70.0]], count_columns={1, 2})
    assert Formatter(publish=True).table_rows(rates) == [["x", "c", "c", "c"], ["y", "10", "7", "70.0%"]]


def test_commentary_file_is_optional_and_its_markup_escaped(tmp_path):
    assert read_commentary(tmp_path, "2025-06", ["final_20w"]).sections == {}
    (tmp_path / "2025-Q2.md").write_text("## FINAL_20W\n<b>x</b> **y**\n", encoding="utf-8")
    found = read_commentary(tmp_path, "2025-Q2", ["final_20w"])
    assert str(found.sections["final_20w"]) == "<p>&lt;b&gt;x&lt;/b&gt; <strong>y</strong></p>"


def test_emails_name_the_la_as_the_pack_does(settings):
    from ehcp_monitor.touchpoints.templates import template_variables

    settings = settings.replace(**{"la.name": "Shropshire Council"})
    variables = template_variables(stage="request_received", case_ref="K1", event_date=D("2025-06-01"),
                                   variant=None, context={}, settings=settings)
    assert variables["la_name"] == "Shropshire Council"
