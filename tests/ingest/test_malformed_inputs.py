"""The malformed-input suite (issue 15): every input below goes through the real command line
(`ehcp-monitor ingest`, in-process through `ehcp_monitor.cli.main`) into a real store (SQLite
always, PostgreSQL for a representative subset), and for each we assert:

- the exit code: 0 loaded, 3 refused; on refusal one line, `ehcp-monitor: ...`, and no traceback;
- no input value (the sentinel personal values below) in stdout, stderr, the log lines,
  `ingest_runs.message` or any quarantine message;
- when loaded: for every table, read = loaded + quarantined, and row for row every data row of
  the input is either in the snapshot or quarantined (its key in one or the other).
"""

import datetime as dt
import decimal
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import polars as pl
import pytest
from sqlalchemy import text

from ehcp_monitor.cli import main
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.domain.canonical import table_spec
from tests.conftest import SEN2_EXAMPLE

# Personal values that must never reach an output or a stored message.
FORENAME, SURNAME, UPN, POSTCODE, OFFICER = "Zelphinia", "Quorrington", "Z912345678901", "ZZ9 9ZQ", "Wimbleworth"
SENTINELS = (FORENAME, SURNAME, UPN, POSTCODE, OFFICER)

PEOPLE_HEADER = ["person_id", "date_of_birth", "forename", "surname", "upn", "postcode"]
REQUESTS_HEADER = ["request_id", "person_id", "received_date", "request_outcome", "request_outcome_date",
                   "request_source", "request_mediation", "request_tribunal", "case_officer", "team"]
CONTACTS_HEADER = ["contact_id", "person_id", "role", "name", "email", "opted_out"]


def people_rows() -> list[list[str]]:
    return [
        ["P1", "2015-04-01", FORENAME, SURNAME, UPN, POSTCODE],
        ["P2", "2016-05-02", "Ada", "Morgan", "", "SY1 1AA"],
        ["P3", "2010-02-03", "Cai", "Owen", "B123456789012", "SY3 3CC"],
        ["P4", "2012-08-09", "Dee", "Price", "", "SY4 4DD"],
    ]


def request_rows() -> list[list[str]]:
    return [
        ["R1", "P1", "2024-09-02", "Y", "2024-10-10", "parent", "0", "0", f"Thaddeus {OFFICER}", "North"],
        ["R2", "P2", "2025-01-06", "A", "", "school", "0", "0", "Officer Two", "South"],
        ["R3", "P3", "2023-03-01", "Y", "2023-04-05", "", "", "", "", "North"],
        ["R4", "P4", "2024-11-11", "N", "2024-12-20", "school", "0", "0", "Officer Two", "South"],
    ]


def contact_rows() -> list[list[str]]:
    return [
        ["C1", "P1", "parent_carer", f"{FORENAME} {SURNAME}", "z.q@example.org", "0"],
        ["C2", "P2", "parent_carer", "Pat Morgan", "pat@example.org", "0"],
        ["C3", "P3", "young_person", "Cai Owen", "cai@example.org", "1"],
    ]


def csv_text(header: list[str], rows: list[list[str]], *, newline: str = "\n", delimiter: str = ",",
             quote_all: bool = False) -> str:
    def cell(v: str) -> str:
        needs = quote_all or any(c in v for c in (delimiter, '"', "\n", "\r"))
        return '"' + v.replace('"', '""') + '"' if needs else v

    return "".join(delimiter.join(cell(v) for v in line) + newline for line in [header, *rows])


@dataclass
class Case:
    id: str
    # writes the source under the folder given and returns the path to ingest
    build: Callable[[Path], Path]
    exit_code: int = 0
    message: str | None = None  # regex the one error line must match (after "ehcp-monitor: ")
    # loaded cases: data rows per table (None: read from what the case wrote)
    rows: dict[str, int] = field(default_factory=dict)
    postgresql: bool = False
    # findings that must be among the stored ones: (table, code, source line)
    findings: set[tuple[str, str, int]] = field(default_factory=set)


