"""Metadata a person reads in the Dagster UI: counts, signed totals by currency as numbers, tables."""


from collections.abc import Iterable
from decimal import Decimal

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 20


def month_of(context) -> str:
    return context.partition_time_window.start.strftime("%Y-%m")


def totals(prefix: str, amounts: dict[str, Decimal]) -> dict[str, dg.MetadataValue]:
    """One numeric entry per currency (`posted_total_USD: -193.27`), plus the exact amounts as text."""
    out: dict[str, dg.MetadataValue] = {f"{prefix}_{currency}": dg.MetadataValue.float(float(amount))
                                        for currency, amount in sorted(amounts.items())}
    out[f"{prefix}_exact"] = dg.MetadataValue.json({c: str(a) for c, a in sorted(amounts.items())})
    return out


def table(frame: pd.DataFrame, columns: Iterable[str], limit: int | None = PREVIEW_ROWS) -> dg.MetadataValue:
    """A Markdown table of `columns`; `limit` None shows every row."""
    cols = [c for c in columns if c in frame.columns]
    shown = frame[cols] if limit is None else frame[cols].head(limit)
    if shown.empty:
        return dg.MetadataValue.md("_none_")
    text = shown.astype(object).where(shown.notna(), "").astype(str)
    header = "| " + " | ".join(cols) + " |\n| " + " | ".join("---" for _ in cols) + " |\n"
    body = "\n".join("| " + " | ".join(v.replace("|", "/") for v in row) + " |" for row in text.values.tolist())
    more = f"\n\n_{len(frame) - limit} more rows_" if limit is not None and len(frame) > limit else ""
    return dg.MetadataValue.md(header + body + more)


def rows_table(rows: list[dict], columns: Iterable[str], limit: int | None = None) -> dg.MetadataValue:
    return table(pd.DataFrame(rows, columns=list(columns)), columns, limit)
