"""The analysts' SQL views (`sql/views/`, described in docs/analysts.md).

Each view is one file, `sql/views/NAME.sql`, holding one portable `CREATE VIEW NAME AS ...`
that runs unchanged on SQLite and PostgreSQL. `upgrade_head` (so `init-db` and every command that
opens the store) keeps them current: they are dropped before a pending migration, which may alter
a table they read (PostgreSQL refuses that while a view depends on it), and (re)created when a
migration ran, when one is missing or when the files changed since they were last created (their
fingerprint is kept in `sql_views_version`). Otherwise nothing is touched, so an analyst's open query
never waits on a command. The nightly's TRUNCATE/DELETE of `check_results` leaves them in place.

On PostgreSQL the privileges granted on the views (an analyst's read-only role, docs/analysts.md)
are granted again after they are recreated.
"""

import hashlib

from sqlalchemy import Connection, delete, insert, inspect, select, text

from ehcp_monitor.db.models import SqlViewsVersion
from ehcp_monitor.paths import sql_dir

# Creation order: a view may read the ones before it (they are dropped in reverse).
VIEWS: tuple[str, ...] = ("v_measures", "v_latest_results", "v_overdue_history", "v_late_list", "v_quarantine")


def view_sql(name: str) -> str:
    return (sql_dir() / "views" / f"{name}.sql").read_text(encoding="utf-8")


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in VIEWS:
        digest.update(name.encode() + b"\0" + view_sql(name).encode() + b"\0")
    return digest.hexdigest()


Grant = tuple[str, str, str]  # (view, grantee, privilege)


def drop_views(conn: Connection) -> list[Grant]:
    """Drop every view; returns the PostgreSQL privileges granted on them, for create_views to
    grant again (a migration drops the views first: db.migrate)."""
    grants = _grants(conn)
    for name in reversed(VIEWS):
        conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')
    return grants


def create_views(conn: Connection, grants: list[Grant] | None = None) -> None:
    """Drop and create every view (SQLite has no CREATE OR REPLACE VIEW), keeping PostgreSQL grants:
    those on the views there now and `grants` (those of views dropped earlier in the transaction)."""
    grants = list(dict.fromkeys([*(grants or ()), *drop_views(conn)]))
    for name in VIEWS:
        conn.exec_driver_sql(view_sql(name).strip().rstrip(";"))
    for view, grantee, privilege in grants:
        to = "PUBLIC" if grantee == "PUBLIC" else '"' + grantee.replace('"', '""') + '"'
        conn.exec_driver_sql(f'GRANT {privilege} ON "{view}" TO {to}')
    conn.execute(delete(SqlViewsVersion))
    conn.execute(insert(SqlViewsVersion).values(id=1, sha256=fingerprint()))


def views_current(conn: Connection) -> bool:
    """Whether the views are all there and made from the current files."""
    if not inspect(conn).has_table(SqlViewsVersion.__tablename__):
        return False
    stored = conn.execute(select(SqlViewsVersion.sha256)).scalar()
    return stored == fingerprint() and set(VIEWS) <= set(inspect(conn).get_view_names())


def ensure_views(conn: Connection, *, force: bool = False, grants: list[Grant] | None = None) -> None:
    """Create the views unless they are all there and made from the current files (or `force`)."""
    if force or not views_current(conn):
        create_views(conn, grants)


def _grants(conn: Connection) -> list[Grant]:
    """(view, grantee, privilege) granted to others than the owner on the existing views (PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(text(
        "SELECT g.table_name, g.grantee, g.privilege_type FROM information_schema.table_privileges g "
        "JOIN pg_class c ON c.oid = to_regclass(quote_ident(g.table_schema) || '.' || quote_ident(g.table_name)) "
        "WHERE g.table_schema = current_schema() AND c.relkind = 'v' AND g.table_name = ANY(:names) "
        "AND g.grantee <> pg_get_userbyid(c.relowner)"
    ), {"names": list(VIEWS)})
    return [tuple(r) for r in rows]
