"""Shared fixtures.

Every storage test runs on SQLite and, when `EHCP_TEST_DATABASE_URL` names a PostgreSQL
database, on PostgreSQL too (each test in a schema of its own, dropped afterwards). Without
that variable the PostgreSQL cases skip with a reason.
"""

import os
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ehcp_monitor import config
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEN2_EXAMPLE = SHARED / "examples" / "sen2-export"
DFE_DATA = SHARED / "data" / "dfe-ehcp-2025"
DFE_DATA_2026 = SHARED / "data" / "dfe-ehcp-2026-sample"
AS_OF = date(2025, 3, 14)


def pytest_sessionstart(session):
    """The tests read DfE's published data and the example SEN2 export from `../shared`, beside
    the repository (as CI has it). Without it, say so once rather than fail forty tests."""
    if not (SEN2_EXAMPLE.is_dir() and DFE_DATA.is_dir() and DFE_DATA_2026.is_dir()):
        pytest.exit(f"tests need {SHARED} beside the repository (the DfE statistics and the example SEN2 "
                    "export); put the shared folder there, as CI does (README, Quick start)", returncode=4)

# The LA's own details, printed in every message: dispatch through SMTP or Notify refuses the
# shipped example values (touchpoints/readiness.py; test_readiness.py is about that refusal).
LA_DETAILS = {
    "la.name": "Harbourside Council",
    "touchpoints.from_address": "send-ehc@harbourside.gov.uk",
    "touchpoints.team_email": "sendteam@harbourside.gov.uk",
    "touchpoints.team_phone": "0300 123 4560",
    "touchpoints.sendiass_name": "Harbourside SENDIASS",
    "touchpoints.sendiass_phone": "0300 123 4599",
    "touchpoints.sendiass_email": "advice@harbourside-sendiass.org.uk",
    "touchpoints.sendiass_url": "https://www.harbourside-sendiass.org.uk",
    "touchpoints.local_offer_url": "https://www.harbourside.gov.uk/local-offer",
}

PG_URL = os.environ.get("EHCP_TEST_DATABASE_URL")


def _pg_url() -> str:
    url = PG_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@contextmanager
def fresh_store_url(kind: str, directory: Path):
    """A fresh, empty database URL: an SQLite file in `directory`, or a PostgreSQL schema of its own
    (dropped afterwards; skipped with a reason when no PostgreSQL is configured)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'store.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need EHCP_TEST_DATABASE_URL (see README, Testing)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in _pg_url() else "?"
    try:
        yield f"{_pg_url()}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL: an SQLite file, or a PostgreSQL schema of its own."""
    with fresh_store_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url):
    """An engine on a fresh store with the schema migrated to head."""
    eng = make_engine(db_url)
    upgrade_head(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path, db_url):
    """Default settings pointing at the test database, run from a temporary folder."""
    return config.defaults().replace(**{"database.url": db_url})


@pytest.fixture
def as_of():
    return AS_OF
