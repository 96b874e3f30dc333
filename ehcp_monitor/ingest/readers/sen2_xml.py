"""The SEN2 person-level XML return (docs/input-formats.md, SEN2 XML).

`Message/Persons/Person` nests `Requests`, which nest `Assessment` (holding `NamedPlan`) and
`ActivePlans`. The file is streamed (lxml iterparse, each Person cleared once read), its records
collected into the Blade export's module frames (the XML element names, lower-cased, are the
Blade column names) and mapped by the Blade reader's own `map_modules`, so both forms of the
return load the same way. Record IDs are derived (sen2_xml_ids.py); each row's `__line` is the
line of its element in the file.
"""

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from lxml import etree

from ehcp_monitor.domain.canonical import REVIEW_HISTORY_LATEST_ONLY
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.readers import sen2_xml_ids as ids
from ehcp_monitor.ingest.readers.sen2 import add_side_tables, map_modules
from ehcp_monitor.ingest.source import LINE, SourceData
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

KIND = "sen2_xml"
XML_DATE = "%Y-%m-%d"
PARENT = "__parent"
# Element -> slot: >= 2 a field read (slots 0 and 1 hold the line and the parent's row), or one of:
NESTED, IGNORED, UNKNOWN = -1, -2, -3

PERSON = ("Surname", "Forename", "PersonBirthDate", "PostCode", "UPN", "UniqueLearnerNumber")
REQUEST = ("ReceivedDate", "RequestSource", "RequestOutcomeDate", "RequestOutcome", "RequestMediation",
           "RequestTribunal")
ASSESSMENT = ("AssessmentOutcome", "AssessmentOutcomeDate", "AssessmentMediation", "AssessmentTribunal",
              "Week20")
NAMED_PLAN = ("StartDate", "CeaseDate", "CeaseReason")
ACTIVE_PLANS = ("ReviewMeeting", "ReviewOutcome", "ReviewDraft", "PhaseTransferDueDate",
                "PhaseTransferFinalDate", "LastReview")
# Known elements the clocks do not use. Both spellings of the work-based-provision flags are known
# (the guide writes WBP, some suppliers WPB). Placements and needs are not read into.
IGNORED_ELEMENTS = {
    "Person": ("Sex", "Ethnicity", "UPNunknown"),
    "Requests": ("RYA", "Exported"),
    "Assessment": ("OtherMediation", "OtherTribunal"),
    "NamedPlan": ("PlanRes", "PlanWPB", "PlanWBP", "PB", "OA", "DP", "PlanDetail"),
    "ActivePlans": ("TransferLA", "RES", "WPB", "WBP", "PlacementDetail", "SENneed"),
}
NESTED_ELEMENTS = {"Person": ("Requests",), "Requests": ("Assessment", "ActivePlans"),
                   "Assessment": ("NamedPlan",)}
# What the reader reads: met in another namespace than the message's, they refuse the file.
RECORDS = ("Person", "Requests", "Assessment", "NamedPlan", "ActivePlans")
READ_ELEMENTS = {*RECORDS, *PERSON, *REQUEST, *ASSESSMENT, *NAMED_PLAN, *ACTIVE_PLANS}
FRAME_ELEMENTS = {"Message", "Header", "Persons", "CollectionDetails", "Collection", "Year", "ReferenceDate",
                   "Source", "SourceLevel", "LEA", "SoftwareCode", "Release", "SerialNo", "DateTime"}
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}")
# Labels the WHATWG Encoding standard reads as Windows-1252 (lower case, "_" as "-").
WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "iso88591", "iso-ir-100", "latin1", "latin-1", "l1", "cp819",
                       "ibm819", "csisolatin1", "us-ascii", "ascii", "ansi-x3.4-1968", "cp1252", "x-cp1252",
                       "windows-1252"}
# The encoding named by the XML declaration, which can only open the file. (After a UTF-8 BOM the
# parser reads UTF-8 whatever it names.)
_DECLARED = re.compile(rb"\A<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]{0,39})[\"']")


