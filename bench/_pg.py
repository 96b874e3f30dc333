"""A scratch PostgreSQL schema for one benchmark run, dropped afterwards.

Imported by the scripts beside it as `from _pg import scratch_schema`: run as
`.venv/bin/python bench/<name>.py`, a script's own folder is first on `sys.path`.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def sqlalchemy_url(url: str) -> str:
    """A libpq URL (`postgresql://`, `postgres://`) with psycopg 3 as SQLAlchemy's driver."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def new_schema_name() -> str:
    return f"bench_{uuid.uuid4().hex[:10]}"


@contextmanager
def scratch_schema(base_url: str | None = None, *, schema: str | None = None) -> Iterator[str]:
    """Create a fresh schema, yield an engine URL whose search_path is that schema, drop it afterwards.

    base_url: the PostgreSQL to use (default: EHCP_BENCH_DATABASE_URL, else DEFAULT_PG).
    schema: the schema's name (default: a new `bench_<random>`), for a caller that needs to know it.
    """
    base = sqlalchemy_url(base_url or os.environ.get("EHCP_BENCH_DATABASE_URL", DEFAULT_PG))
    schema = schema or new_schema_name()
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
