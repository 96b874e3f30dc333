"""The deliberately bad rows: few, raw text, and none of the good rows lost."""

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER
from ehcp_monitor.synthetic import generate, write_extract
from ehcp_monitor.synthetic.writers import as_text
from tests.conftest import AS_OF


def test_bad_frames_are_raw_text_with_the_canonical_columns(bad_frames):
    for name in TABLE_ORDER:
        assert bad_frames[name].columns == CANONICAL_TABLES[name].column_names
        assert set(bad_frames[name].schema.values()) == {pl.Utf8}


def test_every_good_row_is_kept_and_bad_rows_are_well_under_five_percent(frames, bad_frames):
    for name in TABLE_ORDER:
        good, with_bad = as_text(frames[name]), bad_frames[name]
        assert with_bad.head(good.height).equals(good), name
        added = with_bad.height - good.height
        assert 0 <= added / good.height < 0.02, name
    for name in ("people", "requests", "advice", "plans", "reviews", "contacts", "qa_audits", "assessments"):
        assert bad_frames[name].height > frames[name].height, name


def test_the_bad_values_of_each_kind_are_present(frames, bad_frames):
    people, requests = bad_frames["people"], bad_frames["requests"]
    added = requests.tail(requests.height - frames["requests"].height)
    assert added["received_date"].is_null().any()  # V001
    assert (people["date_of_birth"] == "2019-02-30").any()  # V002
    assert (added["request_outcome"] == "Q").any()  # V003
    assert added["request_id"].is_duplicated().any()  # V004
    assert not added["person_id"].is_in(people["person_id"].implode()).all()  # V005
    assert (added["received_date"] > "2025-03-14").any()  # V007 (ISO text sorts as dates)
    n_without_date = added.filter((pl.col("request_outcome") == "N") & pl.col("request_outcome_date").is_null())
    assert n_without_date.height > 0  # V008
    emails = bad_frames["contacts"]["email"].drop_nulls()
    assert emails.str.contains("\r\n", literal=True).any()  # V009
    assert people["forename"].str.contains("\x07", literal=True).any()  # V010
    assert (people["surname"].str.len_chars() > 100).any()  # V010


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_bad_rows_and_every_writer_work_for_any_size(people, seed, tmp_path_factory):
    good = generate(people=people, seed=seed, as_of=AS_OF)
    bad = generate(people=people, seed=seed, as_of=AS_OF, bad_rows=True)
    for name in TABLE_ORDER:
        assert bad[name].head(good[name].height).equals(as_text(good[name]))
    assert bad["requests"].height >= good["requests"].height + 10
    out = tmp_path_factory.mktemp("extract")
    for fmt in ("csv", "parquet", "sen2"):
        assert write_extract(bad, out / fmt, fmt, as_of=AS_OF)
