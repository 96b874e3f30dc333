"""Reading a delimited text file into a frame of strings: encoding, BOM, CRLF, header only.

Bytes are decoded as strict UTF-8 (BOM stripped), falling back to cp1252 for a file that is not
UTF-8 (bytes cp1252 leaves undefined are read as Latin-1, so they surface as control characters
in V010 instead of failing the file). Every value stays text: types come from the canonical schema.
"""

import hashlib
import io
from pathlib import Path

import polars as pl

from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)


def decode(data: bytes, table: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("file is not UTF-8, read as cp1252", table=table)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_text_csv(path: Path, table: str, checksums: dict[str, str]) -> pl.DataFrame:
    """The file as a frame of strings, one column per header name (doubled names suffixed)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestRefused(f"{path.name}: cannot be opened ({exc.strerror or type(exc).__name__})") from None
    checksums[path.name] = hashlib.sha256(data).hexdigest()
    text = decode(data, table)
    if not text.strip():
        raise IngestRefused(f"{path.name}: the file is empty (no header row)")
    try:
        return pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    # A parser panic on malformed bytes is still bad input, not a crash.
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestRefused(f"{path.name}: cannot be read as CSV ({first[:120]})") from None
