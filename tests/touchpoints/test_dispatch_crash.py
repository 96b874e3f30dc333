"""A dispatcher killed mid-batch leaves at most one row in doubt; rows it claimed but never handed to
the transport are sent by the next run, exactly once; and every dispatcher shares one pace."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from ehcp_monitor.touchpoints.dispatch import CLAIM_LEASE, claim
from tests.touchpoints.conftest import AS_OF, NOW, Recorder, free_port, smtp_settings, store_case, tp_settings
from tests.touchpoints.test_dispatch import many_families

ROOT = Path(__file__).resolve().parents[2]


def _by_status(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.status, func.count()).group_by(Touchpoint.status)).all())


class SlowServer(Recorder):
    """Takes each message, then answers a moment later (a busy relay)."""

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(0.1)
        return answer


DISPATCHER = """
import sys
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.touchpoints import dispatch_touchpoints
from tests.touchpoints.conftest import AS_OF, NOW, smtp_settings
engine = make_engine(sys.argv[1])
dispatch_touchpoints(engine, smtp_settings(int(sys.argv[2])), as_of=AS_OF, now=NOW, pause=lambda s: None)
"""


def test_a_dispatcher_killed_mid_batch_leaves_at_most_one_row_in_doubt(db_url):
    engine = make_engine(db_url)
    upgrade_head(engine)
    store_case(engine, *many_families(40))
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["pending"] == 40
    handler = SlowServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
        process = subprocess.Popen([sys.executable, "-c", DISPATCHER, db_url, str(controller.port)],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while len(handler.received) < 5:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "timed out waiting for the dispatcher to send"
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait(30)
        crashed = _by_status(engine)
        # Only what it was about to send was taken: one row, claimed or handed over.
        assert crashed.get("claimed", 0) + crashed.get("sending", 0) <= 1, crashed
        assert crashed.get("pending", 0) >= 40 - len(handler.received) - 1

        # The next run, once the leases have run out.
        counts = dispatch_touchpoints(engine, smtp_settings(controller.port), as_of=AS_OF,
                                      now=NOW + timedelta(hours=2), pause=lambda s: None)
    finally:
        controller.stop()
    after = _by_status(engine)
    assert after.get("unknown", 0) <= 1 and after.get("sent", 0) + after.get("unknown", 0) == 40, after
    assert counts["unknown"] == after.get("unknown", 0)
    refs = [m["X-Reference"] for _, m in handler.received]
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.id, Touchpoint.status)).all()
    for row_id, status in rows:
        times = refs.count(f"tp-{row_id}")
        assert times == 1 if status == "sent" else times <= 1, (row_id, status, times)
    engine.dispose()


def test_a_claim_never_handed_over_goes_back_and_is_sent_once(one_email, smtp_server):
    handler, port = smtp_server()
    settings = smtp_settings(port)
    assert claim(one_email, NOW, limit=1, transport="smtp") == [1]  # then the dispatcher died
    # Within the lease the row is left to its dispatcher, which may still be alive.
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(minutes=1))["sent"] == 0
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + CLAIM_LEASE)
    assert counts["sent"] == 1 and counts["unknown"] == 0
    assert _by_status(one_email) == {"sent": 1} and len(handler.received) == 1


def test_three_dispatchers_share_one_pace(db_url, smtp_server):
    setup = make_engine(db_url)
    upgrade_head(setup)
    store_case(setup, *many_families(30))
    assert plan_touchpoints(setup, tp_settings(), as_of=AS_OF)["pending"] == 30
    handler, port = smtp_server()
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 10})
    start = threading.Barrier(3)
    results = []

    def dispatcher():
        engine = make_engine(db_url)
        start.wait()
        # The clock is pinned: a dispatcher's time moves only with the pace slots it waits for.
        results.append(dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=lambda s: None))
        engine.dispose()

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(r["sent"] for r in results) == 30 and len(handler.received) == 30
    with setup.connect() as conn:
        sent_at = sorted(t.replace(tzinfo=None) for t in conn.execute(select(Touchpoint.sent_at)).scalars())
    busiest = max(sum(1 for t in sent_at if start_ <= t < start_ + timedelta(minutes=1)) for start_ in sent_at)
    assert busiest <= 10, f"{busiest} sends in one minute against a rate of 10"
    assert sent_at[-1] - sent_at[0] == timedelta(minutes=29 / 10)  # evenly spaced, one interval apart
    setup.dispose()
