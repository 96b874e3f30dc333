"""Annual review recovery and capacity in the board pack, end to end on a generated caseload checked
weekly for five weeks (both databases): the sections, their tables and the publication rule."""

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import polars as pl
import pytest

from ehcp_monitor.board_pack import build_board_pack
from ehcp_monitor.checks.run import run_check
from ehcp_monitor.db.bulk import read_frame
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.synthetic.generate import generate

AS_OF = date(2025, 3, 31)
NOW = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def stored(engine, settings):
    frames = generate(people=1200, seed=5, as_of=AS_OF)
    with engine.begin() as conn:
        replace_snapshot(conn, Snapshot.from_frames(frames, ingest_id=1), loaded_at=NOW)
    for weeks_ago in (4, 3, 2, 1, 0):
        run_check(engine, settings, as_of=AS_OF - timedelta(weeks=weeks_ago), now=lambda: NOW)
    return engine, settings.replace(**{"recovery.target_percent": 35.0, "recovery.target_month": "2025-10"})


def _table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="data" id="{table_id}">(.*?)</table>', html, re.S).group(1)
    return [[unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_pack_has_review_recovery_by_team_and_capacity(stored, tmp_path):
    engine, settings = stored
    result = build_board_pack(engine, settings, period="2025-03", as_of=AS_OF, out_dir=tmp_path)
    html = result.html_path.read_text(encoding="utf-8")
    assert '<a href="#review-recovery">Annual review recovery</a>' in html
    rows = _table(html, "review-recovery-teams")
    header, teams, total = rows[0], rows[1:-1], rows[-1]
    assert header[:2] == ["Team", "Overdue under 3 months"] and header[-1] == "Backlog clears"
    with engine.connect() as conn:
        overdue = read_frame(conn, "SELECT plan_id FROM check_results WHERE measure IN ('REVIEW_12M', 'REVIEW_EY') "
                                   "AND status = 'overdue'", {"plan_id": pl.Utf8})
    column = header.index("Overdue in all")
    assert total[0] == "All" and int(total[column].replace(",", "")) == overdue.height > 0
    assert sum(int(r[column].replace(",", "")) for r in teams) == overdue.height
    assert total[-1] in ("not clearing",) or total[-1].startswith("by ")
    trend = _table(html, "review-backlog-trend")
    assert trend[0][-1] == "All teams" and trend[1][0] == "31 Mar 2025"
    assert int(trend[1][-1].replace(",", "")) == overdue.height
    assert trend[6][-1] == "no check"
    capacity = re.search(r'<section class="detail" id="capacity".*?</section>', html, re.S).group(0)
    assert "35% of new plans" in unescape(capacity) and "October 2025" in capacity


def test_published_pack_hides_small_team_counts(stored, tmp_path):
    engine, settings = stored
    result = build_board_pack(engine, settings, period="2025-03", as_of=AS_OF, out_dir=tmp_path, publish=True)
    rows = _table(result.html_path.read_text(encoding="utf-8"), "review-recovery-teams")
    for row in rows[1:]:
        for cell in row[1:12]:
            assert cell == "c" or cell == "not known" or int(cell.replace(",", "")) == 0 or \
                int(cell.replace(",", "")) >= 5


def test_a_pack_dated_before_the_last_check_leaves_recovery_out(stored, tmp_path):
    engine, settings = stored
    result = build_board_pack(engine, settings, period="2025-02", as_of=date(2025, 3, 20), out_dir=tmp_path)
    html = result.html_path.read_text(encoding="utf-8")
    assert "is dated after the pack&#39;s date" in html or "is dated after the pack's date" in html
    assert 'id="review-recovery-teams"' not in html
