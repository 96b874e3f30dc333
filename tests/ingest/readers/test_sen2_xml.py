"""The SEN2 person-level XML return (docs/input-formats.md, SEN2 XML), on small hand-written files."""

import hashlib
import io
import json
import shutil
from datetime import date

import polars as pl
import pytest

from ehcp_monitor import logs
from ehcp_monitor.checks.run import run_check
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.ingest.detect import read_source, source_kind
from tests.conftest import SEN2_EXAMPLE
from tests.ingest.extract import quarantine_of, where, write_csv

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails><Collection>SEN2</Collection><Year>2025</Year><ReferenceDate>2025-01-16</ReferenceDate>
    </CollectionDetails>
    <Source><SourceLevel>L</SourceLevel><LEA>999</LEA><SoftwareCode>X</SoftwareCode><Release>1</Release>
      <SerialNo>1</SerialNo><DateTime>2025-03-14T08:00:00</DateTime></Source>
  </Header>
  <Persons>
"""
TAIL = """  </Persons>
</Message>
"""
# Every element of the guide (the line numbers of its records are asserted below).
ADA = """    <Person>
      <Surname>Morgan</Surname><Forename>Ada</Forename><PersonBirthDate>2015-04-01</PersonBirthDate>
      <Sex>F</Sex><Ethnicity>WBRI</Ethnicity><PostCode>SY1 1AA</PostCode><UPN>A123456789012</UPN>
      <UniqueLearnerNumber>1234567890</UniqueLearnerNumber><UPNunknown></UPNunknown>
      <Requests>
        <ReceivedDate>2024-09-02</ReceivedDate><RequestSource>1</RequestSource><RYA>0</RYA>
        <RequestOutcomeDate>2024-10-10</RequestOutcomeDate><RequestOutcome>Y</RequestOutcome>
        <RequestMediation>0</RequestMediation><RequestTribunal>1</RequestTribunal><Exported>0</Exported>
        <Assessment>
          <AssessmentOutcome>Y</AssessmentOutcome><AssessmentOutcomeDate>2025-01-20</AssessmentOutcomeDate>
          <AssessmentMediation>1</AssessmentMediation><AssessmentTribunal>0</AssessmentTribunal>
          <OtherMediation>0</OtherMediation><OtherTribunal>0</OtherTribunal><Week20>1</Week20>
          <NamedPlan>
            <StartDate>2025-01-20</StartDate><PlanRes>0</PlanRes><PlanWPB>0</PlanWPB><PB>0</PB><OA>0</OA>
            <DP>0</DP><CeaseDate></CeaseDate><CeaseReason></CeaseReason>
            <PlanDetail><URN>100001</URN><PlacementRank>1</PlacementRank></PlanDetail>
          </NamedPlan>
        </Assessment>
        <ActivePlans>
          <TransferLA>0</TransferLA><RES>0</RES><WPB>0</WPB>
          <PlacementDetail><URN>100001</URN><EntryDate>2025-01-20</EntryDate></PlacementDetail>
          <SENneed><SENtype>ASD</SENtype><SENtypeRank>1</SENtypeRank></SENneed>
          <ReviewMeeting>2025-02-20</ReviewMeeting><ReviewOutcome>A</ReviewOutcome>
          <ReviewDraft>2025-02-25</ReviewDraft><PhaseTransferDueDate>2026-02-15</PhaseTransferDueDate>
          <PhaseTransferFinalDate>2026-02-10</PhaseTransferFinalDate><LastReview>2025-02-24</LastReview>
        </ActivePlans>
      </Requests>
    </Person>
"""
# No UPN, no ULN: identified by name and birth date; most elements absent; an older plan reviewed
# at a meeting after its last decision (two reviews).
BEN = """    <Person>
      <Surname>Ng</Surname><Forename>Ben</Forename><PersonBirthDate>2012-11-20</PersonBirthDate>
      <Requests>
        <ReceivedDate>2019-03-01</ReceivedDate><RequestOutcome>Y</RequestOutcome>
        <RequestOutcomeDate>2019-04-01</RequestOutcomeDate>
        <Assessment>
          <AssessmentOutcome>Y</AssessmentOutcome><AssessmentOutcomeDate>2019-07-01</AssessmentOutcomeDate>
          <NamedPlan><StartDate>2019-07-01</StartDate></NamedPlan>
        </Assessment>
        <ActivePlans>
          <ReviewMeeting>2025-02-20</ReviewMeeting><LastReview>2024-03-01</LastReview>
          <ReviewOutcome>M</ReviewOutcome>
        </ActivePlans>
      </Requests>
      <Requests>
        <ReceivedDate>2025-01-06</ReceivedDate><RequestOutcome>A</RequestOutcome>
      </Requests>
    </Person>
