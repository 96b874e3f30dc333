import pytest


@pytest.fixture
def lenient(settings):
    """Settings that load whatever share is quarantined, so a single bad row can be inspected."""
    return settings.replace(**{"ingest.max_reject_share": 1.0})