def extract(folder: Path, files: dict[str, bytes | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def with_people(people: bytes | str, **more) -> Callable[[Path], Path]:
    return lambda folder: extract(folder, {"people.csv": people,
                                           "requests.csv": csv_text(REQUESTS_HEADER, request_rows()), **more})


def standard(**overrides) -> dict[str, bytes | str]:
    files = {"people.csv": csv_text(PEOPLE_HEADER, people_rows()),
             "requests.csv": csv_text(REQUESTS_HEADER, request_rows())}
    files.update(overrides)
    return files


def files_case(case_id, files: dict, exit_code=0, message=None, rows=None, postgresql=False,
               findings=()) -> Case:
    return Case(case_id, lambda folder: extract(folder, files), exit_code, message, rows or {}, postgresql,
                set(findings))


PEOPLE_CSV = csv_text(PEOPLE_HEADER, people_rows())
REFUSED_UTF16 = r"^people\.csv: saved as UTF-16; save it as UTF-8"


def _encoding_cases() -> list[Case]:
    accented = people_rows()
    accented[1][2:4] = ["Zoë", "O’Brien"]
    return [
        files_case("utf8", standard(), postgresql=True, rows={"people": 4, "requests": 4}),
        files_case("utf8-bom", standard(**{"people.csv": b"\xef\xbb\xbf" + PEOPLE_CSV.encode()}),
                   rows={"people": 4}),
        files_case("utf8-double-bom", standard(**{"people.csv": b"\xef\xbb\xbf" * 2 + PEOPLE_CSV.encode()}),
                   rows={"people": 4}),
        files_case("utf8-bom-crlf", standard(**{"people.csv": b"\xef\xbb\xbf" + csv_text(
            PEOPLE_HEADER, people_rows(), newline="\r\n").encode()}), rows={"people": 4}),
        files_case("cp1252", standard(**{"people.csv": csv_text(PEOPLE_HEADER, accented).encode("cp1252")}),
                   rows={"people": 4}, postgresql=True),
        files_case("latin-1", standard(**{"people.csv": csv_text(PEOPLE_HEADER, accented).replace("’", "'")
                                          .encode("latin-1")}), rows={"people": 4}),
        files_case("utf8-accents", standard(**{"people.csv": csv_text(PEOPLE_HEADER, accented)}), rows={"people": 4}),
        files_case("invalid-utf8-bytes", standard(**{"people.csv": PEOPLE_CSV.encode().replace(
            b"Ada", b"A\x81\x8dda")}), rows={"people": 4}),
        files_case("utf16-le-bom", standard(**{"people.csv": PEOPLE_CSV.encode("utf-16")}), 3, REFUSED_UTF16,
                   postgresql=True),
        files_case("utf16-be-bom", standard(**{"people.csv": b"\xfe\xff" + PEOPLE_CSV.encode("utf-16-be")}),
                   3, REFUSED_UTF16),
        files_case("utf16-le-no-bom", standard(**{"people.csv": PEOPLE_CSV.encode("utf-16-le")}), 3, REFUSED_UTF16),
        files_case("utf16-be-no-bom", standard(**{"people.csv": PEOPLE_CSV.encode("utf-16-be")}), 3, REFUSED_UTF16),
        files_case("utf32", standard(**{"people.csv": PEOPLE_CSV.encode("utf-32")}), 3,
                   r"^people\.csv: saved as UTF-32"),
        files_case("utf16-requests", standard(**{"requests.csv": csv_text(REQUESTS_HEADER, request_rows())
                                                 .encode("utf-16")}), 3, r"^requests\.csv: saved as UTF-16"),
    ]


def _line_end_cases() -> list[Case]:
    def ends(newline):
        return standard(**{"people.csv": csv_text(PEOPLE_HEADER, people_rows(), newline=newline),
                           "requests.csv": csv_text(REQUESTS_HEADER, request_rows(), newline=newline),
                           "contacts.csv": csv_text(CONTACTS_HEADER, contact_rows(), newline=newline)})

    mixed = "person_id,date_of_birth,forename,surname,upn,postcode\r\n" + "".join(
        ",".join(r) + end for r, end in zip(people_rows(), ["\n", "\r\n", "\r\n", "\n"], strict=False))
    embedded = people_rows()
    embedded[1][2] = "Ada\r\nMay"  # a line break inside a quoted value
    embedded[2][1] = "not a date"  # on the line after it: line 5, not 4
    return [
        files_case("lf", ends("\n"), rows={"people": 4, "requests": 4, "contacts": 3}),
        files_case("crlf", ends("\r\n"), rows={"people": 4, "requests": 4, "contacts": 3}, postgresql=True),
        files_case("cr-only", ends("\r"), rows={"people": 4, "requests": 4, "contacts": 3}, postgresql=True),
        files_case("cr-only-contacts", standard(**{"contacts.csv": csv_text(CONTACTS_HEADER, contact_rows(),
                                                                            newline="\r")}),
                   rows={"contacts": 3}),
        files_case("mixed-line-ends", standard(**{"people.csv": mixed}), rows={"people": 4}),
        files_case("no-final-line-end", standard(**{"people.csv": PEOPLE_CSV.rstrip("\n")}), rows={"people": 4}),
        files_case("trailing-blank-lines", standard(**{"people.csv": PEOPLE_CSV + "\n\n\r\n  \n"}),
                   rows={"people": 4}),
        files_case("embedded-crlf-in-quotes", standard(**{"people.csv": csv_text(PEOPLE_HEADER, embedded,
                                                                                 newline="\r\n")}),
                   rows={"people": 4}, findings={("people", "V010", 3), ("people", "V002", 5)}),
        # A lone CR inside an unquoted value ends no line in a file that has LF line ends: the value
        # keeps it (V010 clears it) and no record is invented, so later lines keep their numbers.
        files_case("cr-in-unquoted-value-lf", standard(**{"people.csv": stray_cr("\n")}), rows={"people": 4},
                   postgresql=True, findings={("people", "V010", 2), ("people", "V010", 3), ("people", "V002", 5)}),
        files_case("cr-in-unquoted-value-crlf", standard(**{"people.csv": stray_cr("\r\n")}), rows={"people": 4},
                   postgresql=True, findings={("people", "V010", 2), ("people", "V010", 3), ("people", "V002", 5)}),
    ]


def stray_cr(newline: str) -> str:
    """People with a CR inside two unquoted values (lines 2 and 3) and a bad date on line 5."""
    return (csv_text(PEOPLE_HEADER, people_rows(), newline=newline).replace(SURNAME, "Quorr\rington")
            .replace("Morgan", "Mor\rgan").replace("2012-08-09", "not a date"))


def _delimiter_cases() -> list[Case]:
    def delimited(d):
        return standard(**{"people.csv": csv_text(PEOPLE_HEADER, people_rows(), delimiter=d)})

    return [
        files_case("semicolon", delimited(";"), 3, r"^people\.csv: the header has one column; the file looks "
                   r"semicolon-delimited; save it as comma-separated", postgresql=True),
        files_case("tab", delimited("\t"), 3, r"^people\.csv: .* looks tab-delimited"),
        files_case("pipe", delimited("|"), 3, r"^people\.csv: .* looks pipe-delimited"),
        files_case("semicolon-requests", standard(**{"requests.csv": csv_text(REQUESTS_HEADER, request_rows(),
                                                                              delimiter=";")}),
                   3, r"^requests\.csv: .* semicolon-delimited"),
        files_case("semicolons-inside-values", standard(**{"people.csv": PEOPLE_CSV.replace("Morgan", "Mor;gan")}),
                   rows={"people": 4}),
    ]


def _quoting_cases() -> list[Case]:
    lines = PEOPLE_CSV.splitlines(keepends=True)

    def edit(line_no: int, old: str, new: str) -> str:
        changed = list(lines)
        changed[line_no - 1] = changed[line_no - 1].replace(old, new, 1)
        return "".join(changed)

    quoted_in = people_rows()
    quoted_in[1][3] = 'Morgan "Mo" Jones'
    comma_officer = request_rows()
    comma_officer[0][8] = f"{OFFICER}, Thaddeus"
    unquoted_officer = csv_text(REQUESTS_HEADER, request_rows()).replace(
        f"Thaddeus {OFFICER}", f"{OFFICER}, Thaddeus")
    return [
        files_case("stray-quote", standard(**{"people.csv": edit(3, "Ada", 'A"da')}), 3,
                   r"^people\.csv line 3: a quote is opened and never closed$", postgresql=True),
        files_case("stray-quote-at-field-start", standard(**{"people.csv": edit(2, FORENAME, '"' + FORENAME)}), 3,
                   r"^people\.csv line 2: a quote is opened and never closed$"),
        files_case("unclosed-quote-at-eof", standard(**{"people.csv": PEOPLE_CSV + '"P9,2011-01-01,Eve'}), 3,
                   r"^people\.csv line 6: a quote is opened and never closed$"),
        files_case("stray-quotes-on-two-lines", standard(**{"people.csv": edit(2, SURNAME, 'Q"' + SURNAME).replace(
            "Owen", 'O"wen')}), 3, r"^people\.csv line 2: a quote opened on this line is closed only on line 4"),
        files_case("stray-quote-in-header", standard(**{"people.csv": edit(1, "surname", 'sur"name')}), 3,
                   r"^people\.csv line 1: a quote is opened and never closed$"),
        files_case("quotes-inside-a-quoted-value", standard(**{"people.csv": csv_text(PEOPLE_HEADER, quoted_in)}),
                   rows={"people": 4}, postgresql=True),
        files_case("every-field-quoted", standard(**{"people.csv": csv_text(PEOPLE_HEADER, people_rows(),
                                                                            quote_all=True)}), rows={"people": 4}),
        files_case("quoted-comma-in-officer", standard(**{"requests.csv": csv_text(REQUESTS_HEADER, comma_officer)}),
                   rows={"requests": 4}),
        files_case("unquoted-comma-in-officer", standard(**{"requests.csv": unquoted_officer}),
                   rows={"requests": 4}, postgresql=True, findings={("requests", "V011", 2)}),
        files_case("balanced-quotes-mid-value", standard(**{"people.csv": edit(3, "Morgan", 'O"Mor"gan')}),
                   rows={"people": 4}),
        files_case("text-after-closing-quote", standard(**{"people.csv": edit(3, "Morgan", '"Mor"gan')}),
                   rows={"people": 4}),
        files_case("empty-quoted-values", standard(**{"people.csv": edit(3, ",,", ',"",')}), rows={"people": 4}),
        files_case("quoted-header", standard(**{"people.csv": edit(1, "person_id", '"person_id"')}),
                   rows={"people": 4}),
        files_case("quoted-value-with-comma-and-newline", standard(**{"people.csv": edit(
            3, "Morgan", '"Morgan,\nJones"').replace("P4,", "P4,x")}), rows={"people": 4},
                   findings={("people", "V010", 3), ("people", "V002", 6)}),
    ]


def _field_count_cases() -> list[Case]:
    extra = PEOPLE_CSV.replace(f"{SURNAME},", f"{SURNAME},x,y,")
    fewer = PEOPLE_CSV.replace(",B123456789012,SY3 3CC", "")
    key_only = PEOPLE_CSV.replace("P4,2012-08-09,Dee,Price,,SY4 4DD", "P4")
    unknown_column = csv_text(PEOPLE_HEADER + ["notes"], [r + ["a note"] for r in people_rows()])
    all_extra = csv_text(PEOPLE_HEADER[:-1], people_rows())
    trailing_comma = "".join(line + ",\n" if i else line + "\n" for i, line in enumerate(PEOPLE_CSV.splitlines()))
    return [
        files_case("more-fields-than-header", standard(**{"people.csv": extra}), rows={"people": 4},
                   postgresql=True, findings={("people", "V011", 2)}),
        files_case("fewer-fields-than-header", standard(**{"people.csv": fewer}), rows={"people": 4}),
        files_case("key-only-row", standard(**{"people.csv": key_only}), rows={"people": 4}),
        files_case("unknown-extra-column", standard(**{"people.csv": unknown_column}), rows={"people": 4}),
        files_case("every-row-longer-than-header", standard(**{"people.csv": all_extra}), rows={"people": 4},
                   findings={("people", "V011", line) for line in (2, 3, 4, 5)}),
        files_case("trailing-comma-on-rows", standard(**{"people.csv": trailing_comma}), rows={"people": 4},
                   findings={("people", "V011", line) for line in (2, 3, 4, 5)}),
        files_case("header-with-trailing-comma", standard(**{"people.csv": PEOPLE_CSV.replace(
            "postcode\n", "postcode,\n")}), rows={"people": 4}),
        files_case("doubled-column", standard(**{"people.csv": PEOPLE_CSV.replace("upn,", "surname,")}), 3,
                   r"^people\.csv: column surname appears more than once$"),
        files_case("reader-column-names-in-header", standard(**{"people.csv": csv_text(
            PEOPLE_HEADER + ["__line", "__extra_fields", "__row"], [r + ["x", "9", "y"] for r in people_rows()])}),
                   rows={"people": 4}),
        files_case("header-case-and-spaces", standard(**{"people.csv": PEOPLE_CSV.replace(
            "person_id,", " Person_ID ,")}), rows={"people": 4}),
        files_case("missing-required-column", standard(**{"people.csv": csv_text(
            [c for c in PEOPLE_HEADER if c != "date_of_birth"], [r[:1] + r[2:] for r in people_rows()])}), 3,
            r"^people\.csv: required column date_of_birth of table people is missing$"),
    ]


def _empty_and_odd_bytes_cases() -> list[Case]:
    nul_name = PEOPLE_CSV.replace("Ada", "A\x00da")
    nul_key = PEOPLE_CSV.replace("P4,", "P\x004,")
    long_name = PEOPLE_CSV.replace("Ada", "A" * 100_000)
    header_only_contacts = csv_text(CONTACTS_HEADER, [])
    return [
        files_case("empty-file", standard(**{"people.csv": b""}), 3, r"^people\.csv: the file is empty",
                   postgresql=True),
        files_case("whitespace-only", standard(**{"people.csv": " \n\n \r\n"}), 3, r"^people\.csv: the file is empty"),
        files_case("bom-only", standard(**{"people.csv": b"\xef\xbb\xbf"}), 3, r"^people\.csv: the file is empty"),
        files_case("crlf-only", standard(**{"people.csv": b"\r\n"}), 3, r"^people\.csv: the file is empty"),
        files_case("header-only-contacts", standard(**{"contacts.csv": header_only_contacts}),
                   rows={"contacts": 0}),
        files_case("header-only-people", standard(**{"people.csv": csv_text(PEOPLE_HEADER, [])}),
                   rows={"people": 0, "requests": 4}),
        files_case("blank-lines-between-rows", standard(**{"people.csv": PEOPLE_CSV.replace(
            "\nP2", "\n\n\nP2").replace("P4,", "P4,x")}), rows={"people": 4}, findings={("people", "V002", 7)}),
        files_case("blank-lines-before-header", standard(**{"people.csv": "\n\n" + PEOPLE_CSV}), rows={"people": 4}),
        files_case("nul-in-a-name", standard(**{"people.csv": nul_name}), rows={"people": 4}, postgresql=True),
        files_case("nul-in-a-key", standard(**{"people.csv": nul_key}), rows={"people": 4},
                   findings={("people", "V010", 5)}),
        files_case("only-nul-bytes", standard(**{"people.csv": b"\x00" * 64}), 3,
                   r"^people\.csv: the name of column 1 in the header holds a line break or another control "
                   r"character \(a file mixing line endings\?\)"),
        files_case("random-binary", standard(**{"people.csv": bytes(range(256)) * 4}), 3, r"^people\.csv[: ]"),
        files_case("very-long-value", standard(**{"people.csv": long_name}), rows={"people": 4}),
        files_case("control-characters", standard(**{"people.csv": PEOPLE_CSV.replace("Cai", "C\x07a\x1bi")}),
                   rows={"people": 4}),
    ]


# --- Parquet: every column type, in a key column and in a date column -------------------------

def _people_frame(**columns: pl.Series) -> pl.DataFrame:
    rows = people_rows()
    frame = pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(PEOPLE_HEADER)})
    frame = frame.with_columns(pl.col("date_of_birth").str.to_date())
    return frame.with_columns(**columns)


