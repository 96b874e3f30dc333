"""The weekly list reads only the completed clocks its sections look back over (inputs.LOOKBACK_DAYS),
and shows exactly what it would show from every stored result; on SQLite and PostgreSQL."""

import io
import zipfile
from datetime import date

from ehcp_monitor.checks import run_check
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.late_list.content import compose
from ehcp_monitor.late_list.inputs import LOOKBACK_DAYS, load_inputs
from ehcp_monitor.late_list.recovery import list_recovery
from ehcp_monitor.late_list.render import render_csv, render_email_html, render_html, render_text, render_xlsx
from ehcp_monitor.synthetic import generate, write_extract

AS_OF = date(2025, 3, 14)


def _files(engine, settings, lookback_days) -> tuple[int, dict[str, bytes]]:
    """How many results the list read, and every file and message it makes from them."""
    inputs = load_inputs(engine, as_of=AS_OF, lookback_days=lookback_days)
    content = compose(inputs)
    content.recovery = list_recovery(inputs.recovery, settings, content.results_as_of)
    package = zipfile.ZipFile(io.BytesIO(render_xlsx(content)))
    files = {"csv": render_csv(content), "html": render_html(content).encode(), "text": render_text(content).encode(),
             "email": render_email_html(content).encode(),
             # Every part of the workbook but its creation time.
             **{i.filename: package.read(i) for i in package.infolist() if i.filename != "docProps/core.xml"}}
    return inputs.recovery.results.height, files


def test_the_list_read_within_its_lookback_is_the_list_read_from_every_result(engine, settings, tmp_path):
    write_extract(generate(people=400, seed=7, as_of=AS_OF), tmp_path / "extract", "csv")
    run_ingest(engine, settings, str(tmp_path / "extract"), as_of=AS_OF)
    run_check(engine, settings, as_of=AS_OF)
    read_all, everything = _files(engine, settings, None)
    read_within, within = _files(engine, settings, LOOKBACK_DAYS)
    assert read_within < read_all / 2  # most stored clocks were completed long ago
    assert within == everything
    # The lookback is not longer than a section needs: a shorter one changes what the list says.
    assert _files(engine, settings, LOOKBACK_DAYS - 60)[1] != everything
