"""Metadata a person reads in the Dagster UI: counts, totals by currency, short previews."""

from collections.abc import Iterable
from decimal import Decimal

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 20


def totals_metadata(totals: dict[str, Decimal]) -> dg.MetadataValue:
    return dg.MetadataValue.json({currency: str(amount) for currency, amount in sorted(totals.items())})


def preview(frame: pd.DataFrame, columns: Iterable[str]) -> dg.MetadataValue:
    cols = [c for c in columns if c in frame.columns]
    shown = frame[cols].head(PREVIEW_ROWS).astype(str)
    if shown.empty:
        return dg.MetadataValue.md("_none_")
    header = "| " + " | ".join(cols) + " |\n| " + " | ".join("---" for _ in cols) + " |\n"
    body = "\n".join("| " + " | ".join(v.replace("|", "/") for v in row) + " |" for row in shown.values.tolist())
    more = f"\n\n_{len(frame) - PREVIEW_ROWS} more rows_" if len(frame) > PREVIEW_ROWS else ""
    return dg.MetadataValue.md(header + body + more)


def month_of(context) -> str:
    return context.partition_time_window.start.strftime("%Y-%m")