def _requests_frame() -> pl.DataFrame:
    rows = request_rows()
    frame = pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(REQUESTS_HEADER)})
    return frame.with_columns(pl.col("received_date").str.to_date(),
                              pl.col("request_outcome_date").replace("", None).str.to_date())


def parquet_case(case_id, people: pl.DataFrame, exit_code=0, message=None, postgresql=False,
                 requests: pl.DataFrame | None = None) -> Case:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        people.write_parquet(folder / "people.parquet")
        (_requests_frame() if requests is None else requests).write_parquet(folder / "requests.parquet")
        return folder

    return Case(case_id, build, exit_code, message, {"people": 4} if exit_code == 0 else {}, postgresql)


N = 4
IDS = ["P1", "P2", "P3", "P4"]
DATES = [dt.date(2015, 4, 1), dt.date(2016, 5, 2), dt.date(2010, 2, 3), dt.date(2012, 8, 9)]


def _refused(column: str, kind: str) -> str:
    return rf"^people\.parquet: column {column} is of type {kind}, which cannot hold its values"


def _parquet_cases() -> list[Case]:
    n = pl.Series
    return [
        parquet_case("pq-string", _people_frame(), postgresql=True),
        parquet_case("pq-categorical-key", _people_frame(person_id=n(IDS, dtype=pl.Categorical))),
        parquet_case("pq-enum-key", _people_frame(person_id=n(IDS, dtype=pl.Enum(IDS)))),
        parquet_case("pq-binary-key", _people_frame(person_id=n([i.encode() for i in IDS]))),
        parquet_case("pq-binary-not-utf8", _people_frame(person_id=n([b"\xff\xfe", b"P2", b"P3", b"P4"])), 3,
                     r"^people\.parquet: column person_id holds bytes that are not UTF-8 text$"),
        parquet_case("pq-int64-ids", _people_frame(person_id=n([1, 2, 3, 4])),
                     requests=_requests_frame().with_columns(person_id=n([1, 2, 3, 4]))),
        parquet_case("pq-uint64-ids", _people_frame(person_id=n([1, 2, 3, 4], dtype=pl.UInt64))),
        parquet_case("pq-int8-ids", _people_frame(person_id=n([1, 2, 3, 4], dtype=pl.Int8))),
        parquet_case("pq-float-ids", _people_frame(person_id=n([1.0, 2.0, 3.5, 4.0]))),
        parquet_case("pq-decimal-ids", _people_frame(person_id=n([decimal.Decimal(i) for i in "1234"],
                                                                 dtype=pl.Decimal(10, 0)))),
        parquet_case("pq-bool-upn", _people_frame(upn=n([True, False, None, True]))),
        parquet_case("pq-null-column", _people_frame(upn=n([None] * N, dtype=pl.Null))),
        parquet_case("pq-all-null-key", _people_frame(person_id=n([None] * N, dtype=pl.Null))),
        parquet_case("pq-date", _people_frame(date_of_birth=n(DATES))),
        parquet_case("pq-datetime", _people_frame(date_of_birth=n([dt.datetime(d.year, d.month, d.day)
                                                                   for d in DATES]))),
        parquet_case("pq-datetime-ms", _people_frame(date_of_birth=n([dt.datetime(d.year, d.month, d.day)
                                                                      for d in DATES]).cast(pl.Datetime("ms")))),
        parquet_case("pq-datetime-tz", _people_frame(date_of_birth=n([dt.datetime(d.year, d.month, d.day, 23, 30)
                                                                      for d in DATES])
                                                     .dt.replace_time_zone("Europe/London")), postgresql=True),
        parquet_case("pq-date-as-int", _people_frame(date_of_birth=n([20150401, 20160502, 20100203, 20120809]))),
        parquet_case("pq-date-as-string", _people_frame(date_of_birth=n([d.isoformat() for d in DATES]))),
        parquet_case("pq-list-key", _people_frame(person_id=n([[i] for i in IDS])), 3, _refused("person_id", "List"),
                     postgresql=True),
        parquet_case("pq-array-key", _people_frame(person_id=n([[1, 2]] * N, dtype=pl.Array(pl.Int64, 2))), 3,
                     _refused("person_id", "Array")),
        parquet_case("pq-struct-key", _people_frame(person_id=n([{"id": i} for i in IDS])), 3,
                     _refused("person_id", "Struct")),
        parquet_case("pq-time-date", _people_frame(date_of_birth=n([dt.time(1, 2)] * N)), 3,
                     _refused("date_of_birth", "Time")),
        parquet_case("pq-duration-date", _people_frame(date_of_birth=n([dt.timedelta(days=1)] * N)), 3,
                     _refused("date_of_birth", "Duration")),
        parquet_case("pq-list-of-names", _people_frame(forename=n([["a", "b"]] * N)), 3, _refused("forename", "List")),
        parquet_case("pq-unknown-list-column", _people_frame(notes=n([["a"]] * N))),
        parquet_case("pq-reader-column-names", _people_frame(__line=n(["x"] * N), __extra_fields=n([3] * N))),
        Case("pq-not-parquet", lambda folder: extract(folder, {"people.parquet": b"PAR1 not parquet PAR1",
                                                              "requests.parquet": b"PAR1"}), 3,
             r"^people\.parquet: cannot be read as Parquet"),
    ]


