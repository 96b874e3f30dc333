"""`ehcp-monitor touchpoints ...` as a person runs it: a real process on a real store."""

import os
import subprocess
import sys
from pathlib import Path

from tests.touchpoints.conftest import caseload, store_case

# The CLI reads the real clock: tests not about the sending window open it at any hour and day.
ALWAYS_OPEN = 'send_window_start = "00:00"\nsend_window_end = "24:00"\nsend_on_working_days_only = false\n'
# Dispatch sets aside what is older than max_event_age_days on the day it runs, and the CLI reads
# the real clock: a run sending these tests' 2025 rows today keeps them fresh with this.
STILL_FRESH = "max_event_age_days = 100000\n"


def sending_today(config: Path) -> Path:
    """`config` (whose last table is [touchpoints]) for a dispatch run today of rows dated long ago."""
    text = config.read_text(encoding="utf-8")
    assert text.rfind("[touchpoints]") == text.rfind("["), "the last table must be [touchpoints]"
    fresh = config.with_name("sending-today.toml")
    fresh.write_text(text + STILL_FRESH, encoding="utf-8")
    return fresh


def run(args, cwd, db_url, config):
    env = {**os.environ, "EHCP_DATABASE_URL": db_url, "EHCP_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_plan_dispatch_list_and_preview(engine, db_url, tmp_path: Path):
    store_case(engine, *caseload())
    config = tmp_path / "config.toml"
    config.write_text(f'[touchpoints]\noutbox_dir = "{tmp_path / "outbox"}"\nrate_per_minute = 60000\n'
                      'go_live = 2000-01-01\n' + ALWAYS_OPEN)  # a TOML date

    planned = run(["touchpoints", "plan", "--as-of", "2025-03-14"], tmp_path, db_url, config)
    assert planned.returncode == 0, planned.stderr
    assert "pending: 8" in planned.stdout and "suppressed: 8" in planned.stdout

    # Run today, the rows dated 2025 are stale unless the events are kept that long: the dry run
    # lists what the real run would send.
    stale = run(["touchpoints", "dispatch", "--as-of", "2025-03-14", "--dry-run"], tmp_path, db_url, config)
    assert stale.returncode == 0 and "would_send: 0" in stale.stdout
    dry = run(["touchpoints", "dispatch", "--as-of", "2025-03-14", "--dry-run"], tmp_path, db_url,
              sending_today(config))
    assert dry.returncode == 0 and "would_send: 8" in dry.stdout
    assert not (tmp_path / "outbox").exists()

    sent = run(["touchpoints", "dispatch", "--as-of", "2025-03-14"], tmp_path, db_url, sending_today(config))
    assert sent.returncode == 0, sent.stderr
    assert "sent: 8" in sent.stdout and len(list((tmp_path / "outbox").glob("*.eml"))) == 8

    listed = run(["touchpoints", "list", "--status", "skipped"], tmp_path, db_url, config)
    assert listed.returncode == 0 and "opted out" in listed.stdout
    assert "@" not in listed.stdout  # IDs, never addresses
    reviews = run(["touchpoints", "list", "--stage", "review_decision"], tmp_path, db_url, config)
    header, *rows = reviews.stdout.splitlines()[1:]
    assert header.split("\t")[4] == "outcome" and {r.split("\t")[4] for r in rows} == {"amend"}

    shown = run(["touchpoints", "preview", "review_decision", "--case", "R0", "--as-of", "2025-03-14"],
                tmp_path, db_url, config)
    assert shown.returncode == 0, shown.stderr
    assert "Subject: Our decision after the review of the EHC plan - case R0" in shown.stdout
    assert "proposed changes" in shown.stdout and '<html lang="en-GB">' in shown.stdout
    text = run(["touchpoints", "preview", "review_decision", "--case", "R0", "--as-of", "2025-03-14",
                "--part", "sms"], tmp_path, db_url, config)
    assert text.returncode == 0 and text.stdout.startswith("About Alice: After the review of EHC plan R0")
    assert "Subject" not in text.stdout and "Free advice: Example SENDIASS 01234 567899." in text.stdout
    to_them = run(["touchpoints", "preview", "review_decision", "--case", "R0", "--as-of", "2025-03-14",
                   "--part", "text", "--to", "young_person"], tmp_path, db_url, config)
    assert to_them.returncode == 0 and "Hello," in to_them.stdout and "Alice" not in to_them.stdout

    missing = run(["touchpoints", "preview", "final_plan_issued", "--case", "R1"], tmp_path, db_url, config)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_dispatch_exits_1_when_sends_fail(one_email, db_url, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "request_received.txt.j2").write_text("{{ nothing_here }}")
    config = tmp_path / "config.toml"
    config.write_text(f'[touchpoints]\noutbox_dir = "{tmp_path / "outbox"}"\n'
                      f'template_dir = "{tmp_path / "templates"}"\ngo_live = "2000-01-01"\n' + ALWAYS_OPEN)
    out = run(["touchpoints", "dispatch", "--as-of", "2025-03-14"], tmp_path, db_url, sending_today(config))
    assert out.returncode == 1 and "failed: 1" in out.stdout and "Traceback" not in out.stderr
