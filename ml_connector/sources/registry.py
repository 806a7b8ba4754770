"""Every source of spend the engine knows. Adding a source: write its module (a `SourceSpec` with its
mapping section) and add it here; `month.py` and `mapping/` need no change."""

from __future__ import annotations

from ml_connector.sources import brex_spend, expensify_spend
from ml_connector.sources.base import SourceSpec

SOURCES: dict[str, SourceSpec] = {spec.name: spec for spec in (brex_spend.SPEC, expensify_spend.SPEC)}


def spec(name: str) -> SourceSpec:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None