# --- XLSX oddities ------------------------------------------------------------------------------

def workbook_case(case_id, write_sheets, exit_code=0, message=None, rows=None, postgresql=False) -> Case:
    def build(folder: Path) -> Path:
        import xlsxwriter

        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "extract.xlsx"
        workbook = xlsxwriter.Workbook(path)
        write_sheets(workbook)
        workbook.close()
        return path

    return Case(case_id, build, exit_code, message, rows or {}, postgresql)


def _sheet(workbook, name, header, rows, *, hidden=False):
    sheet = workbook.add_worksheet(name)
    for c, h in enumerate(header):
        sheet.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value != "":
                sheet.write_string(r, c, value)
    if hidden:
        sheet.hide()
    return sheet


def _standard_sheets(workbook, *, people=True):
    if people:
        _sheet(workbook, "people", PEOPLE_HEADER, people_rows())
    _sheet(workbook, "requests", REQUESTS_HEADER, request_rows())


def _xlsx_plain(wb):
    _standard_sheets(wb)


def _xlsx_empty_sheet(name):
    def write(wb):
        _standard_sheets(wb)
        wb.add_worksheet(name)
    return write


def _xlsx_empty_requests(wb):
    _sheet(wb, "people", PEOPLE_HEADER, people_rows())
    wb.add_worksheet("requests")


