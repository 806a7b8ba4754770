"""A JournalEntry as QuickBooks stores it, built from a request body that passed the schema check.

Shape as recorded (create-journal-entry, get-journal-entry): `Adjustment`, `TotalAmt: 0` (recorded on
every sandbox read, so it is kept at 0 here too; clients must not derive totals from it), CurrencyRef with
its name, AccountRef names filled in, lines numbered from "0" by position, `CustomExtensions: []` on each
line, `TxnTaxDetail: {}` when no VAT applies.

Rules, in the order they are checked (codes in `errors`/`validation`):
- 2250 no lines; per line 2020/2170 DetailType (only JournalEntryLineDetail), 2020 Amount, 2290 negative,
  2260 PostingType missing, 2170 PostingType invalid, 2020/2500/610 AccountRef, Entity (Type Vendor; the
  sandbox has no customers or employees, so other types name nothing: 2500), Class and Department (6000 when
  that tracking is off).
- 6000 a line on an Accounts Payable account without a Vendor entity (Intuit's message), and the same for
  Accounts Receivable without a Customer.
- VAT ("uk"): 6000 "Make sure all your transactions have a VAT rate before you save." (recorded) for a line
  on an expense account without TaxCodeRef; TaxApplicableOn is then required (2020); TaxAmount is
  computed (`tax`). A US company refuses TaxCodeRef on journal lines (6000; the XSD says tax codes on
  journal lines are "For Non US/CA Companies").
- 6000 "uk" with department tracking on: a Department (header or every line) is required (UNCONFIRMED).
- 2300 debits (Amount + TaxAmount of Debit lines) differ from credits.
- 6200 a TxnDate on or before the books' closing date; 6140 a DocNumber in use by another live journal
  entry or bill (see `transactions`).
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.records import entity_head
from ml_connector.sandbox.quickbooks.reference import EXPENSE_ACCOUNT_TYPES, CurrencyFacts
from ml_connector.sandbox.quickbooks.store import RealmBooks
from ml_connector.sandbox.quickbooks.tax import LineTax, line_tax, txn_tax_detail
from ml_connector.sandbox.quickbooks.validation import (
    References,
    amount,
    boolean,
    choice,
    day,
    ref_id,
    reference,
    text,
)

POSTING_TYPES = ("Debit", "Credit")
ENTITY_TYPES = ("Customer", "Employee", "Job", "Other", "Vendor")  # XSD EntityTypeEnum
BILLABLE = ("Billable", "NotBillable", "HasBeenBilled")
TAX_APPLICABLE_ON = ("Purchase", "Sales")


def line_list(body: dict) -> list[dict]:
    lines = body.get("Line")
    if lines is None or lines == []:
        raise errors.missing_lines()
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise errors.unsupported_property("Line")
    return lines


def line_entity(refs: References, value: object) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.unsupported_property("Entity")
    entity_type = choice(value.get("Type"), "Entity.Type", ENTITY_TYPES)
    if entity_type is None:
        raise errors.required("Entity.Type")
    ref = ref_id(value.get("EntityRef"), "Entity.EntityRef", required=True)
    if entity_type != "Vendor":
        raise errors.invalid_reference(entity_type, ref, "Entity.EntityRef")
    vendor = refs.vendor(value["EntityRef"], "Entity.EntityRef", required=True)
    return {"Type": "Vendor", "EntityRef": reference(vendor, "DisplayName")}


def line_vat(books: RealmBooks, refs: References, detail: dict, account: dict, net: Decimal,
             currency: CurrencyFacts, index: int) -> tuple[dict, LineTax | None]:
    """The line's tax keys as echoed, and its VAT (None without a rated code)."""
    code = refs.tax_code(detail.get("TaxCodeRef"), "TaxCodeRef")
    if not books.profile.is_vat:
        if code is not None:
            raise errors.business("Tax codes on journal lines are for companies that charge VAT or GST; this "
                                  "company does not. Leave TaxCodeRef out.", "TaxCodeRef")
        return {}, None
    if code is None:
        if account["AccountType"] in EXPENSE_ACCOUNT_TYPES:
            raise errors.business(errors.VAT_RATE_MISSING, "TaxCodeRef")
        return {}, None
    applicable_on = choice(detail.get("TaxApplicableOn"), "TaxApplicableOn", TAX_APPLICABLE_ON)
    if applicable_on is None:
        raise errors.required("TaxApplicableOn")
    supplied = detail.get("TaxAmount")
    if supplied is not None:
        supplied = amount(supplied, "TaxAmount", currency, index)
    vat = line_tax(books.profile.tax_code(code["Id"]), applicable_on, net, False, currency.precision, supplied,
                   index)
    echoed = {"TaxCodeRef": {"value": code["Id"]}, "TaxApplicableOn": applicable_on}
    if vat is not None:
        echoed["TaxAmount"] = vat.tax
    return echoed, vat