"""
ADA_LINE = HEAD.count("\n") + 1
BEN_LINE = ADA_LINE + ADA.count("\n")


def xml(*persons: str, head: str = HEAD) -> str:
    return head + "".join(persons) + TAIL


def write(folder, text: str, name: str = "sen2.xml"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def id_key(monkeypatch):
    monkeypatch.setenv("EHCP_ID_KEY", "test-key-not-secret")


def _ids(settings, path) -> dict[str, list]:
    source = read_source(str(path), settings)
    return {
        "people": source.tables["people"].frame["person_id"].to_list(),
        "requests": source.tables["requests"].frame["request_id"].to_list(),
        "plans": source.tables["plans"].frame["plan_id"].to_list(),
    }


def test_every_element_maps_onto_the_canonical_tables(engine, settings, as_of, tmp_path):
    path = write(tmp_path, xml(ADA, BEN))
    result = run_ingest(engine, settings, str(path), as_of=as_of)
    assert result.source_kind == "sen2_xml"
    assert {t: (c["read"], c["quarantined"]) for t, c in result.counts.items()} == {
        "people": (2, 0), "requests": (3, 0), "assessments": (2, 0), "plans": (2, 0), "reviews": (3, 0),
        "phase_transfers": (1, 0)}
    snap = read_snapshot(engine)
    people = snap["people"].sort("date_of_birth")
    assert people.drop("person_id").rows() == [
        (date(2012, 11, 20), "Ben", "Ng", None, None),
        (date(2015, 4, 1), "Ada", "Morgan", "A123456789012", "SY1 1AA")]
    ben, ada = people["person_id"].to_list()
    requests = snap["requests"].sort("received_date")
    assert requests.select("person_id", "received_date", "request_outcome", "request_outcome_date",
                           "request_source", "request_mediation", "request_tribunal").rows() == [
        (ben, date(2019, 3, 1), "Y", date(2019, 4, 1), None, None, None),
        (ada, date(2024, 9, 2), "Y", date(2024, 10, 10), "1", False, True),
        (ben, date(2025, 1, 6), "A", None, None, None, None),
    ]
    ben_old, ada_request, _ = requests["request_id"].to_list()
    assert snap["assessments"].sort("assessment_outcome_date").select(
        "request_id", "assessment_outcome_date", "week20", "assessment_mediation", "assessment_tribunal",
    ).rows() == [
        (ben_old, date(2019, 7, 1), None, None, None), (ada_request, date(2025, 1, 20), True, True, False)]
    plans = snap["plans"].sort("start_date")
    assert plans.select("person_id", "request_id", "start_date", "cease_date", "review_history").rows() == [
        (ben, ben_old, date(2019, 7, 1), None, "latest_only"),
        (ada, ada_request, date(2025, 1, 20), None, "latest_only")]
    ben_plan, ada_plan = plans["plan_id"].to_list()
    assert set(snap["reviews"].drop("amended_final_date").rows()) == {
        (ada_plan, date(2025, 2, 20), date(2025, 2, 24), "amend", date(2025, 2, 25)),
        (ben_plan, None, date(2024, 3, 1), "maintain", None),  # decided
        (ben_plan, date(2025, 2, 20), None, None, None),  # the later meeting, awaiting its decision
    }
    assert snap["phase_transfers"].rows() == [
        (ada_plan, "school", date(2026, 2, 15), date(2026, 2, 15), date(2026, 2, 10))]


BEN_REVIEW = "<ReviewMeeting>2025-02-20</ReviewMeeting><LastReview>2024-03-01</LastReview>"


@pytest.mark.parametrize("placeholder", ["1900-01-01", "1899-12-30"])
def test_a_placeholder_last_review_is_a_decision_on_an_unknown_date_not_a_meeting_awaiting_one(
        engine, settings, as_of, tmp_path, placeholder):
    # Ben's plan reviewed on 2024-10-08, decided on a date held as a placeholder.
    ben = BEN.replace(BEN_REVIEW, f"<ReviewMeeting>2024-10-08</ReviewMeeting><LastReview>{placeholder}</LastReview>")
    run_ingest(engine, settings, str(write(tmp_path, xml(ADA, ben))), as_of=as_of)
    snap = read_snapshot(engine)
    ben_plan = snap["plans"].sort("start_date")["plan_id"][0]
    # The decision clock is withheld, never overdue: the family's review was decided.
    results = run_check(engine, settings, as_of=as_of).frame
    assert results.filter((pl.col("measure") == "REVIEW_DECISION_4W") & (pl.col("plan_id") == ben_plan)).select(
        "status", "very_late").rows() == []
    assert snap["reviews"].filter(pl.col("plan_id") == ben_plan).drop("plan_id", "amended_final_date").rows() == [
        (date(2024, 10, 8), None, "maintain", None)]
    (row,) = quarantine_of(engine, "V002")
    assert (row["table_name"], row["column_name"], row["action"]) == ("reviews", "decision_date", "withheld")


def test_a_placeholder_review_meeting_is_not_a_second_review(engine, settings, as_of, tmp_path):
    ben = BEN.replace(BEN_REVIEW, "<ReviewMeeting>9999-12-31</ReviewMeeting><LastReview>2024-03-01</LastReview>")
    run_ingest(engine, settings, str(write(tmp_path, xml(ADA, ben))), as_of=as_of)
    snap = read_snapshot(engine)
    ben_plan = snap["plans"].sort("start_date")["plan_id"][0]
    assert snap["reviews"].filter(pl.col("plan_id") == ben_plan).drop("plan_id", "amended_final_date").rows() == [
        (None, date(2024, 3, 1), "maintain", None)]


def test_each_row_keeps_the_line_of_its_element_and_the_file_name(settings, tmp_path):
    source = read_source(str(write(tmp_path, xml(ADA, BEN))), settings)
    lines = {name: raw.frame["__line"].to_list() for name, raw in source.tables.items()}
    assert lines == {
        "people": [ADA_LINE, BEN_LINE], "requests": [ADA_LINE + 4, BEN_LINE + 2, BEN_LINE + 14],
        "assessments": [ADA_LINE + 8, BEN_LINE + 5], "plans": [ADA_LINE + 12, BEN_LINE + 7],
        "reviews": [ADA_LINE + 18, BEN_LINE + 9, BEN_LINE + 9], "phase_transfers": [ADA_LINE + 18]}
    assert xml(ADA, BEN).splitlines()[ADA_LINE + 18 - 1].strip() == "<ActivePlans>"
    assert {raw.source_file for raw in source.tables.values()} == {"sen2.xml"}
    assert source.checksums == {"sen2.xml": hashlib.sha256(xml(ADA, BEN).encode()).hexdigest()}


def test_unknown_elements_are_ignored_with_one_warning_naming_them(settings, tmp_path):
    extra = ADA.replace("<Sex>F</Sex>", "<Sex>F</Sex><ShoeSize>4</ShoeSize>").replace(
        "<Week20>1</Week20>", "<Week20>1</Week20><Week20Reason>Holiday</Week20Reason>")
    text = xml(extra, "    <Note>Ben next</Note>\n", BEN).replace(
        "  </Persons>", "    <Remark>Ada Morgan</Remark>\n  </Persons>")
    stream = io.StringIO()
    logs.configure(stream=stream, json=True)
    try:
        source = read_source(str(write(tmp_path, text)), settings)
    finally:
        logs.configure()
    assert source.tables["people"].frame.height == 2
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    unknown = [e for e in events if e["event"] == "unknown SEN2 XML elements ignored"]
    assert len(unknown) == 1
    assert unknown[0]["elements"] == ["Note", "Remark", "ShoeSize", "Week20Reason"]
    for value in ("Holiday", "Ben next", "Ada", "Morgan", "A123456789012", "2015-04-01"):
        assert value not in stream.getvalue()


def test_records_that_cannot_be_told_apart_share_an_id_and_are_v004(engine, lenient, as_of, tmp_path):
    twin = ADA[: ADA.index("      <Requests>")] + "    </Person>\n"  # the same UPN, no requests
    same_day = BEN.replace("""      <Requests>
        <ReceivedDate>2025-01-06</ReceivedDate>""", """      <Requests>
        <ReceivedDate>2025-01-06</ReceivedDate><RequestSource>2</RequestSource></Requests>
      <Requests>
        <ReceivedDate>2025-01-06</ReceivedDate><RequestSource>2</RequestSource></Requests>
      <Requests>
        <ReceivedDate>2025-01-06</ReceivedDate><RequestSource>3</RequestSource>""")
    path = write(tmp_path, xml(ADA, twin, same_day))
    result = run_ingest(engine, lenient, str(path), as_of=as_of)
    assert result.counts["people"]["by_code"] == {"V004": 2}
    assert result.counts["requests"]["read"] == 5
    v004 = [where(r) for r in quarantine_of(engine, "V004")]
    twin_line = ADA_LINE + ADA.count("\n")
    ben_line = twin_line + twin.count("\n")
    assert [(c, t, f, line) for c, t, f, line, _id, _col in v004] == [
        ("V004", "people", "sen2.xml", ADA_LINE), ("V004", "people", "sen2.xml", twin_line),
        ("V004", "requests", "sen2.xml", ben_line + 14), ("V004", "requests", "sen2.xml", ben_line + 16)]
    # Same day, another source: a request of its own, loaded.
    snap = read_snapshot(engine)
    assert snap["requests"].filter(pl.col("received_date") == date(2025, 1, 6))["request_source"].to_list() == ["3"]


def test_ids_are_stable_when_other_fields_change(settings, tmp_path):
    today = _ids(settings, write(tmp_path / "today", xml(ADA, BEN)))
    changed = (ADA.replace("SY1 1AA", "SY9 9ZZ").replace("<Forename>Ada</Forename>", "<Forename>ADA</Forename>")
               .replace("<RequestOutcome>Y</RequestOutcome>", "<RequestOutcome>N</RequestOutcome>")
               .replace("<CeaseDate></CeaseDate>", "<CeaseDate>2025-03-01</CeaseDate>")
               .replace("<ReviewMeeting>2025-02-20</ReviewMeeting>", "")
               # Invisible characters pasted in (a zero-width space, a no-break space) re-key no one.
               .replace("<UPN>A123456789012</UPN>", "<UPN>A12345\u200b6789012\u00a0</UPN>"))
    # Ben is found by name and birth date, whatever the case, spacing and invisible characters of his name.
    ben = BEN.replace("<Surname>Ng</Surname>", "<Surname> N\u00adG\u200d </Surname>")
    ben = ben.replace("<PersonBirthDate>", "<PersonBirthDate>\u200b")
    tomorrow = _ids(settings, write(tmp_path / "tomorrow", xml(ben, changed)))
    assert {k: sorted(v) for k, v in tomorrow.items()} == {k: sorted(v) for k, v in today.items()}

    moved = _ids(settings, write(tmp_path / "moved", xml(ADA.replace("2024-09-02", "2024-09-03"), BEN)))
    assert moved["people"] == today["people"]
    assert moved["requests"][0] != today["requests"][0] and moved["requests"][1:] == today["requests"][1:]
    assert moved["plans"][0] != today["plans"][0] and moved["plans"][1] == today["plans"][1]


def test_ids_hold_no_upn_name_or_birth_date_and_need_the_key(settings, tmp_path, monkeypatch):
    path = write(tmp_path, xml(ADA, BEN))
    keyed = _ids(settings, path)
    every = [i for ids in keyed.values() for i in ids]
    assert len(set(every)) == len(every) == 7
    for value in ("A123456789012", "123456789012", "1234567890", "Morgan", "morgan", "Ada", "Ng", "Ben",
                  "2015-04-01", "20150401", "2012-11-20", "2024-09-02"):
        assert not any(value in i for i in every), value
    plain = hashlib.sha256(b"A123456789012").hexdigest()
    assert not any(i.split("-")[1] in plain for i in every)

    monkeypatch.setenv("EHCP_ID_KEY", "another-key")
    assert set(_ids(settings, path)["people"]).isdisjoint(keyed["people"])

    monkeypatch.delenv("EHCP_ID_KEY")
    stream = io.StringIO()
    logs.configure(stream=stream, json=True)
    try:
        fallback = _ids(settings, path)
    finally:
        logs.configure()
    assert set(fallback["people"]).isdisjoint(keyed["people"])
    assert "EHCP_ID_KEY is not set" in stream.getvalue()


def test_a_person_with_nothing_to_identify_them_has_no_id(engine, lenient, as_of, tmp_path):
    nobody = BEN.replace("<Surname>Ng</Surname><Forename>Ben</Forename><PersonBirthDate>2012-11-20</PersonBirthDate>",
                         "<Sex>M</Sex><PostCode>SY2 2BB</PostCode>")
    result = run_ingest(engine, lenient, str(write(tmp_path, xml(ADA, nobody))), as_of=as_of)
    assert result.counts["people"]["by_code"] == {"V001": 1}
    assert result.counts["requests"]["quarantined"] == 2


TRUNCATED = xml(ADA, BEN)[:-200]
MALFORMED = {
    "mismatched tag": (xml(ADA).replace("</Forename>", "</Forname>"), f"line {ADA_LINE + 1}"),
    "truncated": (TRUNCATED, f"line {TRUNCATED.count(chr(10)) + 1}"),
    "not xml at all": ("surname,forename\nMorgan,Ada\n", "line 1"),
    "empty": ("", "line 1"),
    # libxml2 calls it an entity reference, but it is a bare ampersand, not a DOCTYPE.
    "bare ampersand": (xml(ADA).replace("<Surname>Morgan", "<Surname>Morgan & Co"), f"line {ADA_LINE + 1}"),
}


def test_a_file_re_saved_in_another_encoding_is_refused_naming_the_encoding(engine, settings, as_of, tmp_path):
    path = tmp_path / "return.xml"
    path.write_bytes(xml(ADA).replace("Morgan", "Morg\u00e1n").encode("cp1252"))  # declared UTF-8
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(path), as_of=as_of)
    assert str(refused.value) == (
        f"return.xml: bytes on line {ADA_LINE + 1} are not in the encoding the file declares (UTF-8 unless its "
        "first line says otherwise): export it again, and do not open and save it in an editor first")
    assert "Morg" not in str(refused.value)


LATIN_1 = HEAD.replace('encoding="UTF-8"', "encoding='ISO-8859-1'")


def test_a_file_declaring_latin_1_whose_bytes_are_utf_8_is_refused(engine, settings, as_of, tmp_path):
    """Read as it declares, "Morgán" would load as "MorgÃ¡n" and go into the family's emails."""
    path = tmp_path / "return.xml"
    path.write_bytes(xml(ADA, head=LATIN_1).replace("Morgan", "Morg\u00e1n").encode("utf-8"))
    assert refused(engine, settings, as_of, path) == (
        "return.xml: its first line declares the encoding ISO-8859-1, but its bytes are UTF-8, so accented names "
        'would be misread (an é as Ã©): change the first line to encoding="UTF-8", or export it again, and load '
        "it again")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252"])