def _xlsx_merged(wb):
    _standard_sheets(wb, people=False)
    sheet = _sheet(wb, "people", PEOPLE_HEADER, people_rows())
    sheet.merge_range(2, 2, 2, 3, "Ada Morgan")


def _xlsx_formulas(wb):
    _standard_sheets(wb, people=False)
    sheet = _sheet(wb, "people", PEOPLE_HEADER, people_rows())
    sheet.write_formula(2, 2, '=UPPER("ada")', None, "ADA")
    sheet.write_formula(3, 0, '="P"&3', None, "P3")


def _xlsx_dates_as_numbers(wb):
    _standard_sheets(wb, people=False)
    sheet = _sheet(wb, "people", PEOPLE_HEADER, people_rows())
    sheet.write_number(1, 1, 42095)  # 2015-04-01 as a serial number with no date format
    date_cell = wb.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_datetime(2, 1, dt.datetime(2016, 5, 2), date_cell)


def _xlsx_hidden_sheet(wb):
    _standard_sheets(wb)
    _sheet(wb, "contacts", CONTACTS_HEADER, contact_rows(), hidden=True)


def _xlsx_wide(wb):
    _standard_sheets(wb, people=False)
    sheet = _sheet(wb, "people", PEOPLE_HEADER, people_rows())
    for c in range(len(PEOPLE_HEADER), 5000):
        sheet.write_string(0, c, f"extra_{c}")
    sheet.write_string(1, 4999, "far away")


