"""The renamed-file night (issue 14), replayed through the real command on SQLite and PostgreSQL:
`reviews.csv` saved as `review.csv` must not reach a family. The snapshot guard refuses it (exit 3,
nothing sent); with the guard overridden, the surge hold catches the same fault (exit 1, nothing
sent) and the data team can look before anyone is told their annual review is late."""

import os
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import func, select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.synthetic import generate, write_extract
from tests.touchpoints.test_cli import STILL_FRESH

FIRST = date(2026, 11, 2)


def _cli(args, tmp_path, db_url, config):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
    env.update(EHCP_DATABASE_URL=db_url, EHCP_CONFIG=str(config))
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def _outbox(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.status, func.count()).group_by(Touchpoint.status)).all())


def _eml(tmp_path) -> int:
    return len(list((tmp_path / "outbox").glob("*.eml"))) if (tmp_path / "outbox").exists() else 0


def test_a_renamed_reviews_file_never_reaches_a_family(engine, db_url, tmp_path):
    extract = tmp_path / "extract"
    write_extract(generate(people=800, seed=5, as_of=FIRST), extract, "csv")
    config = tmp_path / "config.toml"
    config.write_text(f'[source]\nlocation = "{extract}"\n[touchpoints]\noutbox_dir = "{tmp_path / "outbox"}"\n'
                      f'rate_per_minute = 100000\ngo_live = "{FIRST - timedelta(days=60)}"\n'
                      # The CLI reads the real clock: open the sending window at any hour and day.
                      'send_window_start = "00:00"\nsend_window_end = "24:00"\nsend_on_working_days_only = false\n'
                      # ... and what it sends today is dated in the past: kept fresh (tests/touchpoints/test_cli.py).
                      + STILL_FRESH,
                      encoding="utf-8")

    # Live for two months already: the first night here finds every apology since then due at once,
    # which the surge hold keeps back; the operator discards it. Then a normal night.
    assert _cli(["run", "nightly", "--as-of", FIRST.isoformat()], tmp_path, db_url, config).returncode == 1
    assert _cli(["touchpoints", "discard"], tmp_path, db_url, config).returncode == 0
    normal = _cli(["run", "nightly", "--as-of", (FIRST + timedelta(days=1)).isoformat()], tmp_path, db_url, config)
    assert normal.returncode == 0, normal.stderr
    before, sent_before = _outbox(engine), _eml(tmp_path)
    assert before.get("sent", 0) == sent_before > 0

    (extract / "reviews.csv").rename(extract / "review.csv")
    night = (FIRST + timedelta(days=2)).isoformat()
    refused = _cli(["run", "nightly", "--as-of", night], tmp_path, db_url, config)
    assert refused.returncode == 3, refused.stderr
    assert "review.csv (did you mean reviews.csv?)" in refused.stderr and "Traceback" not in refused.stderr
    assert _outbox(engine) == before and _eml(tmp_path) == sent_before  # nothing planned, nothing sent

    # The guard overridden (as an operator might, wrongly): every annual review now looks missed.
    # The ingest finds the reviews' done dates gone: each apology and reminder of those cases is
    # held for a person, and with them (a surge) every other new message: the nightly fails saying
    # how many were held and why.
    accepted = _cli(["ingest", str(extract), "--accept-missing", "reviews", "--as-of", night], tmp_path, db_url,
                    config)
    assert accepted.returncode == 0, accepted.stderr
    held = _cli(["run", "nightly", "--as-of", night], tmp_path, db_url, config)
    assert held.returncode == 1, held.stderr
    after = _outbox(engine)
    assert after.get("held", 0) > 50
    assert "of cases whose done dates the extract no longer has (a partial extract?)" in held.stderr
    assert after.get("sent", 0) == before["sent"] and _eml(tmp_path) == sent_before
    assert _cli(["health"], tmp_path, db_url, config).returncode != 0
