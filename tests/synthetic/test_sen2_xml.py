"""The SEN2 XML writer: the guide's nesting, ISO dates, absent empty elements, escaped text."""

import polars as pl
from click.testing import CliRunner
from lxml import etree

from ehcp_monitor.cli import cli
from ehcp_monitor.synthetic import write_extract
from tests.conftest import AS_OF


def _parse(path):
    return etree.parse(str(path)).getroot()


def test_one_file_nested_as_the_guide_nests_it(frames, tmp_path):
    (path,) = write_extract(frames, tmp_path, "sen2-xml", as_of=AS_OF)
    assert path.name == "sen2_2025-03-14.xml"
    root = _parse(path)
    assert root.tag == "Message" and root.findtext("Header/CollectionDetails/Collection") == "SEN2"
    assert root.findtext("Header/Source/DateTime") == "2025-03-14T00:00:00"
    assert len(root.findall("Persons/Person")) == frames["people"].height
    assert len(root.findall("Persons/Person/Requests")) == frames["requests"].height
    assert len(root.findall("Persons/Person/Requests/Assessment")) == frames["assessments"].height
    assert len(root.findall("Persons/Person/Requests/Assessment/NamedPlan")) == frames["plans"].height
    live = frames["plans"].filter(pl.col("cease_date").is_null()).height
    assert len(root.findall("Persons/Person/Requests/ActivePlans")) == live
    first = frames["requests"].row(0, named=True)
    request = root.find("Persons/Person/Requests")
    assert request.findtext("ReceivedDate") == first["received_date"].isoformat()
    assert request.findtext("RequestOutcome") == first["request_outcome"]


def test_empty_values_are_absent_elements_and_dates_are_iso(frames, tmp_path):
    (path,) = write_extract(frames, tmp_path, "sen2-xml", as_of=AS_OF)
    root = _parse(path)
    assert not [e.tag for e in root.iter() if len(e) == 0 and not (e.text or "").strip()]
    no_upn = frames["people"]["upn"].null_count()
    assert len(root.findall("Persons/Person")) - len(root.findall("Persons/Person/UPN")) == no_upn > 0
    for tag in ("PersonBirthDate", "ReceivedDate", "StartDate", "ReviewMeeting", "LastReview"):
        values = [e.text for e in root.iter(tag)]
        assert values and all(len(v) == 10 and v[4] == "-" and v[7] == "-" for v in values), tag


def test_text_is_escaped(frames, tmp_path):
    people = frames["people"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("O'Brien & <Sons>\x07")).otherwise("surname")
        .alias("surname"))
    (path,) = write_extract({**frames, "people": people}, tmp_path, "sen2-xml", as_of=AS_OF)
    assert _parse(path).findtext("Persons/Person/Surname") == "O'Brien & <Sons>"


def test_demo_data_writes_sen2_xml(tmp_path):
    result = CliRunner().invoke(cli, ["demo-data", "--out", str(tmp_path), "--people", "200", "--format",
                                      "sen2-xml", "--as-of", "2025-03-14"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "wrote 1 sen2-xml file(s)" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["sen2_2025-03-14.xml"]
