"""Reading the posting ledger: what is posted, pending, failed or flagged, month by month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store.schema import POSTING_STATUSES, posting_ledger


def month_rows(engine: Engine, month: str) -> list[dict[str, Any]]:
    statement = (sa.select(posting_ledger).where(posting_ledger.c.month == month)
                 .order_by(posting_ledger.c.posting_key))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(statement)]


def month_summary(engine: Engine, month: str) -> dict[str, Any]:
    """Counts by status and posted totals by currency for one month."""
    counts = dict.fromkeys(POSTING_STATUSES, 0)
    posted_totals: dict[str, Decimal] = {}
    for row in month_rows(engine, month):
        counts[row["status"]] += 1
        if row["status"] == "posted" and row["amount"] is not None:
            currency = row["currency"] or "?"
            posted_totals[currency] = posted_totals.get(currency, Decimal("0")) + Decimal(row["amount"])
    return {"month": month, "counts": counts, "posted_totals": posted_totals}