def _xlsx_header_only(wb):
    _standard_sheets(wb)
    _sheet(wb, "contacts", CONTACTS_HEADER, [])


def _xlsx_blank_rows_between(wb):
    _standard_sheets(wb, people=False)
    sheet = wb.add_worksheet("people")
    for c, h in enumerate(PEOPLE_HEADER):
        sheet.write_string(0, c, h)
    for r, row in zip((1, 3, 6, 7), people_rows(), strict=False):
        for c, value in enumerate(row):
            if value:
                sheet.write_string(r, c, value)


def _xlsx_reader_columns(wb):
    _standard_sheets(wb, people=False)
    _sheet(wb, "people", PEOPLE_HEADER + ["__line", "__extra_fields"], [r + ["x", "7"] for r in people_rows()])


def _xlsx_other_sheet(wb):
    _standard_sheets(wb)
    sheet = wb.add_worksheet("Notes")
    sheet.write_string(0, 0, FORENAME)


def _xlsx_cases() -> list[Case]:
    return [
        workbook_case("xlsx-plain", _xlsx_plain, rows={"people": 4, "requests": 4}, postgresql=True),
        workbook_case("xlsx-empty-optional-sheet", _xlsx_empty_sheet("contacts"), 3,
                      r"^extract\.xlsx\[contacts\]: the sheet is empty \(no header row\)$", postgresql=True),
        workbook_case("xlsx-empty-required-sheet", _xlsx_empty_requests, 3,
                      r"^extract\.xlsx\[requests\]: the sheet is empty \(no header row\)$"),
        workbook_case("xlsx-merged-cells", _xlsx_merged, rows={"people": 4}),
        workbook_case("xlsx-formulas", _xlsx_formulas, rows={"people": 4}),
        workbook_case("xlsx-dates-as-numbers-and-dates", _xlsx_dates_as_numbers, rows={"people": 4}),
        workbook_case("xlsx-hidden-sheet", _xlsx_hidden_sheet, rows={"contacts": 3}),
        workbook_case("xlsx-5000-columns", _xlsx_wide, rows={"people": 4}),
        workbook_case("xlsx-header-only-sheet", _xlsx_header_only, rows={"contacts": 0}),
        workbook_case("xlsx-blank-rows-between", _xlsx_blank_rows_between, rows={"people": 4}),
        workbook_case("xlsx-unrelated-sheet", _xlsx_other_sheet, rows={"people": 4}),
        workbook_case("xlsx-reader-column-names", _xlsx_reader_columns, rows={"people": 4}),
        Case("xlsx-not-a-workbook", lambda folder: extract(folder, {"x.xlsx": b"PK\x03\x04 nope"}) / "x.xlsx", 3,
             r"^x\.xlsx: cannot be read as a workbook"),
    ]


