"""Excel error cells (`#REF!`, `#N/A`, `#VALUE!`...) of a workbook's sheets, found in its XML.

The workbook reader (fastexcel) hands an error cell over as an empty one, so an `opted_out` of
`#REF!` would read as "not opted out" and a `decision_date` of `#N/A` as "no decision". The sheet
XML marks such a cell `t="e"`; this module finds them by scanning each sheet's part as a stream,
in chunks, so a large workbook is never held twice in memory.
"""

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

CHUNK = 1 << 20
# Bytes kept from one chunk to the next so that a cell's tags cut by a chunk's end are matched
# whole in the next: a formula is at most 8,192 characters.
OVERLAP = 1 << 15
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
# A cell whose type is "e" (error), with its formula if any and its cached value (the error's code).
ERROR_CELL = re.compile(
    rb"<" + _PREFIX + rb"c(?=\s[^>]*?\bt\s*=\s*[\"']e[\"'])([^>]*)>"
    rb"(?:\s*<" + _PREFIX + rb"f\b[^>]*?(?:/>|>[^<]*</" + _PREFIX + rb"f>))?"
    rb"(?:\s*<" + _PREFIX + rb"v>([^<]{0,40})</" + _PREFIX + rb"v>)?"
)
CELL_REF = re.compile(rb"\br\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?(\d+)[\"']")
SHOWN_REFS = 3
# The codes the workbook reader (calamine) knows; one it does not (#SPILL!, #CALC!, #GETTING_DATA)
# makes it refuse to open the workbook at all.
READER_CODES = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}
OFFICE_DOCUMENT = "/officeDocument"


@dataclass
class ErrorCells:
    """Error cells: how many, the first few (column letters, row) in sheet order, the codes met."""

    count: int = 0
    first: list[tuple[str, int]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def add(self, column: str, row: int, code: str) -> None:
        self.count += 1
        if len(self.first) < SHOWN_REFS:
            self.first.append((column, row))
        if code and code not in self.codes:
            self.codes.append(code)

    def refs(self) -> list[str]:
        return [f"{column}{row}" if row else "a cell with no reference" for column, row in self.first]


def _sheet_order(cell: tuple[str, int]) -> tuple[int, int, str]:
    column, row = cell
    return row, len(column), column


def merged(parts: list[ErrorCells]) -> ErrorCells:
    """The error cells of several columns and codes as one: the first cells and the codes in sheet
    order (by row, then column)."""
    parts = sorted((p for p in parts if p.first), key=lambda p: _sheet_order(p.first[0]))
    total = ErrorCells(sum(p.count for p in parts))
    total.first = sorted((c for p in parts for c in p.first), key=_sheet_order)[:SHOWN_REFS]
    total.codes = list(dict.fromkeys(code for p in parts for code in p.codes))
    return total


def column_index(letters: str) -> int:
    """`A` -> 0, `AB` -> 27."""
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _relationships(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship ID -> (type, target part) of `part`, targets resolved against its folder."""
    folder, name = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_part not in book.namelist():
        return {}
    found = {}
    for element in ElementTree.fromstring(book.read(rels_part)):
        if _local(element.tag) == "Relationship":
            target = element.get("Target", "")
            if target.startswith("/"):
                target = target.lstrip("/")
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            found[element.get("Id", "")] = (element.get("Type", ""), target)
    return found


def sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the part holding its XML (`xl/worksheets/sheet1.xml`)."""
    workbook = next((target for kind, target in _relationships(book, "").values()
                     if kind.endswith(OFFICE_DOCUMENT)), "xl/workbook.xml")
    targets = _relationships(book, workbook)
    parts = {}
    for element in ElementTree.fromstring(book.read(workbook)).iter():
        if _local(element.tag) == "sheet":
            rel = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
            if rel in targets:
                parts[element.get("name", "")] = targets[rel][1]
    return parts


def scan_part(book: zipfile.ZipFile, part: str) -> dict[tuple[str, str], ErrorCells]:
    """The error cells of one sheet part by column letters (`""` for a cell with no reference) and
    code (`#REF!`), read as a stream."""
    found: dict[tuple[str, str], ErrorCells] = {}
    tail = b""
    with book.open(part) as stream:
        while True:
            chunk = stream.read(CHUNK)
            buffer = tail + chunk
            cutoff = len(buffer) if not chunk else max(len(buffer) - OVERLAP, 0)
            # Most chunks hold no error cell: a plain search for the attribute's value rules them
            # out at the speed of memchr; the pattern runs only where one may be.
            quoted = b'"e"' in buffer or b"'e'" in buffer
            for match in (ERROR_CELL.finditer(buffer) if quoted else ()):
                if match.start() >= cutoff:
                    break
                ref = CELL_REF.search(match.group(1))
                column, row = (ref.group(1).decode().upper(), int(ref.group(2))) if ref else ("", 0)
                code = (match.group(2) or b"").decode("utf-8", "replace").strip()
                found.setdefault((column, code), ErrorCells()).add(column, row, code)
            if not chunk:
                return found
            tail = buffer[cutoff:]


def error_cells(path: Path, sheets: list[str]) -> dict[str, dict[tuple[str, str], ErrorCells]]:
    """The error cells, by column letters and code, of each of `sheets` of the workbook at `path` that holds any. Raises
    KeyError when a sheet's part cannot be found, zipfile.BadZipFile or ElementTree.ParseError
    when the package is damaged."""
    with zipfile.ZipFile(path) as book:
        parts = sheet_parts(book)
        found = {}
        for sheet in sheets:
            cells = scan_part(book, parts[sheet])
            if cells:
                found[sheet] = cells
        return found
