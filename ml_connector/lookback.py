"""Which months a day's look back at Brex covers: the month in progress and the `lookback` months before it.

Brex expenses change for weeks after the purchase (a receipt, a category, an amount corrected), and an edit to
a month already posted must be seen: it is then held for review as `changed_after_posting`, never reposted.
Webhooks bring most edits at once; this daily look back catches what a missed delivery would have hidden.
"""

from __future__ import annotations

from datetime import date

from ml_connector.month import FIRST_MONTH


def lookback_months(today: date, lookback: int) -> list[str]:
    """YYYY-MM of the month of `today` and the `lookback` months before it, oldest first, never before the
    first month the connector runs."""
    if lookback < 0:
        raise ValueError("the lookback is a number of months, 0 or more")
    index = today.year * 12 + today.month - 1
    months = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - lookback, index + 1)]
    return [m for m in months if m >= FIRST_MONTH]
