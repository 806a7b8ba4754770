"""A journal or bill request body checked and parsed, before anything is stored; and a saved record turned
back into the body that would save it again, so that `PUT` can merge a partial body into it.

Creating and updating parse the same way: an update is the saved entry's body with the request's
top-level keys laid over it (`line_items`, when given, replace every line, as bills.yml says: "To delete
a line item just remove it from the line_items list"). A line that names the `line_id` /
`line_item_id` of a saved line keeps that id. Rules per organisation live in `zoho_taxes` (VAT) and
`zoho_locations` (business locations); the rest in `zoho_validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ml_connector.sandbox.zoho_locations import ZohoLocation, entry_location
from ml_connector.sandbox.zoho_records import ZohoError, invalid
from ml_connector.sandbox.zoho_reference import ZohoCurrency, ZohoReference
from ml_connector.sandbox.zoho_taxes import ZohoTax, line_tax, split_amount, tax_on_net
from ml_connector.sandbox.zoho_validation import Checker, check_balanced, parse_amount, parse_date

# VAT treatments of a UK vendor or customer (bills.yml / journals.yml `vat_treatment`, UK edition).
VAT_TREATMENTS = ("uk", "eu_vat_registered", "eu_vat_not_registered", "non_eu", "overseas")
PRODUCT_TYPES = ("digital_service", "goods", "service")
# UK VAT keys the sandbox does not model; refused rather than silently dropped.
UNMODELLED_VAT_KEYS = ("acquisition_vat_id", "reverse_charge_vat_id")


def parse_quantity(value: object) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise invalid("quantity", "Send a positive number.") from None
    if isinstance(value, bool) or not quantity.is_finite() or quantity <= 0:
        raise invalid("quantity", "Send a positive number.")
    return quantity


@dataclass
class JournalLine:
    body: dict
    account_id: str
    side: str
    amount: Decimal
    customer: dict | None
    tags: list[dict]
    tax: ZohoTax | None = None
    tax_amount: Decimal = Decimal(0)
    location: ZohoLocation | None = None


@dataclass
class ParsedJournal:
    body: dict
    journal_date: date
    currency: ZohoCurrency
    rate: Decimal
    journal_type: str
    status: str
    header_tags: list[dict]
    lines: list[JournalLine]
    location: ZohoLocation | None
    uk: dict = field(default_factory=dict)  # vat_treatment, include_in_vat_return, product_type

    @property
    def line_item_total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.side == "debit"), Decimal(0))

    @property
    def total(self) -> Decimal:
        return sum((line.amount + line.tax_amount for line in self.lines if line.side == "debit"), Decimal(0))


@dataclass
class BillLine:
    body: dict
    account_id: str
    rate: Decimal
    quantity: Decimal
    net: Decimal
    tax_amount: Decimal
    tags: list[dict]
    tax: ZohoTax | None = None
    location: ZohoLocation | None = None

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax_amount


@dataclass
class ParsedBill:
    body: dict
    vendor: dict
    bill_number: str
    bill_date: date
    due_date: date
    terms: int
    currency: ZohoCurrency
    rate: Decimal
    header_tags: list[dict]
    lines: list[BillLine]
    is_inclusive_tax: bool
    location: ZohoLocation | None = None
    vat_treatment: str = ""

    @property
    def sub_total(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal(0))

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax_amount for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.sub_total + self.tax_total


def _uk_header(ref: ZohoReference, body: dict, keys: tuple[str, ...]) -> dict:
    """The UK-only header keys of an entry, checked; {} for an organisation without tax."""
    if not ref.is_tax_enabled:
        return {}
    if body.get("tax_treatment") not in (None, ""):  # the GCC/MX/KE/ZA key; the UK edition uses vat_treatment
        raise invalid("tax_treatment", "A UK organization takes vat_treatment: " + ", ".join(VAT_TREATMENTS) + ".")
    out = {"vat_treatment": Checker.choice(body, "vat_treatment", VAT_TREATMENTS, "uk")}
    if "product_type" in keys:
        product = body.get("product_type") or ""
        if product and product not in PRODUCT_TYPES:
            raise invalid("product_type", f"Use one of: {', '.join(PRODUCT_TYPES)}.")
        out["product_type"] = product
    if "include_in_vat_return" in keys:
        flag = body.get("include_in_vat_return", False)
        if not isinstance(flag, bool):
            raise invalid("include_in_vat_return", "Send true or false.")
        out["include_in_vat_return"] = flag
    return out


def _refuse_unmodelled(ref: ZohoReference, line: dict) -> None:
    for key in UNMODELLED_VAT_KEYS:
        if ref.is_tax_enabled and line.get(key):
            raise invalid(key, "Acquisition and reverse-charge VAT are not modelled by the sandbox.")


def parse_journal(ref: ZohoReference, check: Checker, body: dict) -> ParsedJournal:
    journal_date = parse_date(body.get("journal_date"), "journal_date")
    currency = check.currency(body.get("currency_id"))
    rate = check.exchange_rate(body, currency)
    journal_type = Checker.choice(body, "journal_type", ("both", "cash"), "both")
    status = Checker.choice(body, "status", ("draft", "published"), "published")
    header_tags = check.tags(body.get("tags"), "the journal")
    uk = _uk_header(ref, body, ("vat_treatment", "include_in_vat_return", "product_type"))
    location = entry_location(ref.locations, body.get("location_id"), "the journal")
    lines = body.get("line_items")
    if not isinstance(lines, list) or len(lines) < 2:
        raise invalid("line_items", "A journal needs at least one debit line and one credit line.")
    parsed = []
    totals = {"debit": Decimal(0), "credit": Decimal(0)}
    precision = currency.currency.precision
    for index, line in enumerate(lines, start=1):
        where = f"line item {index}"
        if not isinstance(line, dict):
            raise invalid("line_items")
        account_id = check.account(line.get("account_id"), where)
        side = Checker.choice(line, "debit_or_credit", ("debit", "credit"), "")
        amount = parse_amount(line.get("amount"), "amount", currency)
        customer = check.contact(line["customer_id"]) if line.get("customer_id") else None
        tags = check.tags(line.get("tags"), where)
        check.mandatory_tags(tags, where)
        item = JournalLine(line, account_id, side, amount, customer, tags)
        if ref.is_tax_enabled:
            _refuse_unmodelled(ref, line)
            item.tax = line_tax(ref.taxes, line.get("tax_id"), where, required=False)
            item.tax_amount = tax_on_net(amount, item.tax, precision)
        item.location = entry_location(ref.locations, line.get("location_id"), where, default=location)
        totals[side] += item.amount + item.tax_amount
        parsed.append(item)
    check_balanced(totals["debit"], totals["credit"], currency)
    return ParsedJournal(body, journal_date, currency, rate, journal_type, status, header_tags, parsed,
                         location, uk)


def parse_bill(ref: ZohoReference, check: Checker, body: dict) -> ParsedBill:
    if not body.get("vendor_id"):
        raise ZohoError(400, 2, "vendor_id is required. Send the contact_id of the vendor.")
    vendor = check.contact(body["vendor_id"], "Vendor")
    bill_number = str(body.get("bill_number") or "").strip()
    if not bill_number:
        raise ZohoError(400, 2, "bill_number is required and must be unique within the organization.")
    bill_date = parse_date(body.get("date"), "date", required=False) or date.today()
    terms = body.get("payment_terms", 0)
    if isinstance(terms, bool) or not isinstance(terms, int) or terms < 0:
        raise invalid("payment_terms", "Send a whole number of days, e.g. 30.")
    due_date = parse_date(body.get("due_date"), "due_date", required=False) or \
        bill_date + timedelta(days=terms)
    currency = check.currency(body.get("currency_id"))
    rate = check.exchange_rate(body, currency)
    header_tags = check.tags(body.get("tags"), "the bill")
    inclusive = body.get("is_inclusive_tax", False)
    if not ref.is_tax_enabled:
        inclusive = bool(inclusive)  # echoed as before; without tax it changes nothing
    elif not isinstance(inclusive, bool):
        raise invalid("is_inclusive_tax", "Send true or false.")
    uk = _uk_header(ref, body, ("vat_treatment",))
    location = entry_location(ref.locations, body.get("location_id"), "the bill")
    lines = body.get("line_items")
    if not isinstance(lines, list) or not lines:
        raise invalid("line_items", "A bill needs at least one line item.")
    parsed = []
    precision = currency.currency.precision
    for index, line in enumerate(lines, start=1):
        where = f"line item {index}"
        if not isinstance(line, dict):
            raise invalid("line_items")
        account_id = check.account(line.get("account_id"), where)
        rate_value = parse_amount(line.get("rate"), "rate", currency, allow_zero=True)
        quantity = parse_quantity(line.get("quantity", 1))
        amount = (rate_value * quantity).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)
        tags = check.tags(line.get("tags"), where)
        tax = None
        if ref.is_tax_enabled:
            _refuse_unmodelled(ref, line)
            product = line.get("product_type") or ""
            if product and product not in PRODUCT_TYPES:
                raise invalid("product_type", f"Use one of: {', '.join(PRODUCT_TYPES)}.")
            tax = line_tax(ref.taxes, line.get("tax_id"), where, required=True)
        net, tax_amount = split_amount(amount, tax, inclusive, precision)
        item = BillLine(line, account_id, rate_value, quantity, net, tax_amount, tags, tax)
        item.location = entry_location(ref.locations, line.get("location_id"), where, default=location)
        parsed.append(item)
    return ParsedBill(body, vendor, bill_number, bill_date, due_date, terms, currency, rate, header_tags,
                      parsed, inclusive, location, uk.get("vat_treatment", ""))


# --- saved record -> request body -----------------------------------------------------------------------

def _tag_refs(tags: list[dict]) -> list[dict]:
    return [{"tag_id": t["tag_id"], "tag_option_id": t["tag_option_id"]} for t in tags]


def journal_body(record: dict) -> dict:
    """The body that would save `record` again (line ids included, so they are kept)."""
    body = {key: record[key] for key in ("journal_date", "reference_number", "notes", "journal_type",
                                          "currency_id", "exchange_rate", "status")}
    body["custom_fields"] = record["custom_fields"] or []
    body["tags"] = _tag_refs(record["tags"])
    for key in ("location_id", "vat_treatment", "include_in_vat_return", "product_type"):
        if key in record:
            body[key] = record[key]
    body["line_items"] = [{
        "line_id": line["line_id"], "account_id": line["account_id"], "customer_id": line["customer_id"],
        "description": line["description"], "debit_or_credit": line["debit_or_credit"],
        "amount": line["amount"], "project_id": line["project_id"], "tags": _tag_refs(line["tags"]),
        "tax_id": line["tax_id"], **({"location_id": line["location_id"]} if "location_id" in line else {}),
    } for line in record["line_items"]]
    return body


def bill_body(record: dict) -> dict:
    body = {key: record[key] for key in ("vendor_id", "bill_number", "date", "due_date", "payment_terms",
                                          "reference_number", "currency_id", "exchange_rate",
                                          "is_inclusive_tax", "notes", "custom_fields")}
    body["tags"] = _tag_refs(record["tags"])
    for key in ("location_id", "vat_treatment"):
        if key in record:
            body[key] = record[key]
    body["line_items"] = [{
        "line_item_id": line["line_item_id"], "account_id": line["account_id"], "name": line["name"],
        "description": line["description"], "rate": line["rate"], "quantity": line["quantity"],
        "tags": _tag_refs(line["tags"]), "tax_id": line["tax_id"], "is_billable": line["is_billable"],
        "customer_id": line["customer_id"], "project_id": line["project_id"],
        **{key: line[key] for key in ("location_id", "product_type") if key in line},
    } for line in record["line_items"]]
    return body


def merged_body(saved: dict, changes: dict) -> dict:
    """The saved body with the request's top-level keys laid over it. A new `date` or `payment_terms`
    without a `due_date` lets the due date follow the terms again."""
    merged = {**saved, **changes}
    if "due_date" in saved and "due_date" not in changes and ({"date", "payment_terms"} & changes.keys()):
        merged.pop("due_date")
    return merged
