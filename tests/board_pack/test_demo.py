"""The demo compares: a small extract of DfE's published figures, built by scripts/build_dfe_extract.py
from the published files, loaded into the demo's store; one LA identity in the demo's settings. Also
`benchmarks import` at the command line: a line per file, exit 3 on a known file with no figures."""

import importlib.util
import re
import sys

import polars as pl
import pytest

from ehcp_monitor import logs
from ehcp_monitor.board_pack.benchmarks import EXTRACT, FIGURE_SCHEMA, comparators, load_extract, read_figures
from ehcp_monitor.cli import main
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.demo import DEMO_LA_CODE, DEMO_LA_NAME, DEMO_NEIGHBOURS, DemoPaths, demo_settings
from tests.conftest import DFE_DATA, DFE_DATA_2026, ROOT


def _script():
    spec = importlib.util.spec_from_file_location("build_dfe_extract", ROOT / "scripts" / "build_dfe_extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_extract_is_what_the_script_builds_from_the_published_files():
    built = _script().build([DFE_DATA, DFE_DATA_2026])
    committed = pl.read_csv(EXTRACT, schema=FIGURE_SCHEMA)
    assert built.equals(committed)
    areas = set(committed["area_code"])
    assert {DEMO_LA_CODE, *DEMO_NEIGHBOURS, "E92000001", "E12000005"} <= areas
    assert set(committed.filter(pl.col("geographic_level") == "Local authority")["area_code"]) == {
        DEMO_LA_CODE, *DEMO_NEIGHBOURS}
    readme = (EXTRACT.parent / "README.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in readme and "build_dfe_extract.py" in readme


def test_demo_store_compares_with_england_region_and_neighbours(engine, tmp_path):
    assert load_extract(engine) == pl.read_csv(EXTRACT, schema=FIGURE_SCHEMA).height
    found = {c.kind: c for c in comparators(read_figures(engine), "final_20w", DEMO_LA_CODE, DEMO_NEIGHBOURS)}
    assert set(found) == {"la", "england", "region", "neighbours"}
    assert (found["england"].time_period, found["england"].value) == ("2025", 45.5)
    assert found["neighbours"].label == "Statistical neighbours (mean of 4)"
    settings = demo_settings(DemoPaths(tmp_path))
    assert (settings.la.code, settings.la.name) == (DEMO_LA_CODE, DEMO_LA_NAME)
    assert list(settings.board_pack.statistical_neighbours) == DEMO_NEIGHBOURS


@pytest.fixture
def cli_logs_reset():
    """The demo's jobs point structlog at their own stream; point it back once the test is over."""
    yield
    logs.configure(stream=sys.__stderr__)


@pytest.fixture
def cli(db_url, tmp_path, capsys):
    engine = make_engine(db_url)
    upgrade_head(engine)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")

    def run(*args) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            main(["--config", str(config), *args])
        out = capsys.readouterr()
        return exit_.value.code, out.out, out.err

    yield run
    logs.configure(stream=sys.__stderr__)
    engine.dispose()


def test_cli_reports_each_file_and_refuses_a_file_with_no_figures(cli, tmp_path):
    code, out, _ = cli("benchmarks", "import", str(DFE_DATA_2026))
    assert code == 0
    assert "benchmarks: timeliness_20_week.csv (timeliness_20_week.csv): 112 figures" in out
    assert "benchmarks: phase_transfers.csv (phase_transfers.csv): 14 figures" in out
    assert "from 7 files" in out
    broken = tmp_path / "timeliness_20_week.csv"
    broken.write_text((DFE_DATA_2026 / "timeliness_20_week.csv").read_text(encoding="utf-8")
                      .replace("All EHC plans", "Every plan"), encoding="utf-8")
    code, out, err = cli("benchmarks", "import", str(broken))
    assert code == 3
    assert err.strip().count("\n") == 0 and "gave no figures" in err and "Traceback" not in err


def test_the_demo_pack_compares_and_names_the_la_as_its_emails_do(tmp_path, cli_logs_reset):
    from datetime import date

    from ehcp_monitor.demo import run_demo

    lines: list[str] = []
    settings = run_demo(tmp_path / "demo", people=300, as_of=date(2026, 3, 16), echo=lines.append)
    pack = next((tmp_path / "demo" / "board-pack").glob("board-pack-2026-02.html")).read_text(encoding="utf-8")
    assert "no DfE figures loaded" not in pack
    assert "Shropshire Council (demo) (DfE statistics code E06000051)" in pack
    assert "DfE’s measures for calendar year 2025" in pack
    assert re.search(r"England</th><td>2025</td><td>45\.5%", pack)
    assert "Statistical neighbours (mean of 4)" in pack
    emails = list((tmp_path / "demo" / "outbox").glob("*.eml"))
    assert emails and all(settings.la.name in e.read_text(encoding="utf-8") for e in emails[:5])
    loaded = pl.read_csv(EXTRACT, schema=FIGURE_SCHEMA).height
    assert any(f"compared with {loaded} published DfE figures" in line for line in lines)
