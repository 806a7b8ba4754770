"""A month of card spend at any size for the mapping benchmark, and the plain row loop it is measured against.

The records come from the sandbox company (its merchants, categories, departments, locations), with a few
hundred distinct card descriptors, a share of unapproved, unmapped and retired-account spend, and amounts in
four currencies, in the columns `mapping.frames.records_frame` gives the mapping.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

import numpy as np
import pandas as pd

from ml_connector.mapping import load_rules
from ml_connector.mapping.frames import RECORD_OBJECT_FIELDS, RECORD_TEXT_FIELDS
from ml_connector.mapping.names import normalise_name
from ml_connector.models import Account, CurrencyInfo, ReferenceData, TagOption, Vendor
from ml_connector.sandbox import catalog
from ml_connector.sources.columns import versions

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
MONTH_DAYS = [date(2026, 10, d) for d in range(1, 32)]


def month_frame(size: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    merchants = catalog.MERCHANTS
    which = rng.integers(0, len(merchants), size)
    variant = rng.integers(0, 12, size)  # each merchant shows up under a dozen card descriptors
    descriptors = np.array([m.descriptor for m in merchants], dtype=object)[which]
    suffix = np.where(variant == 0, "", " " + variant.astype(str))
    currency = np.array([m.currency for m in merchants], dtype=object)[which]
    cents = rng.integers(500, 90_000, size)
    refund = rng.random(size) < 0.03
    precision = {c.code: c.precision for c in catalog.CURRENCIES}
    amounts = [Decimal(int(c) * (-1 if r else 1)).scaleb(-precision[cur]) if precision[cur] else
               Decimal(int(c // 100) * (-1 if r else 1)) for c, r, cur in zip(cents, refund, currency, strict=True)]
    status = np.where(rng.random(size) < 0.02, "SUBMITTED", "APPROVED")
    departments = np.array(catalog.DEPARTMENTS + ("G&A",), dtype=object)[rng.integers(0, 6, size)]
    locations = np.array(("SF", "NYC", "London", "Toronto"), dtype=object)[rng.integers(0, 4, size)]
    days = np.array(MONTH_DAYS, dtype=object)[rng.integers(0, 31, size)]
    ids = pd.Series(np.arange(size)).map(lambda n: f"expense_{n:010d}")
    frame = pd.DataFrame({
        "source": "brex", "source_id": ids, "parent_id": "txn_" + ids.str.slice(8),
        "merchant": pd.Series(descriptors + suffix), "currency": currency,
        "category": np.array([m.category for m in merchants], dtype=object)[which], "gl_code": None,
        "department": departments, "location": locations, "project": None, "employee_name": None,
        "card_account": "primary", "memo": None, "source_url": None, "status": status,
        "record_date": days, "amount": amounts, "exchange_rate": None, "receipt_urls": [()] * size,
        "original_currency": None, "original_amount": None, "tax_code": None, "tax_amount": None,
    })
    for name in RECORD_TEXT_FIELDS:
        frame[name] = frame[name].astype("str")
    for name in RECORD_OBJECT_FIELDS:
        frame[name] = frame[name].astype(object)
    frame["version"] = versions(frame)
    return frame


def reference() -> ReferenceData:
    accounts = tuple(Account(account_id=f"acc-{a.code}", name=a.name, code=a.code, account_type=a.account_type,
                             is_active=a.is_active) for a in catalog.CHART_OF_ACCOUNTS)
    vendors = tuple(Vendor(vendor_id=f"ven-{i}", name=m.name) for i, m in enumerate(catalog.MERCHANTS) if i % 2)
    options = [TagOption(tag_id="tag-cc", tag_name="Cost Center", option_id=f"cc-{i}", option_name=d,
                         is_mandatory=True) for i, d in enumerate(catalog.DEPARTMENTS)]
    options += [TagOption(tag_id="tag-loc", tag_name="Location", option_id=f"loc-{i}", option_name=loc)
                for i, loc in enumerate(catalog.LOCATIONS)]
    currencies = tuple(CurrencyInfo(currency_id=c.code, code=c.code, precision=c.precision, is_base=c.code == "USD")
                       for c in catalog.CURRENCIES)
    return ReferenceData(accounts=accounts, vendors=vendors, tag_options=tuple(options), currencies=currencies,
                         base_currency="USD", locked_through=date(2026, 9, 30))


def rules():
    return load_rules(ROOT / "config" / "mapping.example.yaml")


def row_loop(frame: pd.DataFrame, mapping, ref: ReferenceData) -> dict:
    """The same decisions as `map_frame`, one record at a time with dictionaries (names normalised once each)."""
    suffixes = mapping.vendors.strip_suffixes
    brex = mapping.brex

    @cache
    def norm(name: str) -> str | None:
        return normalise_name(name, suffixes)

    categories = {k.strip().casefold(): v for k, v in brex.categories.items()}
    overrides: dict[str, object] = {}
    for override in brex.merchant_overrides:
        overrides.setdefault(norm(override.match), override)
    aliases = {norm(k): v for k, v in mapping.vendors.aliases.items()}
    by_key: dict[str, Account] = {}
    for account in ref.accounts:
        by_key.setdefault(account.name.strip().casefold(), account)
    for account in ref.accounts:
        by_key[(account.code or "").strip().casefold()] = account
    options = {(o.tag_name.casefold(), o.option_name.strip().casefold()): o for o in ref.tag_options}
    vendors = {norm(v.name): v for v in ref.vendors}
    renames = {dim: {k.strip().casefold(): v for k, v in getattr(mapping.dimensions, dim).values.items()}
               for dim in ("department", "location") if getattr(mapping.dimensions, dim) is not None}
    known = {c.code for c in ref.currencies}
    credit = by_key[str(brex.credit_account).casefold()]
    mapped = held = 0
    totals: dict[str, Decimal] = {}
    for status, category, merchant, department, location, currency, amount, day in zip(
            frame["status"], frame["category"], frame["merchant"], frame["department"], frame["location"],
            frame["currency"], frame["amount"], frame["record_date"], strict=True):
        if status not in ("APPROVED", "SETTLED") or currency not in known or not amount \
                or day <= ref.locked_through:
            held += 1
            continue
        key = norm(merchant)
        override = overrides.get(key)
        rule = categories.get((category or "").strip().casefold())
        ref_account = (override.account if override is not None and override.account else None) or (
            rule.account if rule is not None else brex.default_account)
        account = by_key.get(str(ref_account).strip().casefold()) if ref_account else None
        if account is None or not account.is_active or not credit.is_active:
            held += 1
            continue
        tags = []
        for dim, value, tag in (("department", department, "cost center"), ("location", location, "location")):
            wanted = renames.get(dim, {}).get((value or "").strip().casefold(), value)
            option = options.get((tag, (wanted or "").strip().casefold()))
            if option is None and dim == "department":
                tags = None
                break
            if option is not None:
                tags.append(option.option_id)
        if tags is None:
            held += 1
            continue
        vendor_name = (override.vendor if override is not None and override.vendor else None) or (
            rule.vendor if rule is not None and rule.vendor else None) or aliases.get(key) or merchant
        vendors.get(norm(vendor_name))
        totals[currency] = totals.get(currency, Decimal(0)) + amount
        mapped += 1
    return {"mapped": mapped, "held": held}
