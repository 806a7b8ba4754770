"""What QuickBooks refuses in a request field, and references checked against the company's books.

Field rules (HTTP 400 ValidationFault; texts in `errors`):
- 2010 a value of the wrong JSON type (an amount that is a string, a reference that is not an object);
  amounts must be JSON numbers (Jackson would also read numeric strings: refusing them is stricter).
- 2020 a required field is missing; 2050 a string longer than its limit (DocNumber 21 per the XSD,
  Line.Description 4000 per the XSD; PrivateNote 4000 and DisplayName 500 UNCONFIRMED);
  2060 / 2070 a date that is not yyyy-mm-dd / not on the calendar; 2170 a value outside an enumeration.
- References: 2500 "Invalid Reference Id" for an id that names nothing, 610 "Object Not Found" for an
  inactive account, vendor, class, department or tax code (Intuit's "handling common errors" page).
- An amount with more decimals than its currency allows (JPY 0, others 2) -> 6000 (UNCONFIRMED; QuickBooks
  may round instead).
- Class or Department given while that tracking is off, or a foreign currency while multicurrency is off
  -> 6000 (UNCONFIRMED: the notes record no answer; refusing is stricter than ignoring).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.reference import CurrencyFacts
from ml_connector.sandbox.quickbooks.store import RealmBooks

ID_PATTERN = re.compile(r"^\d{1,20}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def text(value: object, element: str, maximum: int | None = None, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise errors.required(element)
        return None
    if not isinstance(value, str):
        raise errors.unsupported_property(element)
    if maximum is not None and len(value) > maximum:
        raise errors.string_length(element, maximum, len(value))
    return value


def boolean(value: object, element: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise errors.unsupported_property(element)
    return value


def choice(value: object, element: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    if value is None:
        return default
    if value not in allowed:
        raise errors.invalid_enum(element, value, allowed)
    return str(value)


def day(value: object, element: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        raise errors.invalid_date_format(element, value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.invalid_date(element, value) from None


def amount(value: object, element: str, currency: CurrencyFacts, line: int | None = None) -> Decimal:
    """A non-negative money amount in `currency`, as a Decimal (JSON numbers arrive as Decimal or int)."""
    if value is None:
        raise errors.required(element)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise errors.unsupported_property(element)
    number = Decimal(value)
    if not number.is_finite():
        raise errors.unsupported_property(element)
    if number < 0:
        raise errors.negative_amount(line or 0)
    if number != number.quantize(Decimal(1).scaleb(-currency.precision)):
        where = f"Line {line}: " if line else ""
        raise errors.business(f"{where}{currency.code} amounts allow {currency.precision} decimal places; "
                              f"{element} {value} has more.", element)
    return number


def ref_id(value: object, element: str, required: bool = False) -> str | None:
    """The `value` of a ReferenceType object (`{"value": "12", "name": ...}`)."""
    if value is None:
        if required:
            raise errors.required(element)
        return None
    if not isinstance(value, dict):
        raise errors.unsupported_property(element)
    ref = value.get("value")
    if ref is None or ref == "":
        raise errors.required(f"{element}.value")
    if not isinstance(ref, str):
        raise errors.unsupported_property(f"{element}.value")
    return ref


class References:
    """Checks of ids in a request against one company's books and settings."""

    def __init__(self, books: RealmBooks) -> None:
        self.books = books
        self.profile = books.profile

    def _active(self, entity: str, value: object, element: str, required: bool) -> dict | None:
        ref = ref_id(value, element, required)
        if ref is None:
            return None
        record = self.books.get(entity, ref)
        if record is None:
            raise errors.invalid_reference(entity, ref, element)
        if not record.get("Active", True):
            raise errors.inactive_or_missing(element)
        return record

    def account(self, value: object, element: str) -> dict:
        return self._active("Account", value, element, required=True)

    def vendor(self, value: object, element: str, required: bool = False) -> dict | None:
        return self._active("Vendor", value, element, required)

    def tracked_class(self, value: object, element: str) -> dict | None:
        if value is not None and not self.books.prefs["class_tracking"]:
            raise errors.business("Class tracking is turned off for this company. Turn it on in "
                                  "Preferences or leave ClassRef out.", element)
        return self._active("Class", value, element, required=False)

    def department(self, value: object, element: str) -> dict | None:
        if value is not None and not self.books.prefs["department_tracking"]:
            raise errors.business(f"{self.profile.department_terminology} tracking is turned off for this "
                                  "company. Turn it on in Preferences or leave DepartmentRef out.", element)
        return self._active("Department", value, element, required=False)

    def tax_code(self, value: object, element: str) -> dict | None:
        return self._active("TaxCode", value, element, required=False)

    def currency(self, value: object) -> CurrencyFacts:
        code = ref_id(value, "CurrencyRef")
        home = self.profile.currency(self.profile.home_currency)
        if code is None or code == home.code:
            return home
        facts = self.profile.currency(code)
        if facts is None:
            raise errors.invalid_reference("Currency", code, "CurrencyRef")
        if not self.books.prefs["multicurrency"]:
            raise errors.business(f"Multicurrency is turned off for this company, so transactions must be in "
                                  f"the home currency ({home.code}); this one is in {code}.", "CurrencyRef")
        return facts

    def exchange_rate(self, value: object, currency: CurrencyFacts) -> Decimal | None:
        """None for the home currency; the given rate or the company's rate for that currency otherwise."""
        if currency.code == self.profile.home_currency:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | Decimal)
                                      or Decimal(value) != 1):
                raise errors.business("ExchangeRate must be 1 (or left out) for a home-currency transaction.",
                                      "ExchangeRate")
            return None
        if value is None:
            return currency.rate
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or Decimal(value) <= 0:
            raise errors.unsupported_property("ExchangeRate")
        return Decimal(value)

    def open_period(self, when: date) -> None:
        close = self.books.book_close_date
        if close is not None and when <= close:
            raise errors.period_closed()


def reference(record: dict, name_key: str = "Name") -> dict:
    """A ReferenceType echoing the referenced record's id and name, as responses fill names in."""
    return {"value": record["Id"], "name": record.get("FullyQualifiedName") or record[name_key]}


def sync_token(body: dict, current: dict) -> None:
    """5010 unless the body carries the record's current SyncToken."""
    sent = body.get("SyncToken")
    if sent is None:
        raise errors.required("SyncToken")
    if str(sent) != current["SyncToken"]:
        raise errors.stale_object(sent, current["SyncToken"])


def entity_id(body: dict) -> str | None:
    value = body.get("Id")
    if value is None:
        return None
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise errors.invalid_id("Id", value)
    return value
