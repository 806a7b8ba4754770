"""Reading and grouping the mapping's frames by column, without a Python object per row.

Columns a combination of mapped fields decides are categorical (an integer per record); a record's own are
plain. `values` gives any of them as an object array with None for missing, the one way the builders read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The column as an object array, None where a value is missing (never NaN)."""
    series = frame[name]
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = np.append(np.asarray(series.cat.categories, dtype=object), None)
        return categories[series.cat.codes.to_numpy()]  # code -1 (missing) takes the appended None
    out = series.to_numpy(dtype=object, copy=True)
    missing = series.isna().to_numpy()  # NaN from pandas' own string columns, or mixed into object ones
    if missing.any():
        out[missing] = None
    return out


def rows(frame: pd.DataFrame, columns: list[str] | tuple[str, ...] | None = None) -> list[dict]:
    """Rows as dicts, None for missing values: for the few places that need a record's fields together."""
    names = list(columns or frame.columns)
    arrays = [values(frame, name) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*arrays, strict=True)] if len(frame) else []


def codes(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The column as integers, equal for equal values (missing ones too): a categorical's own codes, else
    factorized. Grouping by these is grouping by the values, without touching a Python object."""
    series = frame[name]
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64)
    found, _ = pd.factorize(series, use_na_sentinel=False)
    return found.astype(np.int64)


def group_codes(arrays: list[np.ndarray]) -> np.ndarray:
    """One integer per distinct combination of the arrays' values (missing values group together). Integer
    arrays are taken as codes already."""
    combined = np.zeros(len(arrays[0]) if arrays else 0, dtype=np.int64)
    for array in arrays:
        if array.dtype.kind in "iu":
            column, size = array.astype(np.int64) + 1, int(array.max(initial=-1)) + 2
        else:
            column, uniques = pd.factorize(array, use_na_sentinel=False)
            size = len(uniques) + 1
        combined, _ = pd.factorize(combined * size + column)
    return combined


def rank(array: np.ndarray) -> np.ndarray:
    """Each value's position in sorted order, as integers (to sort text by integer keys)."""
    codes, _ = pd.factorize(array, sort=True, use_na_sentinel=False)
    return codes


def boundaries(sorted_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of each run of equal codes in a sorted array."""
    if len(sorted_codes) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(sorted_codes)]
    return starts, ends