def test_a_file_in_the_single_byte_encoding_it_declares_loads_its_names_as_written(engine, settings, as_of,
                                                                                   tmp_path, encoding):
    path = tmp_path / "return.xml"
    text = xml(ADA, head=HEAD.replace('encoding="UTF-8"', f'encoding="{encoding}"'))
    path.write_bytes(text.replace("Morgan", "Morg\u00e1n").encode(encoding))
    run_ingest(engine, settings, str(path), as_of=as_of)
    assert read_snapshot(engine)["people"]["surname"].to_list() == ["Morg\u00e1n"]
    # Nothing beyond ASCII: read the same whatever it declares.
    path.write_bytes(xml(ADA, head=LATIN_1).encode("ascii"))
    run_ingest(engine, settings, str(path), as_of=as_of)
    assert read_snapshot(engine)["people"]["surname"].to_list() == ["Morgan"]
    # After a UTF-8 byte-order mark the file is read as UTF-8, whatever it declares: loaded as written.
    path.write_bytes(b"\xef\xbb\xbf" + xml(ADA, head=LATIN_1).replace("Morgan", "Morg\u00e1n").encode("utf-8"))
    run_ingest(engine, settings, str(path), as_of=as_of)
    assert read_snapshot(engine)["people"]["surname"].to_list() == ["Morg\u00e1n"]


