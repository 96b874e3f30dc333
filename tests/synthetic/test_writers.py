"""Each extract format written, then reopened by its real reader."""

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.synthetic import write_extract
from ehcp_monitor.synthetic.writers import as_text
from tests.conftest import AS_OF


def test_csv_round_trips_every_table(frames, tmp_path):
    paths = write_extract(frames, tmp_path, "csv")
    assert sorted(p.name for p in paths) == sorted(f"{t}.csv" for t in TABLE_ORDER)
    for name in TABLE_ORDER:
        back = pl.read_csv(tmp_path / f"{name}.csv", infer_schema=False)
        assert_frame_equal(back, as_text(frames[name]))
    flags = pl.read_csv(tmp_path / "requests.csv", infer_schema=False)["request_mediation"]
    assert set(flags.unique()) == {"0", "1"}
    assert pl.read_csv(tmp_path / "people.csv", infer_schema=False)["date_of_birth"].str.contains(
        r"^\d{4}-\d{2}-\d{2}$").all()


def test_parquet_keeps_the_canonical_types(frames, tmp_path):
    write_extract(frames, tmp_path, "parquet")
    for name in TABLE_ORDER:
        assert_frame_equal(pl.read_parquet(tmp_path / f"{name}.parquet"), frames[name])


def test_xlsx_has_a_sheet_per_table_with_real_dates(frames, tmp_path):
    small = {name: df.head(200) for name, df in frames.items()}
    [path] = write_extract(small, tmp_path, "xlsx")
    assert path.name == "extract.xlsx"
    workbook = openpyxl.load_workbook(path, read_only=True)
    assert workbook.sheetnames == list(TABLE_ORDER)
    for name in TABLE_ORDER:
        rows = list(workbook[name].iter_rows(values_only=True))
        assert list(rows[0]) == CANONICAL_TABLES[name].column_names
        assert len(rows) - 1 == small[name].height
    people = list(workbook["people"].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert people[1].date() == small["people"]["date_of_birth"][0]
    request = list(workbook["requests"].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert request[6] in (0, 1)


def test_xlsx_refuses_tables_larger_than_a_sheet(tmp_path):
    huge = {"people": pl.DataFrame({"person_id": pl.int_range(0, 1_048_576, eager=True).cast(pl.Utf8)})
            .with_columns(*[pl.lit(None, t).alias(c) for c, t in CANONICAL_TABLES["people"].polars_schema.items()
                            if c != "person_id"])}
    with pytest.raises(ConfigError):
        write_extract(huge, tmp_path, "xlsx")


def test_unknown_format_is_a_usage_error(frames, tmp_path):
    with pytest.raises(ConfigError):
        write_extract(frames, tmp_path, "pdf")


def test_bad_values_are_written_as_raw_text_in_every_format(bad_frames, tmp_path):
    write_extract(bad_frames, tmp_path / "csv", "csv")
    people = pl.read_csv(tmp_path / "csv" / "people.csv", infer_schema=False)
    assert "2019-02-30" in people["date_of_birth"].to_list()
    contacts = pl.read_csv(tmp_path / "csv" / "contacts.csv", infer_schema=False)
    assert contacts["email"].str.contains("\r\n", literal=True).any()

    write_extract(bad_frames, tmp_path / "sen2", "sen2", as_of=AS_OF)
    requests = pl.read_csv(tmp_path / "sen2" / "Blade-Export_14-03-2025_requests.csv", infer_schema=False)
    assert "31/12/2022" in requests["receiveddate"].to_list()
    assert requests["receiveddate"].str.contains(r"^\d{4}-[A-Z][a-z]{2}-\d{2} 00:00:00$").mean() > 0.95

    small = {name: pl.concat([df.head(50), df.tail(40)]) for name, df in bad_frames.items()}
    [path] = write_extract(small, tmp_path / "xlsx", "xlsx")
    sheet = openpyxl.load_workbook(path, read_only=True)["people"]
    births = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "2019-02-30" in births
    assert any(hasattr(b, "year") for b in births)

    write_extract(bad_frames, tmp_path / "parquet", "parquet")
    typed = pl.read_parquet(tmp_path / "parquet" / "requests.parquet")
    assert typed["request_mediation"].dtype == pl.Boolean
    assert typed["received_date"].dtype == pl.Utf8  # an unreadable date cannot be typed
    assert pl.read_parquet(tmp_path / "parquet" / "advice.parquet")["received_date"].dtype == pl.Date
