"""Turning what a feature function returns (a dataclass, a dict, an object) into JSON-able counts.

Only numbers, booleans, short strings, dates and paths are kept (nested in dicts and lists);
anything else (frames, rows, objects, dataclass fields declared repr=False) is left out, so no
case data reaches the run record.
"""

import dataclasses
from datetime import date
from pathlib import Path

_SKIP = object()
MAX_TEXT = 200


def _plain(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else _SKIP
    if isinstance(value, (date, Path)):
        return str(value)
    if isinstance(value, dict):
        items = {str(k): _plain(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not _SKIP}
    if isinstance(value, (list, tuple, set)):
        return [v for v in map(_plain, value) if v is not _SKIP]
    return _SKIP


def counts_of(result) -> dict:
    """The counts, IDs and output paths a feature function reported."""
    if result is None:
        return {}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        # Fields kept out of the repr (an email body, the evaluated frame) are not counts.
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.repr}
    elif isinstance(result, dict):
        fields = result
    else:
        fields = {k: v for k, v in vars(result).items() if not k.startswith("_")}
    return _plain(fields)
