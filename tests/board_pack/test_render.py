"""The pack as written: HTML and PDF from build_board_pack and the CLI, publication suppression,
the PDF's own text, and the HTML in headless Chromium with axe-core."""

import re
import sys
from html import unescape

import pytest
from pypdf import PdfReader

from ehcp_monitor import logs
from ehcp_monitor.board_pack import build_board_pack
from ehcp_monitor.board_pack.benchmarks import import_benchmarks
from ehcp_monitor.cli import main
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from tests.axe import axe_violations
from tests.board_pack.test_kpis import AS_OF, store_dataset
from tests.conftest import DFE_DATA

TARGETS = {"final_20w": 60, "final_20w_ex": 75, "decide_6w": 65}


def _settings(settings):
    return settings.replace(**{"board_pack.targets": TARGETS,
                               "board_pack.statistical_neighbours": ["E06000019", "E10000034"]})


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def headline_cells(html: str, code: str) -> list[str]:
    row = re.search(rf'<tr>\s*<th scope="row"><a href="#kpi-{code}">.*?</tr>', html, re.S).group(0)
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", c))).strip() for c in cells]


@pytest.fixture
def cli_logs():
    """The CLI points structlog at the captured stderr; point it back once the test is over."""
    yield
    logs.configure(stream=sys.__stderr__)


@pytest.fixture
def stored(engine, settings):
    store_dataset(engine)
    import_benchmarks(engine, DFE_DATA)
    return engine, _settings(settings)


def test_pack_html_and_pdf_carry_every_kpi_and_comparator(stored, tmp_path):
    engine, settings = stored
    result = build_board_pack(engine, settings, period="2025-06", as_of=AS_OF, out_dir=tmp_path)
    html = result.html_path.read_text(encoding="utf-8")
    assert headline_cells(html, "final_20w") == [
        "New plans issued within 20 weeks (including exceptions)", "60.0% (3 of 5)", "60%", "Green",
        "100.0%", "▼ worse, down 40.0 points", "45.9% (2024)", "41.0% (2024)", "52.3% (2024)"]
    assert headline_cells(html, "final_20w_ex")[1:5] == ["66.7% (2 of 3)", "75%", "Amber", "100.0%"]
    assert headline_cells(html, "review_decision_4w")[6] == "44.4% (2024)"
    assert headline_cells(html, "reviews_overdue")[4:6] == ["2", "▲ worse, up 1"]  # fewer is better
    assert headline_cells(html, "reviews_overdue")[1] == "3"

    text = pdf_text(result.pdf_path)
    flat = re.sub(r"\s+", " ", text)
    for expected in ("60.0% (3 of 5)", "66.7% (2 of 3)", "50.0% (1 of 2)", "45.9%", "46.4%", "37.2%",
                     "Page 1 of", "Contents", "Headlines: June 2025", "target 60%"):
        assert expected in flat, expected
    # contents list with page numbers
    assert re.search(r"Headlines \.+ page 2", flat) or re.search(r"Headlines.*?page 2", flat)
    # aggregates only: no identifier of a child or a case reaches the pack
    for identifier in ("C-R1", "C-P2", "K0", "X1"):
        assert identifier not in html and identifier not in text

    # the pack is recorded like every report
    from sqlalchemy import select

    from ehcp_monitor.db.models import ReportRun

    with engine.connect() as conn:
        run = conn.execute(select(ReportRun.kind, ReportRun.period, ReportRun.paths)).one()
    assert run.kind == "board_pack" and run.period == "2025-06"
    assert run.paths == [str(result.html_path), str(result.pdf_path)]


def test_publish_suppresses_small_counts_and_their_rates(stored, tmp_path):
    engine, settings = stored
    internal = build_board_pack(engine, settings, period="2025-06", as_of=AS_OF, out_dir=tmp_path)
    published = build_board_pack(engine, settings, period="2025-06", as_of=AS_OF, out_dir=tmp_path,
                                 publish=True)
    assert published.html_path != internal.html_path
    html = published.html_path.read_text(encoding="utf-8")
    # 3 of 5: the 3 is small, so it and the rate are c (5 is not); the RAG would give it away too
    # 3 of 5: the 3 is small, so the rate and both counts go (the 5 and the rate would give the 3)
    assert headline_cells(html, "final_20w")[1:4] == ["c", "60%", "Suppressed"]
    assert headline_cells(html, "reviews_overdue")[1] == "c"
    assert headline_cells(html, "final_20w")[6] == "45.9% (2024)"  # published figures stay
    assert headline_cells(html, "final_20w")[4:6] == ["c", "c"]  # previous: 1 of 1, so no change mark
    # a rate whose counts are hidden never shows a count beside a c, nor a 0 that gives the rate away
    assert not re.search(r"\(c of|of c\)|\(0 of [1-4]\)", html)
    # the open caseload on 31 May was 11: not small, so shown
    assert re.search(r'Previous \(May 2025\)</th><td><span class="value">11</span>', html)
    text = re.sub(r"\s+", " ", pdf_text(published.pdf_path))
    for small_rate in ("60.0%", "66.7%", "(3 of 5)"):
        assert small_rate not in text
    assert "For publication" in text


def test_cli_writes_the_pack_and_rejects_a_bad_period(stored, tmp_path, capsys, db_url, cli_logs):
    engine, _ = stored
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "report", "board-pack", "--period", "2025-Q2", "--out", str(out),
              "--as-of", "2025-07-10"])
    assert exit_.value.code == 0
    assert (out / "board-pack-2025-Q2.pdf").exists() and (out / "board-pack-2025-Q2.html").exists()
    assert "Q2 2025 (Apr-Jun)" in pdf_text(out / "board-pack-2025-Q2.pdf")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "report", "board-pack", "--period", "2025-13"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "2025-13" in err and "Traceback" not in err


def test_cli_imports_benchmarks(db_url, tmp_path, capsys, cli_logs):
    engine = make_engine(db_url)
    upgrade_head(engine)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "benchmarks", "import", str(DFE_DATA / "annual_reviews.csv")])
    assert exit_.value.code == 0
    assert "annual_reviews.csv" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "benchmarks", "import", str(tmp_path / "nope.csv")])
    assert exit_.value.code == 2
    engine.dispose()


@pytest.mark.parametrize("publish", [False, True])
def test_html_opens_in_chromium_without_errors_and_passes_axe(tmp_path, publish):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade_head(engine)
    store_dataset(engine)
    import_benchmarks(engine, DFE_DATA)
    from ehcp_monitor import config

    result = build_board_pack(engine, _settings(config.defaults()), period="2025-06", as_of=AS_OF,
                              out_dir=tmp_path, publish=publish)
    axe = axe_violations(result.html_path)
    assert axe.console_errors == []
    assert axe.violations == [], axe.summary()
    assert axe.rules_passed > 10
    engine.dispose()
