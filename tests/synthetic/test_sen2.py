"""The SEN2 Blade export: the example's files and columns, integer IDs, latest reviews only."""

import csv

import polars as pl
from polars.testing import assert_frame_equal

from ehcp_monitor.synthetic import write_extract
from ehcp_monitor.synthetic.sen2 import EXTENSION_TABLES
from ehcp_monitor.synthetic.writers import as_text
from tests.conftest import AS_OF, SEN2_EXAMPLE

SEN2_MODULES = ("sen2", "person", "requests", "assessment", "namedplan", "plandetail", "activeplans",
                "placementdetail", "senneed")


def _header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


def test_sen2_files_and_columns_match_the_example_export(frames, tmp_path):
    paths = write_extract(frames, tmp_path, "sen2", as_of=AS_OF)
    names = {p.name for p in paths}
    assert names == {f"Blade-Export_14-03-2025_{m}.csv" for m in SEN2_MODULES} | {
        f"{t}.csv" for t in EXTENSION_TABLES}
    for module in SEN2_MODULES:
        example = SEN2_EXAMPLE / f"Blade-Export_14-03-2025_{module}.csv"
        ours = tmp_path / f"Blade-Export_14-03-2025_{module}.csv"
        assert _header(ours) == _header(example), module
        assert ours.read_bytes().split(b"\n")[0].endswith(b"\r")  # CRLF like the example


def _module(path, module):
    return pl.read_csv(path / f"Blade-Export_14-03-2025_{module}.csv", infer_schema=False)


def test_sen2_rows_link_by_integer_ids_and_use_sen2_dates(frames, tmp_path):
    write_extract(frames, tmp_path, "sen2", as_of=AS_OF)
    person, requests = _module(tmp_path, "person"), _module(tmp_path, "requests")
    assessment, named = _module(tmp_path, "assessment"), _module(tmp_path, "namedplan")
    active = _module(tmp_path, "activeplans")
    for frame, column in ((person, "persontableid"), (requests, "requeststableid"),
                          (assessment, "assessmenttableid"), (named, "namedplantableid"),
                          (active, "activeplanstableid")):
        assert frame[column].str.contains(r"^\d+$").all(), column
        assert frame[column].is_unique().all(), column
    assert requests["persontableid"].is_in(person["persontableid"].implode()).all()
    assert assessment["requeststableid"].is_in(requests["requeststableid"].implode()).all()
    assert named["assessmenttableid"].is_in(assessment["assessmenttableid"].implode()).all()
    assert active["requeststableid"].is_in(requests["requeststableid"].implode()).all()
    assert person.height == frames["people"].height
    assert named.height == frames["plans"].height
    live = frames["plans"].filter(pl.col("cease_date").is_null()).height
    assert active.height == live
    assert requests["receiveddate"].str.contains(r"^\d{4}-[A-Z][a-z]{2}-\d{2} 00:00:00$").all()
    first = frames["requests"]["received_date"][0]
    assert requests["receiveddate"][0] == first.strftime("%Y-%b-%d 00:00:00")
    assert set(requests["requestmediation"].unique()) == {"0", "1"}


def test_sen2_carries_only_the_latest_review_of_each_active_plan(frames, tmp_path):
    write_extract(frames, tmp_path, "sen2", as_of=AS_OF)
    active = _module(tmp_path, "activeplans")
    reviews = frames["reviews"].join(frames["plans"].select("plan_id", "request_id"), on="plan_id")
    latest = reviews.group_by("request_id").agg(
        pl.col("meeting_date").max().alias("meeting"), pl.col("decision_date").max().alias("decision"))
    joined = active.join(latest, left_on="requeststableid", right_on="request_id", how="inner")
    assert joined.height > 0
    def sen2_date(column: str) -> pl.Expr:
        return pl.col(column).dt.strftime("%Y-%b-%d 00:00:00").fill_null("")

    as_sen2 = joined.select(
        (sen2_date("meeting") == pl.col("reviewmeeting").fill_null("")).all(),
        (sen2_date("decision") == pl.col("lastreview").fill_null("")).all(),
    ).row(0)
    assert as_sen2 == (True, True)
    assert set(active["reviewoutcome"].drop_nulls().unique()) <= {"M", "A", "C"}
    # A meeting after the last decision: the review awaiting its decision (docs/input-formats.md, SEN2 Blade export).
    awaiting = joined.filter(pl.col("meeting") > pl.col("decision"))
    assert awaiting.height > 0


def test_sen2_extension_tables_are_canonical_csv(frames, tmp_path):
    write_extract(frames, tmp_path, "sen2", as_of=AS_OF)
    for name in EXTENSION_TABLES:
        back = pl.read_csv(tmp_path / f"{name}.csv", infer_schema=False)
        assert_frame_equal(back, as_text(frames[name]))
