"""The weekly list reads only the completed clocks its sections look back over (inputs.LOOKBACK_DAYS),
and shows exactly what it would show from every stored result; on SQLite and PostgreSQL."""

import io
import zipfile
from datetime import date, timedelta

import polars as pl

from ehcp_monitor.checks import run_check
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.late_list.content import compose
from ehcp_monitor.late_list.inputs import LOOKBACK_DAYS, load_inputs
from ehcp_monitor.late_list.recovery import list_recovery
from ehcp_monitor.late_list.render import render_csv, render_email_html, render_html, render_text, render_xlsx
from ehcp_monitor.synthetic import generate, write_extract

AS_OF = date(2025, 3, 14)
LEAVER = "Officer Leaver"


def _files(engine, settings, lookback_days, as_of=AS_OF) -> tuple[int, dict[str, bytes]]:
    """How many results the list read, and every file and message it makes from them."""
    inputs = load_inputs(engine, as_of=as_of, lookback_days=lookback_days)
    content = compose(inputs)
    content.recovery = list_recovery(inputs.recovery, settings, content.results_as_of)
    package = zipfile.ZipFile(io.BytesIO(render_xlsx(content)))
    files = {"csv": render_csv(content), "html": render_html(content).encode(), "text": render_text(content).encode(),
             "email": render_email_html(content).encode(),
             # Every part of the workbook but its creation time.
             **{i.filename: package.read(i) for i in package.infolist() if i.filename != "docProps/core.xml"}}
    return inputs.recovery.results.height, files


def _with_a_leaver(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """One plan, held by an officer and team holding nothing else, ceased between two reviews
    years ago: its only review cycles were completed long before the results' date."""
    reviews = frames["reviews"].group_by("plan_id").agg(
        last=pl.col("meeting_date").max(), before=pl.col("meeting_date").sort().slice(-2, 1).first(), n=pl.len())
    plan_id, before, last = (reviews.filter((pl.col("n") >= 2) & (pl.col("last") < AS_OF - timedelta(days=700)))
                             .sort("plan_id").select("plan_id", "before", "last").row(0))
    mine = pl.col("plan_id") == plan_id
    return {**frames, "plans": frames["plans"].with_columns(
        cease_date=pl.when(mine).then(pl.lit(before + (last - before) / 2)).otherwise("cease_date"),
        cease_reason=pl.when(mine).then(pl.lit("moved_out")).otherwise("cease_reason"),
        case_officer=pl.when(mine).then(pl.lit(LEAVER)).otherwise("case_officer"),
        team=pl.when(mine).then(pl.lit("Old Team")).otherwise("team"))}


def test_the_list_read_within_its_lookback_is_the_list_read_from_every_result(engine, settings, tmp_path):
    write_extract(_with_a_leaver(generate(people=400, seed=7, as_of=AS_OF)), tmp_path / "extract", "csv")
    run_ingest(engine, settings, str(tmp_path / "extract"), as_of=AS_OF)
    run_check(engine, settings, as_of=AS_OF)
    read_all, everything = _files(engine, settings, None)
    read_within, within = _files(engine, settings, LOOKBACK_DAYS)
    assert read_within < read_all / 2  # most stored clocks were completed long ago
    assert within == everything
    # Nor when the list is built weeks after the results it uses.
    later = AS_OF + timedelta(days=120)
    assert _files(engine, settings, LOOKBACK_DAYS, as_of=later)[1] == _files(engine, settings, None, as_of=later)[1]
    # The lookback is not longer than a section needs: a shorter one changes what the list says.
    assert _files(engine, settings, LOOKBACK_DAYS - 60)[1] != everything


def test_no_recovery_row_for_whoever_held_review_cycles_only_long_ago(engine, settings, tmp_path):
    write_extract(_with_a_leaver(generate(people=400, seed=7, as_of=AS_OF)), tmp_path / "extract", "csv")
    run_ingest(engine, settings, str(tmp_path / "extract"), as_of=AS_OF)
    run_check(engine, settings, as_of=AS_OF)
    inputs = load_inputs(engine, as_of=AS_OF, lookback_days=None)
    recovery = list_recovery(inputs.recovery, settings, AS_OF)
    assert LEAVER not in recovery.recovery_officers["case_officer"].to_list()
    assert "Old Team" not in recovery.recovery_teams["team"].to_list()
