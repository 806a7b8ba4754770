"""What Zoho Books rejects in a journal or bill body, checked before anything is stored.

Error codes (HTTP 400 unless said otherwise). Only 1002 "<Entity> does not exist." is from Zoho's
errors page, and code 2 "Invalid value passed for <field>" is third-party observed; which code Zoho
uses for each rule below is UNCONFIRMED, chosen in the vendor's style:
- 2    a field has a wrong value: bad date, enum, inactive account, missing mandatory reporting tag,
       a date in a locked period, a duplicate bill_number, missing required field.
- 4    "Invalid value passed for amount": an amount that is not a positive number, has more decimals
       than the currency's price_precision, or a journal whose debits and credits differ.
- 1002 an id in the body that names nothing (account, contact/vendor, currency, reporting tag option).

Reporting tags: "Cost Center" is mandatory with the line-item preference for journals (the
`multi_preference_entities.preference: line_item` of reporting-tags.yml), so every journal line must carry
it; a header-level Cost Center does not count. On bills tags are optional but validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ml_connector.sandbox.zoho_records import ZohoError, invalid, not_found_in_body
from ml_connector.sandbox.zoho_reference import ZohoCurrency, ZohoReference

LOCK_MODULES = ("sales", "purchase", "accountant", "banking", "inventory_adjustments")


def parse_date(value: object, field: str, required: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise ZohoError(400, 2, f"{field} is required. Send it as yyyy-mm-dd.")
        return None
    try:
        return date.fromisoformat(str(value)) if len(str(value)) == 10 else _bad_date(field)
    except ValueError:
        return _bad_date(field)


def _bad_date(field: str) -> date:
    raise invalid(field, "Use the format yyyy-mm-dd.")


def parse_amount(value: object, field: str, currency: ZohoCurrency, allow_zero: bool = False) -> Decimal:
    """A positive amount that fits the currency's precision, as a Decimal."""
    if isinstance(value, bool) or value in (None, ""):
        raise ZohoError(400, 4, f"Invalid value passed for {field}. Send a positive number.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ZohoError(400, 4, f"Invalid value passed for {field}. Send a positive number.") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        raise ZohoError(400, 4, f"Invalid value passed for {field}. Send a positive number.")
    precision = currency.currency.precision
    if amount != amount.quantize(Decimal(1).scaleb(-precision)):
        raise ZohoError(400, 4, f"Invalid value passed for {field}. {currency.currency.code} amounts allow "
                                f"{precision} decimal places; {value} has more.")
    return amount


def to_base(amount: Decimal, rate: Decimal, ref: ZohoReference) -> Decimal:
    precision = ref.base_currency.currency.precision
    return (amount * rate).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


@dataclass
class Checker:
    """Validation against the organisation's reference data and the store's live state."""

    ref: ZohoReference
    contacts: dict[str, dict]
    locks: dict[str, dict]

    def currency(self, currency_id: object) -> ZohoCurrency:
        if currency_id in (None, ""):
            return self.ref.base_currency
        found = self.ref.currencies.get(str(currency_id))
        if found is None:
            raise not_found_in_body("Currency")
        return found

    def exchange_rate(self, body: dict, currency: ZohoCurrency) -> Decimal:
        if currency.is_base:
            return Decimal(1)
        given = body.get("exchange_rate")
        if given in (None, ""):
            return currency.currency.rate_to_base
        try:
            rate = Decimal(str(given))
        except InvalidOperation:
            raise invalid("exchange_rate") from None
        if not rate.is_finite() or rate <= 0:
            raise invalid("exchange_rate")
        return rate

    def account(self, account_id: object, where: str) -> str:
        account = self.ref.accounts.get(str(account_id or ""))
        if account is None:
            raise not_found_in_body("Account")
        if not account.is_active:
            raise invalid("account_id", f"The account '{account.name}' ({account.code}) on {where} is "
                                        "inactive. Mark it active or choose another account.")
        return str(account_id)

    def contact(self, contact_id: object, entity: str = "Contact") -> dict:
        contact = self.contacts.get(str(contact_id or ""))
        if contact is None:
            raise not_found_in_body(entity)
        return contact

    def tags(self, raw: object, where: str) -> list[dict]:
        """Reporting tags as echoed on a saved record; unknown tags or options are rejected."""
        if raw in (None, ""):
            return []
        if not isinstance(raw, list):
            raise invalid("tags", "Send a list of {tag_id, tag_option_id}.")
        echoed = []
        for item in raw:
            if not isinstance(item, dict):
                raise invalid("tags", "Send a list of {tag_id, tag_option_id}.")
            tag = self.ref.tags.get(str(item.get("tag_id") or ""))
            if tag is None:
                raise not_found_in_body("Reporting tag")
            option_id = str(item.get("tag_option_id") or "")
            if tag.option(option_id) is None:
                raise not_found_in_body(f"Option of the reporting tag '{tag.name}' on {where}")
            echoed.append(self.ref.line_tag(tag.tag_id, option_id))
        return echoed

    def mandatory_tags(self, tags: list[dict], where: str) -> None:
        present = {t["tag_id"] for t in tags}
        for tag in self.ref.tags.values():
            if tag.is_mandatory and tag.tag_id not in present:
                raise ZohoError(400, 2, f"The reporting tag '{tag.name}' is mandatory. Select an option "
                                        f"for '{tag.name}' on {where}.")

    def open_period(self, when: date, module: str) -> None:
        lock = self.locks.get(module)
        if lock and lock["status"] != "disabled" and when <= date.fromisoformat(lock["date"]):
            raise ZohoError(400, 2, f"Transactions dated on or before {lock['date']} are locked for the "
                                    f"{module} module. Choose a later date or ask an admin to unlock "
                                    "the period.")

    @staticmethod
    def choice(body: dict, field: str, allowed: tuple[str, ...], default: str) -> str:
        value = body.get(field) or default
        if value not in allowed:
            raise invalid(field, f"Use one of: {', '.join(allowed)}.")
        return value


def check_balanced(debits: Decimal, credits: Decimal, currency: ZohoCurrency) -> None:
    if debits != credits:
        code = currency.currency.code
        raise ZohoError(400, 4, "Invalid value passed for amount. The journal entry is not balanced: "
                                f"debits total {debits} {code} and credits total {credits} {code}. "
                                "Make debits and credits equal.")
