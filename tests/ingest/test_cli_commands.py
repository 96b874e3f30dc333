"""`ehcp-monitor ingest` and `ehcp-monitor quarantine`, run as the real command."""

import csv
import io
import os
import subprocess
import sys

from tests.ingest.extract import base_tables, write_csv


def _run(args, db_url, cwd):
    env = {**os.environ, "EHCP_DATABASE_URL": db_url}
    env.pop("EHCP_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_ingest_prints_a_summary_and_quarantine_lists_the_rows(db_url, tmp_path):
    tables = base_tables()
    tables["contacts"].append({**tables["contacts"][0], "contact_id": "=HYPERLINK(1)", "email": "x@@example.org"})
    tables["contacts"] += [{**tables["contacts"][0], "contact_id": f"C{n}"} for n in range(10, 30)]
    folder = write_csv(tmp_path / "extract", tables)

    done = _run(["ingest", str(folder), "--as-of", "2025-03-14"], db_url, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The contact with a bad address loads without it: nothing quarantined, one value cleared.
    assert lines[0] == "ingest #1 (csv): loaded, 39 of 39 rows loaded, 0 quarantined; 5 of 5 cases fully monitored"
    assert [line.split() for line in lines if line.startswith("contacts")] == [["contacts", "23", "23", "0", "none"]]
    assert "values cleared by code:   V009 1" in lines
    assert lines[-1] == "cases fully monitored:    5 of 5 (100.0%); details: ehcp-monitor quarantine"
    assert "Traceback" not in done.stderr

    listed = _run(["quarantine"], db_url, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-2:] == [
        "V009 Invalid email address: contacts.email, 1 finding (cleared)",
        "    contacts.csv:4  record =HYPERLINK(1)  value ***",
    ]

    as_csv = _run(["quarantine", "--csv"], db_url, tmp_path)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows == [{"ingest_id": "1", "table_name": "contacts", "source_file": "contacts.csv", "source_line": "4",
                     "record_id": "'=HYPERLINK(1)", "code": "V009", "column_name": "email",
                     "message": "email is not a single valid address", "action": "cleared", "measure": "",
                     "bad_value": "***"}]


def test_a_refused_ingest_exits_3_with_one_line(db_url, tmp_path):
    tables = base_tables()
    tables["requests"][2]["received_date"] = "yesterday"  # every clock of R3 starts on it: a case lost
    folder = write_csv(tmp_path / "extract", tables)
    done = _run(["ingest", str(folder), "--as-of", "2025-03-14"], db_url, tmp_path)
    assert done.returncode == 3
    errors = [line for line in done.stderr.splitlines() if line.startswith("ehcp-monitor:")]
    assert errors == ["ehcp-monitor: table requests: 1 of 3 rows quarantined (33.3%), more than "
                      "ingest.max_reject_share 5%; see `ehcp-monitor quarantine`"]
    assert "Traceback" not in done.stderr
    assert "\nV002 quarantined requests R3 at requests.csv:4" in _run(["quarantine", "--all"], db_url, tmp_path).stdout
