"""Start-up time of the command line: the median wall time of each command over N runs, each a
fresh process. Prints figures; asserts nothing.

    .venv/bin/python bench/startup.py [--runs 15]

Target (issue 20): `ehcp-monitor --help` and a cheap command start in under 0.25 s. The first
line, a bare `python -c pass`, is the interpreter's own share; the next two, importing SQLAlchemy
(and psycopg, PostgreSQL's driver), the floor of any command that opens the store. The store is a SQLite file in a
temporary folder, created by `init-db` before the timed runs; the bytecode cache is kept in it too.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["--help"],
    ["--version"],
    ["report", "--help"],
    ["rules"],
    ["run", "--help"],
    ["demo-data", "--help"],
    ["check", "--help"],
    ["ingest", "--help"],
    ["report", "late-list", "--help"],
    ["jobs"],
    ["health"],
    ["touchpoints", "list"],
]


def _time(argv: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
        env["EHCP_DATABASE_URL"] = f"sqlite:///{cwd / 'store.sqlite3'}"
        # Bytecode cached as an installed wheel has it (pip compiles at install), kept out of the checkout.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cwd / "pycache")
        cli = [sys.executable, "-m", "ehcp_monitor"]
        subprocess.run([*cli, "init-db"], env=env, cwd=cwd, check=True, capture_output=True)
        print(f"median of {args.runs} runs, each a fresh process (load average {os.getloadavg()[0]:.1f}; "
              "on a shared machine the CPU time moves less than the wall time)")
        rows = [("python -c pass", [sys.executable, "-c", "pass"])]
        # The floor of a command that opens the store: the drivers the design fixes, nothing of ours.
        rows += [(f"python -c 'import {m}'", [sys.executable, "-c", f"import {m}"])
                 for m in ("sqlalchemy", "sqlalchemy, psycopg")]
        rows += [(f"ehcp-monitor {' '.join(c)}", [*cli, *c]) for c in COMMANDS]
        for label, argv in rows:
            _time(argv, env, cwd)  # warm the file cache
            runs = [_time(argv, env, cwd) for _ in range(args.runs)]
            wall = [w for w, _ in runs]
            cpu = [c for _, c in runs]
            print(f"{label:<40} wall {statistics.median(wall):6.3f} s (min {min(wall):.3f})   "
                  f"cpu {statistics.median(cpu):6.3f} s")


if __name__ == "__main__":
    main()
