"""The scheduled jobs, one module each with `run(ctx, as_of) -> dict` of counts.

Which jobs exist, and their default schedules: `config.JOBS`. Their code is the repository's
top-level `jobs/` folder. A wheel copies those files into this package (pyproject.toml,
force-include); in a checkout or an editable install this package's path also takes in that
folder. Either way `ehcp_monitor.jobs.nightly` is `jobs/nightly.py`, and no module named `jobs`
is installed at the top of site-packages.
"""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "jobs").is_dir():
    __path__.append(str(_CHECKOUT / "jobs"))