@dataclass
class Header:
    root: str  # the root element's local name
    namespace: str  # "{uri}" or ""
    collection: str | None
    declared_encoding: str | None = None  # as the XML declaration names it; None: UTF-8 (none named, or a BOM)

    @property
    def declares_single_byte(self) -> bool:
        return self.declared_encoding is not None and not self.declared_encoding.lower().startswith("utf")

    @property
    def read_as_windows_1252(self) -> bool:
        """Labelled Windows-1252, ISO-8859-1 or ASCII: read as Windows-1252, as browsers read it (the WHATWG
        Encoding standard), since Windows programs write that label over Windows-1252 text. Read as
        labelled, the curly apostrophe of "D’Arcy" (byte 0x92) would be a control character and the
        name cleared (V010)."""
        return is_windows_1252_label(self.declared_encoding)


def is_windows_1252_label(declared: str | None) -> bool:
    return declared is not None and declared.lower().replace("_", "-") in WINDOWS_1252_LABELS


def _c1_control(error: UnicodeDecodeError) -> tuple[str, int]:
    """The five bytes Windows-1252 leaves undefined read as the C1 controls, as WHATWG reads them."""
    return chr(error.object[error.start]), error.start + 1


codecs.register_error("ehcp-monitor-c1-controls", _c1_control)