# --- SEN2 Blade export: the same text reader --------------------------------------------------

SEN2_PERSON = "Blade-Export_14-03-2025_person.csv"


def sen2_case(case_id, change: Callable[[bytes], bytes], exit_code=0, message=None) -> Case:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for path in SEN2_EXAMPLE.iterdir():
            data = path.read_bytes()
            (folder / path.name).write_bytes(change(data) if path.name == SEN2_PERSON else data)
        return folder

    return Case(case_id, build, exit_code, message, {"people": 3} if exit_code == 0 else {})


def _sen2_cases() -> list[Case]:
    return [
        sen2_case("sen2-cr-only", lambda b: b.replace(b"\r\n", b"\n").replace(b"\n", b"\r")),
        sen2_case("sen2-utf16", lambda b: b.decode("utf-8-sig").encode("utf-16"), 3,
                  rf"^{SEN2_PERSON}: saved as UTF-16"),
        sen2_case("sen2-stray-quote", lambda b: b.replace(b"Sample", b'Sam"ple'), 3,
                  rf"^{SEN2_PERSON} line 3: a quote is opened and never closed$"),
        sen2_case("sen2-semicolons", lambda b: b.replace(b",", b";"), 3, r"semicolon-delimited"),
    ]


CASES = [*_encoding_cases(), *_sen2_cases(), *_line_end_cases(), *_delimiter_cases(), *_quoting_cases(),
         *_field_count_cases(),
         *_empty_and_odd_bytes_cases(), *_parquet_cases(), *_xlsx_cases()]


def test_the_suite_has_at_least_80_inputs():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


# --- running one case -------------------------------------------------------------------------------

@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def log_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("{")]

    @property
    def message_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip() and not line.startswith("{")]


def run_cli(args: list[str], capsys) -> Run:
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return Run(done.value.code or 0, out.out, out.err)


@pytest.fixture
def lenient_config(tmp_path) -> Path:
    # Whatever share is quarantined loads, so that row-level findings are seen, not refusals.
    path = tmp_path / "config.toml"
    path.write_text("[ingest]\nmax_reject_share = 1.0\n", encoding="utf-8")
    return path


def _stored(db_url: str) -> tuple[list[dict], list[dict]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            runs = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM ingest_runs ORDER BY id"))]
            findings = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM quarantine ORDER BY id"))]
    finally:
        engine.dispose()
    return runs, findings


def _snapshot_keys(db_url: str, table: str) -> list[str]:
    key = table_spec(table).key[0]
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text(f"SELECT {key} FROM {table}"))]
    finally:
        engine.dispose()


def _input_keys(case: Case, table: str) -> set[str]:
    """The keys the case's rows carry, as the quarantine shows them (control characters as ?)."""
    if table == "people":
        rows = people_rows()
    elif table == "requests":
        rows = request_rows()
    else:
        rows = contact_rows()
    keys = {r[0] for r in rows}
    if case.id == "pq-all-null-key" and table == "people":
        return {None}
    if case.id.startswith("sen2-") and table == "people":
        return {"11", "12", "13"}
    if case.id == "nul-in-a-key":
        keys = {k.replace("P4", "P?4") for k in keys}
    if case.id.startswith("pq-") and "-ids" in case.id:
        keys = {"1", "2", "3", "4"} if table == "people" else keys
        keys = {"3.5" if k == "3" and "float" in case.id else k for k in keys}
    return keys