@pytest.mark.parametrize("label", ["ISO-8859-1", "latin1", "us-ascii", "windows-1252"])
def test_a_file_labelled_latin_1_is_read_as_windows_1252_as_windows_programs_write_it(engine, settings, as_of,
                                                                                      tmp_path, label):
    """Read as labelled, the curly apostrophe of D’Arcy (byte 0x92) is a control character and the
    name would be cleared (V010): the child's name gone from the family's emails. A byte Windows-1252
    leaves undefined (0x81) is a control character, as browsers read it: it costs its value, never
    the file."""
    path = tmp_path / "return.xml"
    text = xml(ADA, head=HEAD.replace('encoding="UTF-8"', f'encoding="{label}"'))
    path.write_bytes(text.replace("<Forename>Ada", "<Forename>D\u2019Arcy").replace("Morgan", "Morg\u00e1n")
                     .encode("cp1252").replace(b"SY1 1AA", b"SY1 1AA\x81"))
    result = run_ingest(engine, settings, str(path), as_of=as_of)
    assert result.counts["people"]["cleared_by_code"] == {"V010": 1}  # the postcode, cleared
    people = read_snapshot(engine)["people"]
    assert (people["forename"].to_list(), people["surname"].to_list()) == (["D\u2019Arcy"], ["Morg\u00e1n"])


