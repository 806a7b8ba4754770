"""Money: Decimal amounts with their currency; minor units converted once, at the edge."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for the currencies we meet; anything else defaults to 2 and is said so in mapping.
CURRENCY_PRECISION: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "INR": 2,
    "SGD": 2, "HKD": 2, "NZD": 2, "MXN": 2, "BRL": 2, "ZAR": 2, "CNY": 2, "PLN": 2, "ILS": 2, "AED": 2,
    "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "HUF": 2, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}


def precision(currency: str) -> int:
    return CURRENCY_PRECISION.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-precision(currency))


def from_minor_units(amount: int, currency: str) -> Decimal:
    """700 USD cents -> Decimal('7.00'); 700 JPY -> Decimal('700')."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"minor-unit amounts are integers, got {amount!r}")
    return (Decimal(amount).scaleb(-precision(currency))).quantize(quantum(currency))


def to_minor_units(amount: Decimal, currency: str) -> int:
    rounded = round_money(amount, currency)
    return int(rounded.scaleb(precision(currency)))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's precision, the way ledgers round a converted amount."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal:
    """A JSON number or string as an exact Decimal (never through float when avoidable)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"not an amount: {value!r}")
    if isinstance(value, int | str):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"not an amount: {value!r}")


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as people read it: always in the currency's precision (3377.20, not 3377.2)."""
    return f"{amount.quantize(quantum(currency)):f}"