def assert_no_personal_value(where: str, content: str) -> None:
    for value in SENTINELS:
        assert value not in (content or ""), f"{value!r} reached {where}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input(case, db_url, tmp_path, lenient_config, capsys, monkeypatch):
    if db_url.startswith("postgresql") and not case.postgresql:
        pytest.skip("PostgreSQL runs the representative subset")
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.delenv("EHCP_CONFIG", raising=False)
    source = case.build(tmp_path / "source")

    run = run_cli(["--config", str(lenient_config), "ingest", str(source), "--as-of", "2025-03-14"], capsys)

    assert "Traceback" not in run.stderr
    assert run.code == case.exit_code, run.stderr
    for line in run.log_lines:
        json.loads(line)  # every log line is one JSON object
    assert_no_personal_value("stdout", run.stdout)
    assert_no_personal_value("stderr and the log", run.stderr)
    runs, findings = _stored(db_url)
    assert len(runs) == 1
    assert_no_personal_value("ingest_runs.message", runs[0]["message"])
    for finding in findings:
        assert_no_personal_value("a quarantine message", finding["message"])

    if case.exit_code:
        assert run.message_lines == [run.message_lines[0]], run.stderr
        (line,) = run.message_lines
        assert line.startswith("ehcp-monitor: ")
        assert re.search(case.message, line.removeprefix("ehcp-monitor: ")), line
        assert runs[0]["status"] == "refused"
        assert runs[0]["message"] == line.removeprefix("ehcp-monitor: ")
        return

    assert run.message_lines == [], run.stderr
    stored = {(f["table_name"], f["code"], f["source_line"]) for f in findings}
    assert case.findings <= stored, stored
    # A row is said not to fit its header only where the input has one.
    assert {f for f in stored if f[1] == "V011"} <= case.findings, stored
    assert runs[0]["status"] == "loaded"
    counts = runs[0]["counts"] if isinstance(runs[0]["counts"], dict) else json.loads(runs[0]["counts"])
    for table, c in counts.items():
        if not isinstance(c, dict) or "read" not in c:
            continue
        assert c["read"] == c["loaded"] + c["quarantined"], table
        if table in case.rows:
            assert c["read"] == case.rows[table], table
        snapshot = _snapshot_keys(db_url, table)
        assert len(snapshot) == c["loaded"], table
        quarantined = {(f["source_line"], f["record_id"]) for f in findings
                       if f["table_name"] == table and f.get("action", "quarantined") == "quarantined"}
        assert len(quarantined) == c["quarantined"], table
        # Row for row: every data row of the input is in the snapshot or in the quarantine.
        if table in ("people", "requests", "contacts") and table in case.rows and case.rows[table]:
            assert set(snapshot) | {r for _, r in quarantined} == _input_keys(case, table), table
            assert not set(snapshot) & {r for _, r in quarantined}, table
    for table in case.rows:
        assert table in counts, table


REFUSED = [c for c in CASES if c.exit_code]


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_a_refused_source_leaves_no_value_in_the_job_record(case, db_url, tmp_path, capsys, monkeypatch):
    """The same refusals through the nightly job: the error stored in job_runs and logged on the
    `job_run` line is the one-line refusal, and carries no input value."""
    if db_url.startswith("postgresql") and not case.postgresql:
        pytest.skip("PostgreSQL runs the representative subset")
    source = case.build(tmp_path / "source")
    config_file = tmp_path / "config.toml"
    config_file.write_text(f"[source]\nlocation = {json.dumps(str(source))}\n", encoding="utf-8")
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.delenv("EHCP_CONFIG", raising=False)

    run = run_cli(["--config", str(config_file), "run", "nightly", "--as-of", "2025-03-14"], capsys)

    assert "Traceback" not in run.stderr
    assert run.code == 3, run.stderr
    assert len(run.message_lines) == 1, run.stderr
    assert_no_personal_value("stdout", run.stdout)
    assert_no_personal_value("stderr and the log", run.stderr)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            (error,) = conn.execute(text("SELECT error FROM job_runs")).scalars().all()
            (message,) = conn.execute(text("SELECT message FROM ingest_runs")).scalars().all()
    finally:
        engine.dispose()
    assert_no_personal_value("job_runs.error", error)
    assert re.search(case.message, message), message
    assert error == f"ingest: {message}"[:len(error)]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_cr_inside_an_unquoted_value_is_cleared_not_a_new_row(newline, db_url, tmp_path, lenient_config, capsys,
                                                                 monkeypatch):
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.delenv("EHCP_CONFIG", raising=False)
    source = extract(tmp_path / "source", standard(**{"people.csv": stray_cr(newline)}))

    run = run_cli(["--config", str(lenient_config), "ingest", str(source), "--as-of", "2025-03-14"], capsys)

    assert run.code == 0, run.stderr
    _, findings = _stored(db_url)
    cleared = {(f["source_line"], f["record_id"], f["column_name"]) for f in findings
               if f["code"] == "V010" and f["action"] == "cleared"}
    assert cleared == {(2, "P1", "surname"), (3, "P2", "surname")}
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            people = dict(conn.execute(text("SELECT person_id, surname FROM people")).all())
    finally:
        engine.dispose()
    assert people == {"P1": None, "P2": None, "P3": "Owen", "P4": "Price"}
