"""Importing DfE's published EHC plan CSVs, as published (read from the shared data folder)."""

import polars as pl
import pytest

from ehcp_monitor.board_pack.benchmarks import comparators, import_benchmarks, read_figures
from ehcp_monitor.errors import ConfigError, IngestRefused
from tests.conftest import DFE_DATA, DFE_DATA_2026

SHROPSHIRE, ENGLAND, WEST_MIDLANDS = "E06000051", "E92000001", "E12000005"


def figure(figures: pl.DataFrame, measure: str, area: str, year: str = "2024") -> dict:
    rows = figures.filter((pl.col("measure") == measure) & (pl.col("area_code") == area)
                          & (pl.col("time_period") == year))
    assert rows.height == 1
    return rows.row(0, named=True)


@pytest.fixture
def figures(engine):
    result = import_benchmarks(engine, DFE_DATA)
    assert sorted(result.files) == ["annual_reviews.csv", "assessments.csv", "caseload.csv", "newplans.csv",
                                    "requests.csv", "timeliness_20_week.csv"]
    # every file: figures taken, and the breakdown rows skipped on purpose, counted
    for report in result.reports:
        assert report.figures > 0 and sum(report.skipped.values()) > 0, report.line()
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
    assert result.rows == 6  # decide_6w and the count of requests, for 3 areas
    assert result.reports[0].skipped == {"breakdown rows (age, sex, ethnicity and the like: not compared)": 1}
    got = read_figures(engine).filter(pl.col("measure") == "decide_6w").sort("area_code")
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


# --- the June 2026 release (calendar year 2025): renamed columns, new labels, new files ----------


def test_2026_release_takes_every_file_and_its_new_measures(engine):
    result = import_benchmarks(engine, DFE_DATA_2026)
    by_file = {r.recognised_as: r for r in result.reports}
    assert sorted(by_file) == ["annual_reviews.csv", "assessments.csv", "caseload.csv", "newplans.csv",
                               "phase_transfers.csv", "requests.csv", "timeliness_20_week.csv"]
    # the sample holds totals only: 14 rows (7 areas x 2 years), 7 for annual reviews and phase transfers
    assert by_file["timeliness_20_week.csv"].figures == 14 * 8
    assert by_file["phase_transfers.csv"].figures == 14
    assert all(r.skipped == {} for r in result.reports)
    figures = read_figures(engine)
    # case-only renames (PC_plans_issued_20_weeks_ex -> pc_...) and the new total label "All EHC plans"
    assert figure(figures, "final_20w", ENGLAND, "2025")["value"] == 45.5
    assert figure(figures, "final_20w_ex", ENGLAND, "2025")["value"] == 46.1
    assert figure(figures, "final_20w_band_20_52_ex", SHROPSHIRE, "2025")["value"] == 79.4
    assert figure(figures, "avg_weeks_issue", ENGLAND, "2025")["value"] == 25.6
    assert figure(figures, "avg_weeks_issue_ex", SHROPSHIRE, "2025")["value"] == 33.0
    # the rebuilt annual review table: DfE publishes counts only, the rate is computed the same way
    reviews = figure(figures, "review_decision_4w", ENGLAND, "2025")
    assert (reviews["numerator"], reviews["denominator"], reviews["value"]) == (161396, 339027, 47.6)
    assert figure(figures, "review_decision_4w", SHROPSHIRE, "2025")["value"] == 11.0  # 71 of 643
    assert figure(figures, "reviews_expected", SHROPSHIRE, "2025")["value"] == 2875
    assert figure(figures, "reviews_completed", ENGLAND, "2025")["numerator"] == 339027
    assert figure(figures, "review_outcome_amended", ENGLAND, "2025")["denominator"] == 339027
    # phase transfers: due_25 / final_25 read for 2025 (counts: DfE publishes no rate)
    assert figure(figures, "phase_transfers_due", SHROPSHIRE, "2025")["value"] == 459
    assert figure(figures, "phase_transfers_final", ENGLAND, "2025")["value"] == 38887
    refused = figure(figures, "requests_refused", SHROPSHIRE, "2025")
    assert (refused["numerator"], refused["denominator"], refused["value"]) == (168, 857, 19.6)


def test_the_2026_release_over_the_2025_one_replaces_only_what_it_publishes(engine):
    import_benchmarks(engine, DFE_DATA)
    before = read_figures(engine)
    import_benchmarks(engine, DFE_DATA_2026)
    after = read_figures(engine)
    # 2019-2023 kept; 2024 revised for the sample's areas only; 2025 added
    assert figure(after, "final_20w", ENGLAND, "2019")["value"] == figure(before, "final_20w", ENGLAND, "2019")["value"]
    assert figure(after, "final_20w", "E06000058", "2024")["value"] == figure(before, "final_20w", "E06000058",
                                                                                "2024")["value"]
    assert figure(after, "final_20w", ENGLAND, "2025")["value"] == 45.5
    assert after.filter(pl.col("measure") == "final_20w").height == (
        before.filter(pl.col("measure") == "final_20w").height + 7)
    found = {c.kind: c for c in comparators(after, "final_20w", SHROPSHIRE, ["E06000019", "E10000034"])}
    assert (found["england"].time_period, found["england"].value) == ("2025", 45.5)
    assert found["la"].value == 11.4 and found["region"].label == "West Midlands"
    assert [c.time_period for c in comparators(after, "final_20w", SHROPSHIRE, [], year="2024")] == ["2024"] * 3


def test_a_known_file_that_yields_no_figures_refuses_the_import(engine, tmp_path):
    source = (DFE_DATA_2026 / "annual_reviews.csv").read_text(encoding="utf-8")
    # a future release renames the total label to something no rule knows: nothing would be compared
    path = tmp_path / "annual_reviews.csv"
    path.write_text(source.replace("All reviews of EHC plans", "Total reviews"), encoding="utf-8")
    with pytest.raises(IngestRefused, match="gave no figures") as refused:
        import_benchmarks(engine, tmp_path)
    assert refused.value.exit_code == 3 and "\n" not in str(refused.value)
    assert read_figures(engine).height == 0
    # a known file that lost a column it must have: refused too, naming the file
    header, _, body = source.partition("\n")
    path.write_text(header.replace("decision_over_4_weeks", "something_else") + "\n" + body, encoding="utf-8")
    with pytest.raises(IngestRefused, match="annual_reviews.csv"):
        import_benchmarks(engine, path)


def test_another_csv_in_the_folder_is_reported_not_silently_passed(engine, tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "requests.csv").write_bytes((DFE_DATA_2026 / "requests.csv").read_bytes())
    result = import_benchmarks(engine, tmp_path)
    lines = [r.line() for r in result.reports]
    assert lines == ["notes.csv: not a DfE EHC plans file the pack uses, skipped",
                     "requests.csv (requests.csv): 42 figures"]