def journal_entry(books: RealmBooks, body: dict, entity_id: str, sync: int, created: str, updated: str) -> dict:
    refs = References(books)
    profile = books.profile
    doc_number = text(body.get("DocNumber"), "DocNumber", 21)
    txn_date = day(body.get("TxnDate"), "TxnDate") or books.today()
    note = text(body.get("PrivateNote"), "PrivateNote", 4000)
    currency = refs.currency(body.get("CurrencyRef"))
    rate = refs.exchange_rate(body.get("ExchangeRate"), currency)
    adjustment = boolean(body.get("Adjustment"), "Adjustment", False)
    header_department = refs.department(body.get("DepartmentRef"), "DepartmentRef")
    lines, taxes = [], []
    totals = {"Debit": Decimal(0), "Credit": Decimal(0)}
    every_line_has_department = True
    for index, raw in enumerate(line_list(body), start=1):
        detail_type = choice(raw.get("DetailType"), "DetailType", ("JournalEntryLineDetail",))
        if detail_type is None:
            raise errors.required("Line.DetailType")
        detail = raw.get("JournalEntryLineDetail")
        if not isinstance(detail, dict):
            raise errors.required("JournalEntryLineDetail")
        net = amount(raw.get("Amount"), "Amount", currency, index)
        if detail.get("PostingType") is None:
            raise errors.missing_posting_type(index)
        posting = choice(detail["PostingType"], "PostingType", POSTING_TYPES)
        description = text(raw.get("Description"), "Description", 4000)
        account = refs.account(detail.get("AccountRef"), "AccountRef")
        entity = line_entity(refs, detail.get("Entity"))
        if account["AccountType"] == "Accounts Payable" and entity is None:
            raise errors.business(errors.NO_VENDOR_ON_PAYABLES, "Entity")
        if account["AccountType"] == "Accounts Receivable":
            raise errors.business(errors.NO_CUSTOMER_ON_RECEIVABLES, "Entity")
        klass = refs.tracked_class(detail.get("ClassRef"), "ClassRef")
        department = refs.department(detail.get("DepartmentRef"), "DepartmentRef")
        every_line_has_department &= department is not None
        vat_keys, vat = line_vat(books, refs, detail, account, net, currency, index)
        billable = choice(detail.get("BillableStatus"), "BillableStatus", BILLABLE)
        totals[posting] += net + (vat.tax if vat else 0)
        if vat is not None:
            taxes.append(vat)
        echoed: dict = {"PostingType": posting}
        if entity:
            echoed["Entity"] = entity
        echoed["AccountRef"] = reference(account)
        if klass:
            echoed["ClassRef"] = reference(klass)
        if department:
            echoed["DepartmentRef"] = reference(department)
        echoed.update(vat_keys)
        if billable:
            echoed["BillableStatus"] = billable
        line: dict = {"Id": str(index - 1)}
        if description:
            line["Description"] = description
        line.update({"Amount": net, "DetailType": "JournalEntryLineDetail", "JournalEntryLineDetail": echoed,
                     "CustomExtensions": []})
        lines.append(line)
    if profile.is_vat and books.prefs["department_tracking"] and header_department is None \
            and not every_line_has_department:
        raise errors.business(f"A {profile.department_terminology} is required on every transaction in this "
                              "company. Set DepartmentRef on the entry or on every line.", "DepartmentRef")
    if totals["Debit"] != totals["Credit"]:
        raise errors.unbalanced(totals["Debit"], totals["Credit"], currency.code)
    refs.open_period(txn_date)
    record: dict = {"Adjustment": adjustment, "TotalAmt": Decimal(0),
                    **entity_head(entity_id, sync, created, updated)}
    if doc_number:
        record["DocNumber"] = doc_number
    record["TxnDate"] = txn_date.isoformat()
    if header_department:
        record["DepartmentRef"] = reference(header_department)
    record["CurrencyRef"] = profile.currency_ref(currency.code)
    if rate is not None:
        record["ExchangeRate"] = rate
    if note:
        record["PrivateNote"] = note
    record["Line"] = lines
    record["TxnTaxDetail"] = txn_tax_detail(taxes) if taxes else {}
    return record


def voided_journal(record: dict, sync: int, updated: str) -> dict:
    """What voiding leaves: the entry and its number stay, every amount becomes 0 (UNCONFIRMED details:
    PrivateNote becomes "Voided", TxnTaxDetail empties)."""
    lines = []
    for line in record["Line"]:
        detail = dict(line["JournalEntryLineDetail"])
        if "TaxAmount" in detail:
            detail["TaxAmount"] = Decimal(0)
        lines.append({**line, "Amount": Decimal(0), "JournalEntryLineDetail": detail})
    voided = {**record, "SyncToken": str(sync),
              "MetaData": {**record["MetaData"], "LastUpdatedTime": updated},
              "PrivateNote": "Voided", "Line": lines, "TxnTaxDetail": {}, "_status": "voided"}
    return voided
