"""What Brex bills the sandbox company for a card purchase, and in which currency.

Brex charges a company "on the entity's currency" (expenses.yaml and webhooks.yaml, `billing_amount`: "the
amount that the entity is charged, on the entity's currency, for reimbursements or card spends"). The sandbox
company's entity is the organisation of `SandboxConfig.org`, so a card purchase bills and settles in that
organisation's base currency (`ORG_PROFILES[org].base_currency`: USD in "us", GBP in "uk"), converted from the
merchant's currency at `ORG_PROFILES[org].rates_to_base` and rounded half up to the base currency's minor
unit. Everything derived from the billed amount follows it: expenses' `billing_amount` and `budget_amount`, the
settled card rows (and the month's rewards credit and autopay), the Accounting API's amounts, an edited amount
re-billed, and webhook payloads. Only `usd_equivalent_amount` is in USD whatever the organisation ("converted
in USD (if not already in USD)", expenses.yaml). In "us" the rates are the catalog's own, so its data is
exactly what it always was.

How Brex itself converts (which rate, which day, how it rounds) is not in the references: the sandbox uses its
catalog's fixed rates and rounds half up, the same rule in both organisations.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.catalog import ORG_PROFILES, Company


def billing_currency(org: str) -> str:
    """The currency Brex bills and settles the organisation's card spend in: its base currency."""
    return ORG_PROFILES[org].base_currency


def to_billing_minor(company: Company, amount_minor: int, currency: str, org: str = "us") -> int:
    """Convert minor units of `currency` to minor units of the organisation's billing currency at the
    organisation's rates (`ORG_PROFILES[org].rates_to_base`), rounding half up."""
    profile = ORG_PROFILES[org]
    source = company.currency(currency)
    base = company.currency(profile.base_currency)
    major = Decimal(amount_minor).scaleb(-source.precision) * profile.rates_to_base[currency]
    return int(major.scaleb(base.precision).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_usd_minor(company: Company, amount_minor: int, currency: str) -> int:
    """Convert minor units of `currency` to USD cents with the catalog's rates (those of "us"), rounding half up."""
    return to_billing_minor(company, amount_minor, currency, "us")