@pytest.mark.parametrize("name", ["\u00cdde", "\u0141ukasz", "Morg\u00e1n"])
def test_utf_8_under_a_latin_1_label_is_refused_as_utf_8_whatever_its_bytes(engine, settings, as_of, tmp_path, name):
    """Í is C3 8D in UTF-8, Ł C5 81: bytes Windows-1252 leaves undefined. The refusal still names
    the real fault (the label), not a byte the file's encoding lacks."""
    path = tmp_path / "return.xml"
    path.write_bytes(xml(ADA, head=LATIN_1).replace("<Forename>Ada", f"<Forename>{name}").encode("utf-8"))
    assert refused(engine, settings, as_of, path).startswith(
        "return.xml: its first line declares the encoding ISO-8859-1, but its bytes are UTF-8")


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_xml_is_refused_naming_the_file_and_line_only(engine, settings, as_of, tmp_path, case):
    text, line = MALFORMED[case]
    path = write(tmp_path, text, "return.xml")
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(path), as_of=as_of)
    assert str(refused.value) == f"return.xml: not well-formed XML ({line})"
    assert read_snapshot(engine)["people"].height == 0


def doctype(declarations: str) -> str:
    """HEAD with an internal DTD: one line more before the Persons."""
    return HEAD.replace("<Message>", f"<!DOCTYPE Message [{declarations}]>\n<Message>", 1)


def refused(engine, settings, as_of, path) -> str:
    with pytest.raises(IngestRefused) as refusal:
        run_ingest(engine, settings, str(path), as_of=as_of)
    assert read_snapshot(engine)["people"].height == 0
    return str(refusal.value)


