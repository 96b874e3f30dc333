"""One synthetic caseload as SEN2 XML and as its canonical twin gives the same clocks, IDs apart.

SEN2 holds what the return holds: no advice, drafts, contacts or QA audits, and of each active
plan only the latest meeting, the latest decision and the latest phase transfer. The twin is
therefore the canonical extract reduced to that view (built here from the generated frames,
independently of the reader), and, since a canonical `reviews` table counts as the full history,
its snapshot is evaluated with plans marked latest-only, as the XML's are. The XML's derived IDs
are mapped back to the generator's through the fields that identify each record.
"""

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ehcp_monitor.checks import evaluate, run_check
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.domain.calendar import months_expr
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.synthetic import generate, write_extract

AS_OF = date(2025, 3, 14)
PEOPLE, SEED = 1500, 5
SEN2_TABLES = ("people", "requests", "assessments", "plans", "reviews", "phase_transfers")


@pytest.fixture(scope="module")
def frames():
    return generate(PEOPLE, SEED, AS_OF)


@pytest.fixture(autouse=True)
def id_key(monkeypatch):
    monkeypatch.setenv("EHCP_ID_KEY", "twin-test-key")


def latest_only_reviews(plans: pl.DataFrame, reviews: pl.DataFrame) -> pl.DataFrame:
    """Of each plan not ceased: the latest meeting and the latest decision; two reviews when the
    meeting is the later (one decided, one awaiting its decision)."""
    live = plans.filter(pl.col("cease_date").is_null()).select("plan_id")
    mine = reviews.join(live, on="plan_id")
    meeting = mine.group_by("plan_id").agg(pl.col("meeting_date").max())
    decided = mine.filter(pl.col("decision_date").is_not_null()).sort("decision_date").group_by("plan_id").agg(
        pl.col("decision_date", "outcome", "amendment_notice_date").last())
    rows = live.join(meeting, on="plan_id", how="left").join(decided, on="plan_id", how="left").filter(
        pl.col("meeting_date").is_not_null() | pl.col("decision_date").is_not_null())
    later = (pl.col("meeting_date") > pl.col("decision_date")).fill_null(False)
    split = rows.filter(later)
    return pl.concat([
        rows.filter(~later),
        split.with_columns(pl.lit(None, pl.Date).alias("meeting_date")),
        split.with_columns(pl.lit(None, pl.Date).alias("decision_date"), pl.lit(None, pl.Utf8).alias("outcome"),
                           pl.lit(None, pl.Date).alias("amendment_notice_date")),
    ]).with_columns(pl.lit(None, pl.Date).alias("amended_final_date")).select(reviews.columns)


def sen2_phase_transfers(plans: pl.DataFrame, transfers: pl.DataFrame) -> pl.DataFrame:
    """Of each plan not ceased, its latest transfer as SEN2 has it: the due date (given, else the
    reg 18 one) stands for the transfer date, and the kind follows from the month it is due."""
    live = plans.filter(pl.col("cease_date").is_null()).select("plan_id")
    t, kind = pl.col("transfer_date"), pl.col("transfer_kind")
    rule = (pl.when(kind == "school").then(pl.date(t.dt.year(), 2, 15))
            .when(kind == "post16").then(pl.date(t.dt.year(), 3, 31)).otherwise(months_expr(t, -5)))
    latest = transfers.join(live, on="plan_id").sort("transfer_date").group_by("plan_id").agg(pl.all().last())
    due = latest.with_columns(pl.coalesce("due_date", rule).alias("due"))
    month = pl.col("due").dt.month()
    return due.select(
        "plan_id",
        pl.when(month == 2).then(pl.lit("school")).when(month == 3).then(pl.lit("post16"))
        .otherwise(pl.lit("post16_other")).alias("transfer_kind"),
        pl.col("due").alias("transfer_date"), pl.col("due").alias("due_date"), "final_date",
    )


def twin_of(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    twin = {name: frames[name] for name in ("people", "requests", "assessments", "plans")}
    # What SEN2 does not carry: case officers and teams, exception reasons.
    twin["requests"] = twin["requests"].with_columns(pl.lit(None, pl.Utf8).alias("case_officer"),
                                                     pl.lit(None, pl.Utf8).alias("team"))
    twin["assessments"] = twin["assessments"].with_columns(pl.lit(None, pl.Utf8).alias("exception_reason"))
    twin["reviews"] = latest_only_reviews(frames["plans"], frames["reviews"])
    twin["phase_transfers"] = sen2_phase_transfers(frames["plans"], frames["phase_transfers"])
    return twin


def id_map(xml: dict[str, pl.DataFrame], canonical: dict[str, pl.DataFrame]) -> dict[str, dict[str, str]]:
    """XML ID -> generator ID, matched on the fields that identify each record."""
    def pairs(table, key, on):
        joined = xml[table].join(canonical[table], on=on, how="inner", nulls_equal=True, suffix="_c")
        assert joined.height == xml[table].height == canonical[table].height, table
        return dict(zip(joined[key].to_list(), joined[f"{key}_c"].to_list(), strict=False))

    person = pairs("people", "person_id", ["upn", "surname", "forename", "date_of_birth"])
    xml["requests"] = xml["requests"].with_columns(pl.col("person_id").replace_strict(person))
    request = pairs("requests", "request_id", ["person_id", "received_date", "request_source"])
    xml["plans"] = xml["plans"].with_columns(pl.col("request_id").replace_strict(request))
    plan = pairs("plans", "plan_id", ["request_id", "start_date"])
    return {"person_id": person, "request_id": request, "plan_id": plan}


def test_sen2_xml_and_its_canonical_twin_give_the_same_clocks(engine, settings, tmp_path, frames):
    twin = twin_of(frames)
    write_extract(twin, tmp_path / "twin", "csv")
    write_extract(frames, tmp_path / "xml", "sen2-xml", as_of=AS_OF)

    run_ingest(engine, settings, str(tmp_path / "twin"), as_of=AS_OF)
    snapshot = read_snapshot(engine)
    canonical = {name: snapshot[name] for name in SEN2_TABLES}
    snapshot.tables["plans"] = snapshot["plans"].with_columns(pl.lit("latest_only").alias("review_history"))
    expected = evaluate(snapshot, settings, AS_OF)

    # SEN2 has no case officers: the snapshot guard asks for leave to drop the twin's.
    result = run_ingest(engine, settings, str(tmp_path / "xml"), as_of=AS_OF,
                        accept_missing=("plans.case_officer", "plans.team"))
    assert result.source_kind == "sen2_xml"
    assert {t: c["quarantined"] for t, c in result.counts.items()} == dict.fromkeys(SEN2_TABLES, 0)
    assert {t: c["read"] for t, c in result.counts.items()} == {t: twin[t].height for t in SEN2_TABLES}
    snap = read_snapshot(engine)
    assert snap.tables_present == set(SEN2_TABLES)
    ids = id_map({name: snap[name] for name in SEN2_TABLES}, canonical)
    got = run_check(engine, settings, as_of=AS_OF).frame.with_columns(
        pl.col(c).replace_strict(mapping, default=None) for c, mapping in ids.items())

    assert got.height == expected.height > 5000
    assert set(got["measure"]) == set(expected["measure"]) >= {"DECIDE_6W", "FINAL_20W", "REVIEW_12M",
                                                               "REVIEW_DECISION_4W", "PHASE_TRANSFER"}
    assert_frame_equal(got.sort(got.columns, nulls_last=True), expected.sort(expected.columns, nulls_last=True))
