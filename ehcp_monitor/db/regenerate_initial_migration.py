"""Developers only, until the first release: rewrite revision 0001 from the models.

    python -m ehcp_monitor.db.regenerate_initial_migration

After the first release, schema changes get a new revision (`migrate.autogenerate`) instead.
"""

import tempfile
from pathlib import Path

from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import MIGRATIONS, autogenerate

if __name__ == "__main__":
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        autogenerate(make_engine(f"sqlite:///{Path(tmp) / 'empty.sqlite3'}"), "initial store", rev_id="0001")
    print("rewrote", *(MIGRATIONS / "versions").glob("0001_*.py"))
