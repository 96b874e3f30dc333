"""`sql:NAME` sources: one query per canonical table in sql/sources/NAME/<table>.sql.

The reporting database URL comes from the environment variable named by
`settings.source.sql_url_env`, never from a committed file. A query may return
`review_history` on plans when its source only knows the latest review (the SSD does).
"""

import hashlib
import os
import re

import polars as pl
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError

from ehcp_monitor.domain.canonical import REVIEW_HISTORY_FULL, REVIEW_HISTORY_LATEST_ONLY, TABLE_ORDER
from ehcp_monitor.errors import ConfigError, IngestRefused
from ehcp_monitor.ingest.source import SourceData, make_raw_table
from ehcp_monitor.paths import sql_dir

SQL_DATES = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f")


def _url(settings) -> str:
    name = settings.source.sql_url_env
    url = os.environ.get(name, "")
    if not url:
        raise ConfigError(f"config: source.sql_url_env names {name}, which is not set")
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def read_sql_source(name: str, settings) -> SourceData:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ConfigError(f"sql source name {name!r} must be lower-case letters, digits and _")
    folder = sql_dir() / "sources" / name
    queries = {t: folder / f"{t}.sql" for t in TABLE_ORDER if (folder / f"{t}.sql").exists()}
    if not queries:
        raise ConfigError(f"no SQL source named {name} (expected queries in sql/sources/{name}/)")
    source = SourceData(f"sql:{name}")
    engine = create_engine(_url(settings))
    try:
        with engine.connect() as conn:
            for table, path in queries.items():
                sql = path.read_text(encoding="utf-8")
                source.checksums[path.name] = hashlib.sha256(sql.encode()).hexdigest()
                try:
                    df = pl.read_database(sql, conn, infer_schema_length=None)
                except (SQLAlchemyError, pl.exceptions.PolarsError) as exc:
                    raise IngestRefused(f"sql:{name} query {path.name} failed ({type(exc).__name__})") from None
                if table == "plans" and "review_history" in df.columns:
                    kinds = set(df["review_history"].drop_nulls().unique().to_list())
                    if kinds == {REVIEW_HISTORY_LATEST_ONLY}:
                        source.review_history = REVIEW_HISTORY_LATEST_ONLY
                    elif kinds - {REVIEW_HISTORY_FULL}:
                        raise IngestRefused(f"sql:{name} plans.review_history must be full or latest_only")
                    df = df.drop("review_history")
                source.tables[table] = make_raw_table(
                    table, df, f"sql/sources/{name}/{path.name}", first_line=1, date_formats=SQL_DATES
                )
    except SQLAlchemyError as exc:
        raise IngestRefused(f"sql:{name}: cannot read the source database ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    return source
