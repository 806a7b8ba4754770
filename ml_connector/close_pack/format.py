"""Amounts as the close pack shows them: always in the currency's precision, with thousands separators
(3,377.20 USD, 1,200 JPY), never 3377.2."""

from __future__ import annotations

from decimal import Decimal

from ml_connector.money import quantum


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return f"{amount.quantize(quantum(currency)):,f}"


def parse_money(text: str) -> Decimal:
    """The amount a `money` text shows (for reading a pack back)."""
    return Decimal(text.replace(",", "").strip())
