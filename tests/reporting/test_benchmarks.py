"""Importing DfE's published EHC plan CSVs, as published (read from the shared data folder)."""

import polars as pl
import pytest

from ehcp_monitor.errors import ConfigError
from ehcp_monitor.reporting.benchmarks import comparators, import_benchmarks, read_figures
from tests.conftest import DFE_DATA

SHROPSHIRE, ENGLAND, WEST_MIDLANDS = "E06000051", "E92000001", "E12000005"


def figure(figures: pl.DataFrame, measure: str, area: str, year: str = "2024") -> dict:
    rows = figures.filter((pl.col("measure") == measure) & (pl.col("area_code") == area)
                          & (pl.col("time_period") == year))
    assert rows.height == 1
    return rows.row(0, named=True)


@pytest.fixture
def figures(engine):
    result = import_benchmarks(engine, DFE_DATA)
    assert sorted(result.files) == ["annual_reviews.csv", "assessments.csv", "requests.csv",
                                    "timeliness_20_week.csv"]
    return read_figures(engine)


def test_published_2024_figures(figures):
    assert figure(figures, "final_20w", ENGLAND)["value"] == 45.9
    assert figure(figures, "final_20w_ex", ENGLAND)["value"] == 46.4
    assert figure(figures, "final_20w_band_over_52", ENGLAND)["value"] == 7.2
    shropshire = figure(figures, "final_20w", SHROPSHIRE)
    assert (shropshire["value"], shropshire["numerator"], shropshire["denominator"]) == (37.2, 268, 720)
    assert shropshire["region_code"] == WEST_MIDLANDS and shropshire["area_name"] == "Shropshire"
    reviews = figure(figures, "review_decision_4w", SHROPSHIRE)
    assert (reviews["value"], reviews["numerator"], reviews["denominator"]) == (7.6, 50, 658)
    assert figure(figures, "review_decision_4w", ENGLAND)["value"] == 44.4


def test_symbols_are_kept_not_turned_into_numbers(figures):
    # 2019: bands were not collected ("x")
    band = figure(figures, "final_20w_band_20_52", SHROPSHIRE, "2019")
    assert band["value"] is None and band["symbol"] == "x"
    assert figure(figures, "final_20w", SHROPSHIRE, "2019")["symbol"] is None


def test_comparators_latest_year_england_region_neighbours(figures):
    found = comparators(figures, "final_20w", SHROPSHIRE, ["E06000019", "E10000034"])
    labels = {c.label: (c.time_period, c.value) for c in found}
    assert labels["England"] == ("2024", 45.9)
    assert labels["Shropshire (published)"] == ("2024", 37.2)
    assert labels["West Midlands"][0] == "2024"
    neighbours = [c for c in found if c.label.startswith("Statistical neighbours (mean of 2)")][0]
    one = figure(figures, "final_20w", "E06000019")["value"]
    two = figure(figures, "final_20w", "E10000034")["value"]
    assert neighbours.value == round((one + two) / 2, 1)


def test_reimport_replaces_rather_than_duplicates(engine, figures):
    import_benchmarks(engine, DFE_DATA / "timeliness_20_week.csv")
    assert read_figures(engine).height == figures.height


HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
          "new_la_code,old_la_code,la_name,breakdown_topic,breakdown,requests_received_in_year,"
          "request_outcome_six_weeks,request_outcome_over_6_weeks,request_outcome_six_weeks_pc")


def test_hand_written_file_with_bom_quotes_and_every_symbol(engine, tmp_path):
    body = [
        "2024,Calendar year,Local authority,E92000001,England,E12000006,South West,E06000058,839,"
        '"Bournemouth, Christchurch and Poole",All requests,All requests,100,c,c,c',
        "2024,Calendar year,Local authority,E92000001,England,E12000006,South West,E06000059,838,"
        "Dorset,All requests,All requests,100,z,z,z",
        "2024,Calendar year,Local authority,E92000001,England,E12000006,South West,E06000059,838,"
        "Dorset,Sex,Female,40,30,10,75",  # a breakdown row: not a headline, not kept
        "2023,Calendar year,National,E92000001,England,,,,,,All requests,All requests,10,8,2,80",
    ]
    path = tmp_path / "my-download.csv"
    path.write_bytes("\ufeff".encode() + ("\r\n".join([HEADER, *body]) + "\r\n").encode())
    result = import_benchmarks(engine, path)
    assert result.rows == 3
    got = read_figures(engine).sort("area_code")
    assert got.select("area_code", "area_name", "value", "symbol").rows() == [
        ("E06000058", "Bournemouth, Christchurch and Poole", None, "c"),
        ("E06000059", "Dorset", None, "z"),
        ("E92000001", "England", 80.0, None),
    ]
    assert got.filter(pl.col("area_code") == ENGLAND)["denominator"][0] == 10


def test_a_file_the_pack_does_not_use_is_refused_with_one_line(engine, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a DfE EHC plans file"):
        import_benchmarks(engine, path)
    with pytest.raises(ConfigError, match="does not exist"):
        import_benchmarks(engine, tmp_path / "missing")
