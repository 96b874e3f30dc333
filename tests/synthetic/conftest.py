"""One generated caseload per module: generation is deterministic, so sharing it is safe."""

import pytest

from ehcp_monitor.synthetic import generate
from tests.conftest import AS_OF

PEOPLE = 4000
SEED = 11


@pytest.fixture(scope="module")
def frames():
    return generate(people=PEOPLE, seed=SEED, as_of=AS_OF)


@pytest.fixture(scope="module")
def bad_frames():
    return generate(people=PEOPLE, seed=SEED, as_of=AS_OF, bad_rows=True)
