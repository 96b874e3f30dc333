"""Small vectorised helpers shared by the generator: day numbers, mixtures of delays, dates."""

from datetime import date

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def mixture(rng: np.random.Generator, n: int, bands: list[tuple[float, int, int]]) -> np.ndarray:
    """n whole-day delays: each drawn from band (share, low, high) inclusive, chosen by share."""
    shares = np.array([b[0] for b in bands], dtype=float)
    which = rng.choice(len(bands), size=n, p=shares / shares.sum())
    low = np.array([b[1] for b in bands])[which]
    high = np.array([b[2] for b in bands])[which]
    return low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)


def uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A day between low and high inclusive, per element (high >= low)."""
    return low + np.floor(rng.random(len(low)) * (high - low + 1)).astype(np.int64)


def date_series(name: str, days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Day numbers as a polars Date series, null where `valid` is False."""
    series = pl.Series(name, np.asarray(days, dtype=np.int32)).cast(pl.Date)
    if valid is None:
        return series
    return pl.select(pl.when(pl.Series(np.asarray(valid, dtype=bool))).then(series).alias(name)).to_series()


def pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def id_series(name: str, start: int, n: int) -> pl.Series:
    """Integer-shaped text IDs (SEN2 table IDs must be integers), a block of numbers per table."""
    return pl.Series(name, start + np.arange(n, dtype=np.int64)).cast(pl.Utf8)


def text_series(name: str, values: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Text values as a Utf8 series, null where `valid` is False."""
    series = pl.Series(name, np.asarray(values).astype(str))
    if valid is None:
        return series
    return pl.select(pl.when(pl.Series(np.asarray(valid, dtype=bool))).then(series).alias(name)).to_series()