FIX_MARKUP = "holds markup or an entity reference, not plain text: export it as text and load it again"
NOT_PLAIN_TEXT = {
    "mixed content": (xml(ADA.replace("<Forename>Ada</Forename>", "<Forename>Zan<b>zi</b>bar</Forename>")),
                      f"element Forename on line {ADA_LINE + 1}"),
    "entity reference": (xml(ADA.replace("A123456789012", "A12&x;3"), head=doctype('<!ENTITY x "9">')),
                         f"element UPN on line {ADA_LINE + 3}"),
    "nested record": (xml(ADA, BEN.replace("2019-03-01", "2019-03-01<i/>Zanzibar")),
                      f"element ReceivedDate on line {BEN_LINE + 3}"),
}


@pytest.mark.parametrize("case", NOT_PLAIN_TEXT)
def test_a_field_holding_markup_or_an_entity_refuses_the_file(engine, settings, as_of, tmp_path, case):
    # Read as text, the value would stop at the markup: "Zan" for a forename, a shorter UPN re-keying the person.
    text, where_ = NOT_PLAIN_TEXT[case]
    message = refused(engine, settings, as_of, write(tmp_path, text))
    assert message == f"sen2.xml: {where_} {FIX_MARKUP}"


REPEATED = {
    "Forename in a Person": (
        xml(ADA.replace("<Forename>Ada</Forename>", "<Forename>Ada</Forename><Forename>Zanzibar</Forename>"), BEN),
        f"element Forename appears twice in one Person (line {ADA_LINE + 1}): keep one Forename per Person"),
    "ReceivedDate in a Requests": (
        xml(ADA, BEN.replace("<RequestOutcome>A</RequestOutcome>",
                             "<RequestOutcome>A</RequestOutcome><ReceivedDate>2025-01-07</ReceivedDate>")),
        f"element ReceivedDate appears twice in one Requests (line {BEN_LINE + 15}): keep one ReceivedDate per "
        "Requests"),
    "empty after a value": (
        xml(ADA, BEN.replace("<LastReview>2024-03-01</LastReview>",
                             "<LastReview>2024-03-01</LastReview><LastReview/>")),
        f"element LastReview appears twice in one ActivePlans (line {BEN_LINE + 10}): keep one LastReview per "
        "ActivePlans"),
}


@pytest.mark.parametrize("case", REPEATED)
def test_a_field_repeated_in_one_record_refuses_the_file(engine, settings, as_of, tmp_path, case):
    # Read, the last one would silently win.
    text, message = REPEATED[case]
    assert refused(engine, settings, as_of, write(tmp_path, text)) == f"sen2.xml: {message} and load it again"


def test_a_field_repeated_empty_after_an_empty_one_is_harmless(settings, tmp_path):
    plain = _ids(settings, write(tmp_path / "plain", xml(ADA, BEN)))
    repeated = ADA.replace("<CeaseDate></CeaseDate>", "<CeaseDate> </CeaseDate><CeaseDate/><CeaseDate></CeaseDate>")
    assert _ids(settings, write(tmp_path / "repeated", xml(repeated, BEN))) == plain


