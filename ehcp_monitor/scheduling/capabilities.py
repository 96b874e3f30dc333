"""Finding the capabilities a job calls (ingest, check, touchpoints, reports) by an explicit import.

A capability whose module or function does not exist yet makes the job `not_built`, never
`success`; as soon as the module appears the job starts working. A module that exists but fails
to import for another reason (a missing dependency, a bug) is a real failure and is not hidden.
"""

import importlib
from typing import Callable


class NotBuilt(Exception):
    """A capability a job needs is not part of this installation yet."""


def _is_missing(exc: ModuleNotFoundError, module: str) -> bool:
    parts = module.split(".")
    return exc.name in {".".join(parts[: i + 1]) for i in range(len(parts))}


def require(module: str, name: str) -> Callable:
    """`module.name`, or NotBuilt naming it."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if _is_missing(exc, module):
            raise NotBuilt(f"{module}.{name} is not built yet") from None
        raise
    function = getattr(found, name, None)
    if function is None:
        raise NotBuilt(f"{module}.{name} is not built yet")
    return function
