import pytest

from ehcp_monitor.db.locks import job_lock
from ehcp_monitor.errors import LockHeld


def test_a_held_lock_refuses_a_second_holder_until_released(engine):
    with job_lock(engine, "nightly"):
        with pytest.raises(LockHeld, match="nightly"):
            with job_lock(engine, "nightly"):
                pass
        with job_lock(engine, "board_pack"):  # other jobs are not blocked
            pass
    with job_lock(engine, "nightly"):  # released
        pass


def test_the_lock_is_released_when_the_block_fails(engine):
    with pytest.raises(RuntimeError):
        with job_lock(engine, "nightly"):
            raise RuntimeError("boom")
    with job_lock(engine, "nightly"):
        pass
