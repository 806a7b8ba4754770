"""QuickBooks Online JSON: drafts into JournalEntry and Bill bodies, saved entities back into the engine's models.

Intuit's vocabulary (DocNumber, PrivateNote, JournalEntryLineDetail, AccountBasedExpenseLineDetail, ClassRef,
DepartmentRef, Entity, MetaData.LastUpdatedTime) stays here. Shapes follow the recorded exchanges in
reference/quickbooks/recorded-nango/ and the XSD (Finance.xsd).

- The posting key travels in `DocNumber` in its compact form (`posting_keys.compact`, 18 of the 21 characters
  DocNumber holds) and is expanded back on the way in; an entry whose DocNumber is not one of ours has no key.
- Dimensions: a line's class is its `ClassRef` and its department its `DepartmentRef` (journal lines carry
  both). A bill has one `DepartmentRef` for the whole bill (the XSD has none on expense lines), so a bill whose
  lines name different departments is refused here before it is sent; `preflight` holds such reports first.
- Business locations: in a company whose departments are its business locations (`departments_are_locations`:
  a VAT company tracking them, see `preflight`), an entry's location is its header `DepartmentRef`, and a
  department read back is the entry's location, not a dimension of its lines.
- Amounts are positive JSON numbers with the side in `PostingType`; a journal entry's `TotalAmt` is 0 on
  every recorded read, so totals are summed from the lines (net and VAT of the debits).
- VAT (TaxCodeRef, TaxApplicableOn, TaxAmount, GlobalTaxCalculation): see `tax`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ml_connector.errors import ValidationRejected
from ml_connector.ledgers.quickbooks.tax import INCLUSIVE, PURCHASE, TAXED_MODELS, journal_nets, line_tax
from ml_connector.models import BillDraft, EntrySummary, JournalDraft, LedgerLine, LineTag
from ml_connector.money import to_decimal
from ml_connector.posting_keys import compact, expand

SYSTEM = "quickbooks"
TEXT_LIMIT = 4000  # Line.Description (XSD); PrivateNote's limit is not stated (4000 is folklore: unconfirmed)
CLASS, DEPARTMENT = "class", "department"  # TagOption.tag_id of classes and of departments
TAG_NAMES = {CLASS: "Class", DEPARTMENT: "Department"}  # what a mapping file's dimensions.<x>.tag names
ENTITY = {"journal": "JournalEntry", "bill": "Bill"}
KINDS = {entity: kind for kind, entity in ENTITY.items()}


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wire_number(amount: Decimal) -> float | int:
    """A Decimal as a JSON number, refusing any amount a float cannot carry exactly."""
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount:
        raise ValueError(f"amount {amount} cannot be sent exactly as a JSON number")
    return int(amount) if amount == amount.to_integral_value() else as_float


def ref(value: str) -> dict[str, str]:
    return {"value": value}


def option_id(tag_id: str, entity_id: str) -> str:
    """A class's or department's id as the engine sees it: "class:3", "department:3". QuickBooks numbers
    accounts, classes and departments each from 1, so the bare ids would collide in the engine's name lookups."""
    return f"{tag_id}:{entity_id}"


def entity_id(option: str) -> str:
    return option.split(":", 1)[1] if ":" in option else option


def _tag(tags: tuple[LineTag, ...], tag_id: str) -> str | None:
    return next((entity_id(t.option_id) for t in tags if t.tag_id == tag_id), None)


def _currency(body: dict[str, Any], draft: JournalDraft | BillDraft, home_currency: str) -> None:
    body["CurrencyRef"] = ref(draft.currency)
    if draft.currency != home_currency and draft.exchange_rate is not None:
        body["ExchangeRate"] = wire_number(draft.exchange_rate)  # home-currency units per foreign unit


def journal_body(draft: JournalDraft, home_currency: str, tax_rates: dict[str, Decimal] | None = None
                 ) -> dict[str, Any]:
    """`tax_rates`: percent by tax code id, for drafts whose lines carry VAT."""
    lines = []
    for line in draft.lines:
        detail: dict[str, Any] = {"PostingType": "Debit" if line.side == "debit" else "Credit",
                                  "AccountRef": ref(line.account_id)}
        if line.vendor_id:
            detail["Entity"] = {"Type": "Vendor", "EntityRef": ref(line.vendor_id)}
        if (class_id := _tag(line.tags, CLASS)) is not None:
            detail["ClassRef"] = ref(class_id)
        if (department_id := _tag(line.tags, DEPARTMENT)) is not None:
            detail["DepartmentRef"] = ref(department_id)
        item: dict[str, Any] = {"Amount": wire_number(line.amount), "DetailType": "JournalEntryLineDetail",
                                "JournalEntryLineDetail": detail}
        if line.description:
            item["Description"] = clip(line.description)
        if line.tax_code_id is None:
            lines.append(item)
        else:
            rate = (tax_rates or {}).get(line.tax_code_id)
            if rate is None:
                raise ValidationRejected(f"tax code {line.tax_code_id} is not one of the company's purchase VAT codes "
                                         f"(Taxes > VAT); map the record to one it has", system=SYSTEM,
                                         field="TaxCodeRef")
            lines += [{**item, "Amount": wire_number(net), "JournalEntryLineDetail": {
                **detail, "TaxCodeRef": ref(line.tax_code_id), "TaxApplicableOn": PURCHASE,
                "TaxAmount": wire_number(tax)}} for net, tax in journal_nets(line.amount, rate, draft.currency)]
    body: dict[str, Any] = {"TxnDate": draft.entry_date.isoformat(), "DocNumber": compact(draft.posting_key),
                            "PrivateNote": clip(draft.notes), "Line": lines}
    if draft.location_id:
        body["DepartmentRef"] = ref(entity_id(draft.location_id))
    _currency(body, draft, home_currency)
    return body


