"""A Bill as QuickBooks stores it, built from a request body that passed the schema check.

Shape as recorded (create-bill, get-bill): DueDate defaults to TxnDate, Balance = TotalAmt (the sandbox
records no payments), APAccountRef defaults to the company's Accounts Payable account, VendorRef and
AccountRef names filled in, lines numbered "1".. with LineNum, `LinkedTxn: []`, BillableStatus
"NotBillable", TaxCodeRef {"value": "NON"} in the US company, `CustomExtensions: []`, and
`MetaData.LastModifiedByRef`.

Rules, in the order they are checked:
- 6000 "When you use Accounts Payable, you must choose a vendor in the Name field." without VendorRef
  (Intuit's message as Expensify documents it); 2500 / 610 unknown or inactive vendor.
- 6000 APAccountRef that is not an Accounts Payable account; 6000 a CurrencyRef other than the vendor's
  currency (notes section 9: a vendor's currency is fixed; code UNCONFIRMED); 2500 SalesTermRef (the sandbox
  company has no terms); GlobalTaxCalculation 2170 outside its enum, and in the US company only
  NotApplicable is accepted (6000, UNCONFIRMED).
- Lines: 2250 none; DetailType AccountBasedExpenseLineDetail only (ItemBasedExpenseLineDetail names an
  item, and the sandbox company has none: 2500); Amount, AccountRef, ClassRef as for journals; CustomerRef
  2500 (no customers); BillableStatus enum.
- VAT ("uk"): a line on an expense account needs TaxCodeRef (6000, recorded text); VAT per `tax`;
  TotalAmt = net + VAT. A Department (header DepartmentRef) is required while department tracking is on.
- 6200 closed period, 6140 duplicate DocNumber (see `transactions`).
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.journals import line_list
from ml_connector.sandbox.quickbooks.records import entity_head
from ml_connector.sandbox.quickbooks.reference import EXPENSE_ACCOUNT_TYPES, CurrencyFacts
from ml_connector.sandbox.quickbooks.store import RealmBooks
from ml_connector.sandbox.quickbooks.tax import LineTax, line_tax, quantize, txn_tax_detail
from ml_connector.sandbox.quickbooks.validation import (
    References,
    amount,
    choice,
    day,
    ref_id,
    reference,
    text,
)

GLOBAL_TAX = ("TaxExcluded", "TaxInclusive", "NotApplicable")  # XSD GlobalTaxCalculationEnum
BILLABLE = ("Billable", "NotBillable", "HasBeenBilled")
LINE_TYPES = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")


def payable_account(books: RealmBooks, refs: References, value: object) -> dict:
    if value is None:
        return min((a for a in books.newest_first("Account") if a["AccountType"] == "Accounts Payable"
                    and a["Active"] and a["CurrencyRef"]["value"] == books.profile.home_currency),
                   key=lambda a: int(a["Id"]))
    account = refs.account(value, "APAccountRef")
    if account["AccountType"] != "Accounts Payable":
        raise errors.business(f"APAccountRef must be an Accounts Payable account; {account['Name']} is "
                              f"{account['AccountType']}.", "APAccountRef")
    return account


def global_tax(books: RealmBooks, value: object) -> str | None:
    if not books.profile.is_vat:
        if choice(value, "GlobalTaxCalculation", GLOBAL_TAX, "NotApplicable") != "NotApplicable":
            raise errors.business("GlobalTaxCalculation is for companies that charge VAT or GST; this company "
                                  "does not. Leave it out.", "GlobalTaxCalculation")
        return None
    return choice(value, "GlobalTaxCalculation", GLOBAL_TAX, "TaxExcluded")


def bill_line(books: RealmBooks, refs: References, raw: dict, index: int, currency: CurrencyFacts,
              calculation: str | None) -> tuple[dict, LineTax | None]:
    detail_type = choice(raw.get("DetailType"), "DetailType", LINE_TYPES)
    if detail_type is None:
        raise errors.required("Line.DetailType")
    if detail_type == "ItemBasedExpenseLineDetail":
        item = (raw.get(detail_type) or {}).get("ItemRef") or {}
        raise errors.invalid_reference("Item", item.get("value"), "ItemRef")
    detail = raw.get(detail_type)
    if not isinstance(detail, dict):
        raise errors.required(detail_type)
    entered = amount(raw.get("Amount"), "Amount", currency, index)
    description = text(raw.get("Description"), "Description", 4000)
    account = refs.account(detail.get("AccountRef"), "AccountRef")
    klass = refs.tracked_class(detail.get("ClassRef"), "ClassRef")
    if detail.get("CustomerRef") is not None:
        raise errors.invalid_reference("Customer", ref_id(detail["CustomerRef"], "CustomerRef"), "CustomerRef")
    billable = choice(detail.get("BillableStatus"), "BillableStatus", BILLABLE, "NotBillable")
    echoed: dict = {}
    if klass:
        echoed["ClassRef"] = reference(klass)
    echoed.update({"AccountRef": reference(account), "BillableStatus": billable})
    code = refs.tax_code(detail.get("TaxCodeRef"), "TaxCodeRef")
    vat = None
    net = entered
    if not books.profile.is_vat:
        echoed["TaxCodeRef"] = {"value": code["Id"] if code else "NON"}
    elif code is None:
        if account["AccountType"] in EXPENSE_ACCOUNT_TYPES:
            raise errors.business(errors.VAT_RATE_MISSING, "TaxCodeRef")
    else:
        inclusive = calculation == "TaxInclusive"
        if inclusive and detail.get("TaxInclusiveAmt") is not None:
            entered = amount(detail["TaxInclusiveAmt"], "TaxInclusiveAmt", currency, index)
        supplied = detail.get("TaxAmount")
        if supplied is not None:
            supplied = amount(supplied, "TaxAmount", currency, index)
        if calculation != "NotApplicable":
            vat = line_tax(books.profile.tax_code(code["Id"]), "Purchase", entered, inclusive,
                           currency.precision, supplied, index)
        if vat is not None:
            net = vat.net
            echoed["TaxAmount"] = vat.tax
        echoed["TaxCodeRef"] = {"value": code["Id"]}
        if inclusive:
            echoed["TaxInclusiveAmt"] = entered
    line: dict = {"Id": str(index), "LineNum": index}
    if description:
        line["Description"] = description
    line.update({"Amount": net, "LinkedTxn": [], "DetailType": "AccountBasedExpenseLineDetail",
                 "AccountBasedExpenseLineDetail": echoed, "CustomExtensions": []})
    return line, vat


def bill(books: RealmBooks, body: dict, entity_id: str, sync: int, created: str, updated: str) -> dict:
    refs = References(books)
    profile = books.profile
    if body.get("VendorRef") is None:
        raise errors.business(errors.NO_VENDOR_ON_PAYABLES, "VendorRef")
    vendor = refs.vendor(body["VendorRef"], "VendorRef", required=True)
    payable = payable_account(books, refs, body.get("APAccountRef"))
    doc_number = text(body.get("DocNumber"), "DocNumber", 21)
    txn_date = day(body.get("TxnDate"), "TxnDate") or books.today()
    due_date = day(body.get("DueDate"), "DueDate") or txn_date
    note = text(body.get("PrivateNote"), "PrivateNote", 4000)
    currency = refs.currency(body.get("CurrencyRef"))
    rate = refs.exchange_rate(body.get("ExchangeRate"), currency)
    if currency.code != vendor["CurrencyRef"]["value"]:
        raise errors.business(f"The bill is in {currency.code} but vendor {vendor['DisplayName']} uses "
                              f"{vendor['CurrencyRef']['value']}; a bill must be in its vendor's currency.",
                              "CurrencyRef")
    if body.get("SalesTermRef") is not None:
        raise errors.invalid_reference("Term", ref_id(body["SalesTermRef"], "SalesTermRef"), "SalesTermRef")
    calculation = global_tax(books, body.get("GlobalTaxCalculation"))
    department = refs.department(body.get("DepartmentRef"), "DepartmentRef")
    lines, taxes = [], []
    for index, raw in enumerate(line_list(body), start=1):
        line, vat = bill_line(books, refs, raw, index, currency, calculation)
        lines.append(line)
        if vat is not None:
            taxes.append(vat)
    if profile.is_vat and books.prefs["department_tracking"] and department is None:
        raise errors.business(f"A {profile.department_terminology} is required on every transaction in this "
                              "company. Set DepartmentRef on the bill.", "DepartmentRef")
    refs.open_period(txn_date)
    total = sum((line["Amount"] for line in lines), Decimal(0)) + sum((t.tax for t in taxes), Decimal(0))
    record: dict = {"DueDate": due_date.isoformat(), "Balance": total,
                    **entity_head(entity_id, sync, created, updated)}
    record["MetaData"] = {"CreateTime": created, "LastModifiedByRef": {"value": profile.user_id},
                          "LastUpdatedTime": updated}
    if doc_number:
        record["DocNumber"] = doc_number
    record["TxnDate"] = txn_date.isoformat()
    if department:
        record["DepartmentRef"] = reference(department)
    record["CurrencyRef"] = profile.currency_ref(currency.code)
    if rate is not None:
        record["ExchangeRate"] = rate
    if note:
        record["PrivateNote"] = note
    record["Line"] = lines
    if calculation is not None:
        record["TxnTaxDetail"] = txn_tax_detail(taxes) if taxes else {"TotalTax": Decimal(0)}
    record["VendorRef"] = reference(vendor, "DisplayName")
    record["APAccountRef"] = reference(payable)
    if calculation is not None:
        record["GlobalTaxCalculation"] = calculation
    record["TotalAmt"] = total
    if rate is not None:
        home_precision = profile.currency(profile.home_currency).precision
        record["HomeBalance"] = quantize(total * rate, home_precision)
    return record