BILLION_LAUGHS = '<!ENTITY lol0 "lol">' + "".join(
    f'\n  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
ENTITIES = {
    "billion laughs in a field read": xml(ADA.replace("A123456789012", "&lol9;"), head=doctype(BILLION_LAUGHS)),
    "billion laughs in an element skipped": xml(ADA.replace("<Sex>F</Sex>", "<Sex>&lol9;</Sex>"),
                                                head=doctype(BILLION_LAUGHS)),
    "entities in a loop": xml(ADA.replace("A123456789012", "&a;"), head=doctype('<!ENTITY a "&b;"><!ENTITY b "&a;">')),
}


@pytest.mark.parametrize("case", ENTITIES)
def test_entities_that_loop_or_amplify_are_refused_by_what_they_are(engine, settings, as_of, tmp_path, case):
    # libxml2 stops at its amplification and loop limits (nothing is expanded: resolve_entities is off).
    assert refused(engine, settings, as_of, write(tmp_path, ENTITIES[case])) == (
        "sen2.xml: declares or uses XML entities (a DOCTYPE), which a SEN2 return does not: export it without a "
        "DTD and load it again")


@pytest.mark.parametrize(("text", "message"), [
    ('<?xml version="1.0"?>\n<Workbook><Sheet/></Workbook>\n',
     "return.xml: XML but not a SEN2 return (root element <Workbook>, not <Message>)"),
    (xml(ADA, head=HEAD.replace("SEN2", "SchoolCensus")),
     "return.xml: an XML Message for SchoolCensus collection, not SEN2"),
    (xml(ADA, head=HEAD.replace("<Collection>SEN2</Collection>", "")),
     "return.xml: an XML Message for no collection, not SEN2"),
])
def test_xml_that_is_not_a_sen2_return_is_refused_naming_what_it_is(tmp_path, text, message):
    path = write(tmp_path, text, "return.xml")
    for location in (path, tmp_path):
        with pytest.raises(IngestRefused, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
            source_kind(str(location))


def test_recognised_as_a_file_or_a_folder_holding_one(settings, tmp_path):
    path = write(tmp_path / "f", xml(ADA))
    assert source_kind(str(path)) == "sen2_xml"
    assert source_kind(str(tmp_path / "f")) == "sen2_xml"
    write(tmp_path / "f", xml(BEN), "second.xml")
    with pytest.raises(IngestRefused, match=r"^f: 2 \.xml files; a SEN2 XML source is a folder with one$"):
        source_kind(str(tmp_path / "f"))
    # Beside a Blade export the XML is not read (the export is).
    blade = tmp_path / "blade"
    shutil.copytree(SEN2_EXAMPLE, blade)
    write(blade, xml(ADA))
    assert source_kind(str(blade)) == "sen2"


def test_a_default_namespace_is_accepted(settings, tmp_path):
    plain = _ids(settings, write(tmp_path / "plain", xml(ADA, BEN)))
    spaced = xml(ADA, BEN).replace("<Message>", '<Message xmlns="http://www.example.org/sen2">')
    assert source_kind(str(write(tmp_path / "ns", spaced))) == "sen2_xml"
    assert _ids(settings, tmp_path / "ns" / "sen2.xml") == plain


def test_records_in_another_namespace_than_the_message_are_refused(engine, settings, as_of, tmp_path):
    # A prefixed root whose children carry no prefix: every Person would otherwise read as none.
    prefixed = (xml(ADA, BEN).replace("<Message>", '<s:Message xmlns:s="urn:x">')
                .replace("</Message>", "</s:Message>").replace("<Header>", "<s:Header>")
                .replace("</Header>", "</s:Header>"))
    with pytest.raises(IngestRefused, match=r"^sen2\.xml: element Person is not in the message's namespace "
                                            r"\(urn:x\): write every element in that namespace and load it again$"):
        run_ingest(engine, settings, str(write(tmp_path / "p", prefixed)), as_of=as_of)
    # One field in another namespace: its values would otherwise go missing.
    stray = xml(ADA, BEN).replace("<ReceivedDate>2019-03-01</ReceivedDate>",
                                  '<x:ReceivedDate xmlns:x="urn:y">2019-03-01</x:ReceivedDate>')
    with pytest.raises(IngestRefused, match="^sen2.xml: element ReceivedDate is not in the message's namespace"):
        run_ingest(engine, settings, str(write(tmp_path / "s", stray)), as_of=as_of)
    assert read_snapshot(engine).ingest_id is None


def test_a_record_out_of_place_in_the_messages_namespace_is_refused_as_out_of_place(engine, settings, as_of,
                                                                                    tmp_path):
    import re

    plain = xml(ADA, BEN)
    active = re.search(r"<ActivePlans>.*?</ActivePlans>", plain, flags=re.DOTALL)
    assert active and "</Assessment>" in plain
    moved = plain.replace(active.group(0), "", 1).replace("</Assessment>", active.group(0) + "</Assessment>", 1)
    spaced = moved.replace("<Message>", '<Message xmlns="http://www.example.org/sen2">')
    for name, text in (("plain", moved), ("spaced", spaced)):
        with pytest.raises(IngestRefused, match=r"^sen2\.xml: element ActivePlans is out of place \(not where the "
                                                r"SEN2 layout has it, so it would not be read\)"):
            run_ingest(engine, settings, str(write(tmp_path / name, text)), as_of=as_of)


def test_side_tables_beside_the_xml_are_read_with_the_derived_ids(engine, settings, as_of, tmp_path):
    folder = tmp_path / "return"
    write(folder, xml(ADA, BEN))
    snap = {name: raw.frame for name, raw in read_source(str(folder), settings).tables.items()}
    ada = snap["people"].filter(pl.col("surname") == "Morgan")["person_id"].item()
    request = snap["requests"].filter(pl.col("person_id") == ada)["request_id"].item()
    plan = snap["plans"].filter(pl.col("person_id") == ada)["plan_id"].item()
    write_csv(folder, {
        "drafts": [{"request_id": request, "draft_plan_date": "2024-12-20"}],
        "contacts": [{"contact_id": "C1", "person_id": ada, "role": "parent_carer", "name": "Pat Morgan",
                      "email": "pat@example.org", "opted_out": "0"}],
        "reviews": [{"plan_id": plan, "meeting_date": "2025-02-20", "decision_date": "2025-02-24",
                     "outcome": "amend"}],
    })
    result = run_ingest(engine, settings, str(folder), as_of=as_of)
    assert result.source_kind == "sen2_xml"
    snap = read_snapshot(engine)
    assert snap["drafts"].rows() == [(request, date(2024, 12, 20))]
    assert snap["contacts"]["person_id"].to_list() == [ada]
    assert snap["reviews"].height == 1 and set(snap["plans"]["review_history"]) == {"full"}


def historical(surname: str, *requests: tuple[str, str, str]) -> str:
    """A Person of historical requests: (ReceivedDate, RequestOutcome, StartDate) each, each request
    with an H assessment, its named plan and a review."""
    parts = [f"""    <Person>
      <Surname>{surname}</Surname><Forename>Hist</Forename><PersonBirthDate>2011-01-01</PersonBirthDate>
"""]
    for received, outcome, start in requests:
        parts.append(f"""      <Requests>
        <ReceivedDate>{received}</ReceivedDate><RequestOutcome>{outcome}</RequestOutcome>
        <Assessment><AssessmentOutcome>H</AssessmentOutcome><NamedPlan><StartDate>{start}</StartDate></NamedPlan>
        </Assessment>
        <ActivePlans><ReviewMeeting>2025-02-01</ReviewMeeting><LastReview>2025-02-10</LastReview>
          <ReviewOutcome>M</ReviewOutcome></ActivePlans>
      </Requests>
""")
    return "".join(parts) + "    </Person>\n"


def _loads_in_full(engine, settings, as_of, path) -> dict:
    """Ingest with the default reject share: everything loads, the historical dates only warn."""
    result = run_ingest(engine, settings, str(path), as_of=as_of)
    assert {t: c["quarantined"] for t, c in result.counts.items()} == dict.fromkeys(result.counts, 0)
    snap = read_snapshot(engine)
    assert snap["plans"].height == snap["requests"].height - 1  # Ben's second request has no plan
    assert set(snap["reviews"]["plan_id"]) == set(snap["plans"]["plan_id"])  # every plan with its reviews
    return result.counts


def test_a_historical_request_with_no_received_date_gets_an_id_and_loads(engine, settings, as_of, tmp_path):
    path = write(tmp_path, xml(ADA, BEN, historical("Hist", ("", "H", "2016-09-01"))))
    counts = _loads_in_full(engine, settings, as_of, path)
    assert counts["requests"]["warnings_by_code"] == {"W001": 1}
    assert None not in [i for ids in _ids(settings, path).values() for i in ids]


def test_a_historical_plan_with_no_start_date_gets_an_id_and_loads_with_its_review(engine, settings, as_of,
                                                                                     tmp_path):
    path = write(tmp_path, xml(ADA, BEN, historical("Hist", ("2017-05-01", "H", ""))))
    counts = _loads_in_full(engine, settings, as_of, path)
    assert counts["plans"]["withheld_by_code"] == {"W001": 1}
    assert None not in _ids(settings, path)["plans"]


def test_historical_requests_sharing_a_placeholder_date_each_get_their_own_id(engine, settings, as_of, tmp_path):
    # Outcome H in any case and spacing.
    twins = historical("Hist", ("1900-01-01", "H", "2018-01-01"), ("1900-01-01", " h ", "2019-01-01"))
    path = write(tmp_path, xml(ADA, BEN, twins))
    counts = _loads_in_full(engine, settings, as_of, path)
    assert counts["requests"]["warnings_by_code"] == {"W001": 2, "W002": 2}
    first = _ids(settings, path)
    assert len(set(first["requests"])) == 5 and len(set(first["plans"])) == 4
    # Stable from file to file while they are listed in the same order; a lone one has the plain
    # identity, which neither twin takes.
    assert _ids(settings, write(tmp_path / "again", xml(ADA, BEN, twins))) == first
    alone = historical("Hist", ("1900-01-01", "H", "2018-01-01"))
    lone = _ids(settings, write(tmp_path / "lone", xml(ADA, BEN, alone)))
    assert lone["requests"][-1] not in first["requests"]


def test_current_requests_of_one_day_are_still_v004_beside_a_historical_one(engine, lenient, as_of, tmp_path):
    # Two current requests on one day (no source to tell them apart), two with no received date, and
    # a historical request sharing each identity: the current ones are V004, the historical ones load.
    person = historical("Same", ("2024-10-01", "Y", ""), ("2024-10-01", "A", ""), ("2024-10-01", "H", "2018-01-01"),
                        ("", "W", ""), ("", "A", ""), ("", "H", "2019-01-01"))
    result = run_ingest(engine, lenient, str(write(tmp_path, xml(ADA, person))), as_of=as_of)
    requests = result.counts["requests"]
    assert (requests["read"], requests["quarantined"], requests["by_code"]) == (7, 4, {"V001": 2, "V004": 4})
    v004 = sorted(where(r)[3] for r in quarantine_of(engine, "V004") if r["table_name"] == "requests")
    first = ADA_LINE + ADA.count("\n") + 2
    assert v004 == [first, first + 7, first + 21, first + 28]
    v001 = sorted((where(r)[3], where(r)[5]) for r in quarantine_of(engine, "V001") if r["table_name"] == "requests")
    assert v001 == [(first + 21, "received_date"), (first + 28, "received_date")]
    snap = read_snapshot(engine)
    assert snap["requests"].filter(pl.col("request_outcome") == "H").height == 2
    assert snap["plans"].height == 3  # Ada's and the two historical ones
