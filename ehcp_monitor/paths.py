"""Where the project's non-Python files live.

In a source checkout (or an editable install) they are the top-level `sql/`, `reports/` and
`config.toml`; a wheel carries copies under `ehcp_monitor/_data/`.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_data"
_CHECKOUT = _PACKAGE.parent


def resource(name: str) -> Path:
    """Path of a top-level resource (`sql`, `reports`, `config.toml`)."""
    installed = _INSTALLED / name
    if installed.exists():
        return installed
    return _CHECKOUT / name


def sql_dir() -> Path:
    return resource("sql")


def templates_dir() -> Path:
    return resource("reports")


def default_config_file() -> Path:
    return resource("config.toml")