def bill_body(draft: BillDraft, home_currency: str) -> dict[str, Any]:
    departments = {_tag(line.tags, DEPARTMENT) for line in draft.lines}
    if draft.location_id:  # the bill's business location is its department
        departments = {entity_id(draft.location_id)} | (departments - {None})
    if len(departments) > 1:
        raise ValidationRejected(f"bill {draft.bill_number} has lines in {len(departments)} departments, and a "
                                 f"QuickBooks bill has one department for all its lines", system=SYSTEM,
                                 field="DepartmentRef")
    lines = []
    for line in draft.lines:
        detail: dict[str, Any] = {"AccountRef": ref(line.account_id)}
        if (class_id := _tag(line.tags, CLASS)) is not None:
            detail["ClassRef"] = ref(class_id)
        if line.tax_code_id is not None:
            detail["TaxCodeRef"] = ref(line.tax_code_id)
        item: dict[str, Any] = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": wire_number(line.amount),
                                "AccountBasedExpenseLineDetail": detail}
        if line.description:
            item["Description"] = clip(line.description)
        lines.append(item)
    # DocNumber carries the key; the report's own number opens the memo, where a person reading the bill sees it.
    body: dict[str, Any] = {"VendorRef": ref(draft.vendor_id or ""), "TxnDate": draft.entry_date.isoformat(),
                            "DocNumber": compact(draft.posting_key),
                            "PrivateNote": clip(f"{draft.bill_number}: {draft.notes}"), "Line": lines}
    if draft.due_date is not None:
        body["DueDate"] = draft.due_date.isoformat()
    if (department_id := departments.pop()) is not None:
        body["DepartmentRef"] = ref(department_id)
    if any(line.tax_code_id is not None for line in draft.lines):
        body["GlobalTaxCalculation"] = INCLUSIVE  # line amounts are gross, as the receipts show them
    _currency(body, draft, home_currency)
    return body


# -- entities back into the engine's models -------------------------------------------------------------


def posting_key_of(entity: dict) -> str | None:
    """Our canonical posting key, when the entry's DocNumber is one we wrote."""
    return expand(str(entity.get("DocNumber") or "").strip())


def _value(reference: Any) -> str | None:
    return str(reference["value"]) if isinstance(reference, dict) and reference.get("value") is not None else None


def _option(tag_id: str, reference: Any) -> str | None:
    value = _value(reference)
    return None if value is None else option_id(tag_id, value)


def currency_of(entity: dict) -> str:
    return _value(entity.get("CurrencyRef")) or ""


def saved_lines(kind: str, entity: dict, departments_are_locations: bool = False) -> tuple[LedgerLine, ...]:
    """The lines of a full JournalEntry or Bill (a create answer, a read, or a query row): each line's `amount`
    its net, `tax_amount` the VAT booked for it. A header department is a dimension of every line, unless the
    company's departments are its business locations (then it is the entry's location)."""
    ident, day = str(entity["Id"]), date.fromisoformat(entity["TxnDate"])
    key, currency = posting_key_of(entity) or "", currency_of(entity)
    header_department = None if departments_are_locations else _option(DEPARTMENT, entity.get("DepartmentRef"))
    taxed = kind == "journal" or entity.get("GlobalTaxCalculation") in TAXED_MODELS
    out = []
    for line in entity.get("Line", []):
        if kind == "journal":
            detail = line.get("JournalEntryLineDetail")
            if detail is None:
                continue
            side = "credit" if detail.get("PostingType") == "Credit" else "debit"
            tags = (_option(CLASS, detail.get("ClassRef")),
                    _option(DEPARTMENT, detail.get("DepartmentRef")) or header_department)
        else:
            detail = line.get("AccountBasedExpenseLineDetail")
            if detail is None:
                continue  # a subtotal or an item line: none of ours
            side = "debit"
            tags = (_option(CLASS, detail.get("ClassRef")), header_department)
        tax, tax_code_id = line_tax(detail, line, taxed=taxed)
        out.append(LedgerLine(ledger_entity_id=ident, posting_key=key, entry_date=day,
                              account_id=str(detail["AccountRef"]["value"]), side=side,
                              amount=to_decimal(line.get("Amount", 0)), currency=currency,
                              tag_option_ids=tuple(t for t in tags if t is not None),
                              tax_amount=tax, tax_code_id=tax_code_id))
    return tuple(out)


def entry_total(kind: str, entity: dict) -> Decimal | None:
    if kind == "bill":
        total = entity.get("TotalAmt")
        return None if total is None else to_decimal(total)
    return sum((line.amount + line.tax_amount for line in saved_lines(kind, entity) if line.side == "debit"),
               Decimal(0))


def is_void(entity: dict) -> bool:
    """A voided journal entry keeps its lines at zero (and its DocNumber); nothing of it counts."""
    lines = [line for line in entity.get("Line", []) if "JournalEntryLineDetail" in line
             or "AccountBasedExpenseLineDetail" in line]
    return bool(lines) and all(to_decimal(line.get("Amount", 0)) == 0 for line in lines)


def summary(kind: str, entity: dict) -> EntrySummary:
    """A query row (queries answer whole entities, lines included)."""
    void = is_void(entity)
    return EntrySummary(kind=kind, ledger_entity_id=str(entity["Id"]), posting_key=posting_key_of(entity),
                        entry_date=date.fromisoformat(entity["TxnDate"]), currency=currency_of(entity),
                        total=entry_total(kind, entity), modified_at=modified_at(entity),
                        status="voided" if void else "active", is_void=void)


def modified_at(entity: dict) -> str | None:
    return (entity.get("MetaData") or {}).get("LastUpdatedTime")