def local_name(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace_of(tag) -> str:
    """"{uri}" of a tag in Clark's notation, or "" for none."""
    return tag[: tag.index("}") + 1] if isinstance(tag, str) and tag.startswith("{") else ""


def shown_name(tag) -> str:
    """An element name fit for a message or log: element names only, never anything long or odd."""
    name = local_name(tag)
    return name if _SAFE_NAME.fullmatch(name) else "?"


def _malformed(path: Path, exc: etree.XMLSyntaxError) -> IngestRefused:
    # libxml2's message can quote the file's text: never shown. Its "EntityRef" messages are a bare `&`.
    msg = (exc.msg or "").lower()
    if "entity" in msg and "entityref" not in msg:  # a loop or an amplification (billion laughs)
        return IngestRefused(f"{path.name}: declares or uses XML entities (a DOCTYPE), which a SEN2 return does "
                             "not: export it without a DTD and load it again")
    line = exc.lineno or (exc.position[0] if exc.position else 0)
    if "character encoding" in msg or "not proper utf-8" in msg:  # re-saved in another encoding
        return IngestRefused(f"{path.name}: bytes on line {max(line, 1)} are not in the encoding the file declares "
                             "(UTF-8 unless its first line says otherwise): export it again, and do not open and "
                             "save it in an editor first")
    return IngestRefused(f"{path.name}: not well-formed XML (line {max(line, 1)})")


def _parser(source, **kwargs):
    return etree.iterparse(source, remove_comments=True, remove_pis=True, resolve_entities=False,
                           no_network=True, load_dtd=False, **kwargs)


def read_header(path: Path) -> Header:
    """The root element and the header's collection, reading no further than the header."""
    root, collection, declared = None, None, None
    try:
        with open(path, "rb") as fh:
            found = _DECLARED.match(fh.read(1024))
            declared = found.group(1).decode("ascii") if found else None
            fh.seek(0)
            source = _Hashing(fh, windows_1252=is_windows_1252_label(declared))
            for event, elem in _parser(source, events=("start", "end"), **source.parser_encoding):
                name = local_name(elem.tag)
                if root is None:
                    root = elem
                    if name != "Message":
                        break
                elif event == "end" and name == "Collection":
                    collection = (elem.text or "").strip()
                elif (event == "end" and name == "Header") or (event == "start" and name == "Persons"):
                    break
    except etree.XMLSyntaxError as exc:
        raise _malformed(path, exc) from None
    except OSError as exc:
        raise IngestRefused(f"{path.name}: cannot be read ({type(exc).__name__})") from None
    if root is None:
        raise IngestRefused(f"{path.name}: not well-formed XML (line 1)")
    tag = root.tag if isinstance(root.tag, str) else ""
    return Header(local_name(tag), namespace_of(tag), collection, declared)


def refusal_unless_sen2(path: Path, header: Header) -> None:
    if header.root != "Message":
        raise IngestRefused(f"{path.name}: XML but not a SEN2 return (root element <{shown_name(header.root)}>, "
                            "not <Message>)")
    if (header.collection or "").upper() != "SEN2":
        found = header.collection if header.collection and _SAFE_NAME.fullmatch(header.collection) else "no"
        raise IngestRefused(f"{path.name}: an XML Message for {found} collection, not SEN2")


def is_sen2_xml(path: Path) -> bool:
    """True for a SEN2 XML return; IngestRefused naming what was found for any other XML."""
    refusal_unless_sen2(path, read_header(path))
    return True


class _Hashing:
    """A binary file that hashes what is read from it, so the checksum costs no second pass; with
    `utf8_check`, also whether its bytes, beyond ASCII, are all UTF-8 (`is_utf8_beyond_ascii`);
    with `windows_1252`, handing the parser its text as UTF-8 (`parser_encoding`), each byte read
    as Windows-1252 (one byte, one character: lines keep their numbers)."""

    def __init__(self, fh, utf8_check: bool = False, windows_1252: bool = False):
        self.fh, self.sha = fh, hashlib.sha256()
        self._utf8 = codecs.getincrementaldecoder("utf-8")() if utf8_check else None
        self._non_ascii = False
        self._windows_1252 = windows_1252
        self.parser_encoding = {"encoding": "UTF-8"} if windows_1252 else {}

    def read(self, size=-1):
        data = self.fh.read(size)
        self.sha.update(data)
        if self._utf8 is not None:
            self._non_ascii = self._non_ascii or not data.isascii()
            try:
                self._utf8.decode(data, final=not data)
            except UnicodeDecodeError:
                self._utf8 = None
        if self._windows_1252 and not data.isascii():
            return data.decode("cp1252", errors="ehcp-monitor-c1-controls").encode("utf-8")
        return data

    @property
    def is_utf8_beyond_ascii(self) -> bool:
        return self._utf8 is not None and self._non_ascii


def _slots(record: str, fields: tuple[str, ...], ns: str) -> dict[str, int]:
    slots = {ns + name: 2 + i for i, name in enumerate(fields)}
    slots.update({ns + name: IGNORED for name in IGNORED_ELEMENTS[record]})
    slots.update({ns + name: NESTED for name in NESTED_ELEMENTS.get(record, ())})
    return slots


class _Walk:
    """Rows of each record kind: [line, parent row, *fields], as read."""

    def __init__(self, ns: str, file_name: str):
        self.ns, self.file_name = ns, file_name
        self.slots = {
            "person": _slots("Person", PERSON, ns), "request": _slots("Requests", REQUEST, ns),
            "assessment": _slots("Assessment", ASSESSMENT, ns), "plan": _slots("NamedPlan", NAMED_PLAN, ns),
            "active": _slots("ActivePlans", ACTIVE_PLANS, ns),
        }
        self.width = {"person": len(PERSON), "request": len(REQUEST), "assessment": len(ASSESSMENT),
                      "plan": len(NAMED_PLAN), "active": len(ACTIVE_PLANS)}
        self.rows: dict[str, list[list]] = {kind: [] for kind in self.slots}
        self.unknown: set[str] = set()
        self.assessment_tag, self.person_tag = ns + "Assessment", ns + "Person"

    def _record(self, kind: str, elem, parent: int | None) -> tuple[int, list]:
        values = [elem.sourceline, parent] + [None] * self.width[kind]
        slots, nested = self.slots[kind], []
        for child in elem:
            slot = slots.get(child.tag, UNKNOWN)
            if slot >= 2:
                # lxml counts child elements and (unexpanded) entity references: the text would stop at them.
                if len(child) or values[slot] is not None:
                    self._refuse_unless_harmless(elem, child, values[slot])
                values[slot] = child.text
            elif slot == NESTED:
                nested.append(child)
            elif slot == UNKNOWN:
                self.unknown.add(child.tag)
        rows = self.rows[kind]
        rows.append(values)
        return len(rows) - 1, nested

    def _refuse_unless_harmless(self, record, field, earlier: str | None) -> None:
        name = shown_name(field.tag)
        if len(field):
            raise IngestRefused(f"{self.file_name}: element {name} on line {field.sourceline} holds markup or an "
                                "entity reference, not plain text: export it as text and load it again")
        if earlier.strip():
            raise IngestRefused(f"{self.file_name}: element {name} appears twice in one {shown_name(record.tag)} "
                                f"(line {field.sourceline}): keep one {name} per {shown_name(record.tag)} and "
                                "load it again")

    def person(self, elem) -> None:
        p, requests = self._record("person", elem, None)
        for request in requests:
            r, parts = self._record("request", request, p)
            for part in parts:
                if part.tag == self.assessment_tag:
                    a, plans = self._record("assessment", part, r)
                    for plan in plans:
                        self._record("plan", plan, a)
                else:
                    self._record("active", part, r)


def _walk(path: Path, header: Header, source: SourceData) -> _Walk:
    walk = _Walk(header.namespace, path.name)
    try:
        with open(path, "rb") as fh:
            hashing = _Hashing(fh, utf8_check=header.declares_single_byte, windows_1252=header.read_as_windows_1252)
            context = _parser(hashing, events=("end",), tag=walk.person_tag, **hashing.parser_encoding)
            for _event, person in context:
                walk.person(person)
                # Free what was read: the Person's subtree, and any sibling before it.
                person.clear()
                parent = person.getparent()
                while person.getprevious() is not None:
                    before = parent[0]
                    if before.tag != walk.person_tag:
                        walk.unknown.add(before.tag)
                    del parent[0]
            while hashing.read(1 << 20):  # whatever follows the last Person still counts
                pass
    except etree.XMLSyntaxError as exc:
        raise _malformed(path, exc) from None
    except OSError as exc:
        raise IngestRefused(f"{path.name}: cannot be read ({type(exc).__name__})") from None
    if hashing.is_utf8_beyond_ascii:  # every accented name would read wrongly
        raise IngestRefused(f"{path.name}: its first line declares the encoding {header.declared_encoding}, but its "
                            "bytes are UTF-8, so accented names would be misread (an é as Ã©): change the first "
                            'line to encoding="UTF-8", or export it again, and load it again')
    source.checksums[path.name] = hashing.sha.hexdigest()
    root = context.root
    if root is not None:
        for elem in root.iter():
            if elem.tag != walk.person_tag and local_name(elem.tag) not in FRAME_ELEMENTS:
                walk.unknown.add(elem.tag)
    return walk


def _frame(rows: list[list], fields: tuple[str, ...]) -> pl.DataFrame:
    names = [LINE, PARENT, *(f.lower() for f in fields)]
    schema = {LINE: pl.Int64, PARENT: pl.Int64, **{n: pl.Utf8 for n in names[2:]}}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    # XML text keeps the layout's whitespace; an empty element is a missing value.
    return frame.with_columns(
        pl.when(pl.col(n).str.strip_chars() == "").then(None).otherwise(pl.col(n).str.strip_chars()).alias(n)
        for n in names[2:]
    )


def _modules(walk: _Walk) -> dict[str, pl.DataFrame]:
    """The Blade module frames, linked by derived IDs (and row numbers for assessments)."""
    key = ids.id_key()
    person = _frame(walk.rows["person"], PERSON).with_columns(
        ids.person_identity("upn", "uniquelearnernumber", "surname", "forename", "personbirthdate")
        .alias("identity"))
    person = person.with_columns(ids.derive_ids(person["identity"], "person", key).alias("persontableid"))

    requests = _frame(walk.rows["request"], REQUEST).join(
        person.select(pl.int_range(pl.len()).alias(PARENT), pl.col("identity").alias("of_person"),
                      "persontableid"),
        on=PARENT, how="left", maintain_order="left",
    ).with_columns(
        ids.request_identity("of_person", "receiveddate", "requestsource", "requestoutcome").alias("identity"))
    requests = requests.with_columns(ids.derive_ids(requests["identity"], "request", key).alias("requeststableid"))
    of_request = requests.select(pl.int_range(pl.len()).alias(PARENT), pl.col("identity").alias("of_request"),
                                 "requeststableid")

    assessment = _frame(walk.rows["assessment"], ASSESSMENT).join(
        of_request, on=PARENT, how="left", maintain_order="left"
    ).with_columns(pl.int_range(pl.len()).cast(pl.Utf8).alias("assessmenttableid"))

    plan = _frame(walk.rows["plan"], NAMED_PLAN).join(
        assessment.select(pl.int_range(pl.len()).alias(PARENT), "of_request"),
        on=PARENT, how="left", maintain_order="left",
    ).with_columns(
        pl.col(PARENT).cast(pl.Utf8).alias("assessmenttableid"),
        ids.child_identity("of_request", "startdate").alias("identity"),
    )
    plan = plan.with_columns(ids.derive_ids(plan["identity"], "plan", key).alias("namedplantableid"))

    active = _frame(walk.rows["active"], ACTIVE_PLANS).join(
        of_request.drop("of_request"), on=PARENT, how="left", maintain_order="left")
    # The identities hold UPNs and names: they go no further than here.
    return {"person": person.drop("identity"), "requests": requests.drop("identity", "of_person"),
            "assessment": assessment.drop("of_request"), "namedplan": plan.drop("identity", "of_request"),
            "activeplans": active}


def sen2_xml_file(location: Path) -> Path:
    """The XML file of a location: the file itself, or the one .xml in a folder."""
    if location.is_file():
        return location
    found = xml_files(location)
    if len(found) != 1:
        raise IngestRefused(f"{location.name}: {len(found)} .xml files; a SEN2 XML source is a folder with one")
    return found[0]


def xml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".xml"
                  and not p.name.startswith("."))


