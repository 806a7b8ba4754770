"""Name normalisation for matching merchants and vendors: "GITHUB, INC." and "GitHub" are one vendor."""

from __future__ import annotations

import re

import pandas as pd

_JOINERS = r"[.'’]"  # dropped without a space, so "S.R.O." becomes "sro"
_SEPARATORS = r"[^\w\s]|_"  # every other punctuation mark separates words


def normalise_names(names: pd.Series, suffixes: tuple[str, ...]) -> pd.Series:
    """Casefold, drop punctuation and trailing corporate suffixes (Inc, LLC, Ltd...), collapse spaces.

    Missing names stay missing (None), so they never match each other in a join.
    """
    # Names repeat heavily (a month has thousands of Uber rides): normalise each distinct name once.
    distinct = pd.Series(names.dropna().unique(), dtype=object)
    normalised = dict(zip(distinct, _normalise(distinct, suffixes), strict=True))
    return names.map(normalised).astype(object).where(names.notna(), None)


def _normalise(names: pd.Series, suffixes: tuple[str, ...]) -> pd.Series:
    missing = names.isna()
    text = names.fillna("").astype(str).str.casefold().str.replace("&", " and ", regex=False)
    text = text.str.replace(_JOINERS, "", regex=True).str.replace(_SEPARATORS, " ", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    if suffixes:
        pattern = r"(?:\s+(?:" + "|".join(re.escape(s.casefold()) for s in suffixes) + r"))+$"
        stripped = text.str.replace(pattern, "", regex=True)
        text = stripped.where(stripped != "", text)  # a vendor literally named "Co" keeps its name
    return text.astype(object).where(~missing & (text != ""), None)


def normalise_name(name: str, suffixes: tuple[str, ...]) -> str | None:
    """The same normalisation for one name (used to report what a rule will match)."""
    return normalise_names(pd.Series([name], dtype=object), suffixes).iloc[0]