def read_sen2_xml(location: Path, settings) -> SourceData:
    """One SEN2 XML file, or a folder holding one (and perhaps canonical side tables beside it)."""
    path = sen2_xml_file(location)
    header = read_header(path)
    refusal_unless_sen2(path, header)
    source = SourceData(KIND, review_history=REVIEW_HISTORY_LATEST_ONLY)
    walk = _walk(path, header, source)
    astray = sorted({t for t in walk.unknown if local_name(t) in READ_ELEMENTS},
                    key=lambda t: (RECORDS.index(local_name(t)) if local_name(t) in RECORDS else len(RECORDS), t))
    if astray:  # read as unknown, a Person or a date in another namespace would silently go missing
        first = astray[0]
        if namespace_of(first) == header.namespace:  # the right namespace, in the wrong place
            raise IngestRefused(f"{path.name}: element {local_name(first)} is out of place (not where the SEN2 "
                                "layout has it, so it would not be read): put it back under its parent and load it "
                                "again")
        raise IngestRefused(f"{path.name}: element {local_name(first)} is not in the message's namespace "
                            f"({header.namespace.strip('{}')[:60] or 'none'}): write every element in that namespace "
                            "and load it again")
    if walk.unknown:
        log.warning("unknown SEN2 XML elements ignored", elements=sorted({shown_name(t) for t in walk.unknown}),
                    counts=len(walk.unknown))
    modules = {name: frame.drop(PARENT) for name, frame in _modules(walk).items()}
    map_modules(source, modules, dict.fromkeys(modules, path.name), XML_DATE)
    if location.is_dir():
        add_side_tables(source, location, settings)
    return source
