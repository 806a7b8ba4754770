"""Expensify reports (as `expensify_export.ftl` renders them) into SpendRecords: one per expense.

- amount: `reportAmount`, the final amount in the report currency (converted, else modified, else original,
  as Expensify's own template picks it), integer cents made Decimal once, here.
- record_date: the report's approval date, because a month partition is the month reports were approved
  in; the expense's own date is kept in tags["expense_date"].
- original_amount/original_currency: what the receipt says, when it is in another currency than the report.
  The rate Expensify converted at (report amount per unit of receipt amount) goes to tags["conversion_rate"],
  not to `exchange_rate`: the record is already in the report currency, and `exchange_rate` is the rate
  from that currency to the ledger's base currency, which Expensify does not know.
- tax_amount/tax_code: the tax Expensify states for the expense when it has tax (the policy's rate id), part
  of the amount: it posts as reclaimable input tax, never as expense.
- department/project: the policy's two tag levels ("Department", "Project"): ntag1/ntag2, or the levels of
  the `tag` string ("Sales:Project X"; a literal colon in a name is escaped as "\\:").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from ml_connector.errors import ValidationRejected
from ml_connector.models import SpendRecord
from ml_connector.money import from_minor_units, round_money

RATE_PLACES = Decimal("0.000001")
_LEVEL_SPLIT = re.compile(r"(?<!\\):")


def report_day(value: object) -> date | None:
    """`yyyy-mm-dd` or `yyyy-mm-dd hh:mm:ss` (blank when absent) as a date."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def report_moment(value: object) -> datetime | None:
    """A report timestamp. Expensify gives no zone (notes §4: unconfirmed); it is read as UTC."""
    text = str(value or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def tag_levels(tag: str) -> list[str]:
    return [level.replace("\\:", ":").strip() for level in _LEVEL_SPLIT.split(tag)] if tag else []


def _cents(value: object, field: str, report_id: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise ValidationRejected(f"Expensify report {report_id}: {field} is {value!r}, not integer cents; check "
                             "expensify_export.ftl.", system="expensify", field=field)


def _tax(expense: dict, amount: Decimal, currency: str, receipt_currency: str,
         report_id: str) -> tuple[Decimal | None, str | None]:
    """The tax Expensify states for an expense (when `hasTax`), in the report currency: `modifiedTaxAmount`
    when set, else `taxAmount`, integer cents in the expense's own currency (converted with the expense's
    own rate when the report is in another)."""
    if not expense.get("hasTax"):
        return None, None
    cents = expense.get("modifiedTaxAmount")
    if cents in (None, ""):
        cents = expense.get("taxAmount")
    if cents in (None, ""):
        return None, None
    tax = from_minor_units(_cents(cents, "taxAmount", report_id), receipt_currency)
    if receipt_currency != currency:
        spent = expense.get("modifiedAmount")
        spent = expense.get("amount") if spent in (None, "") else spent
        spent_amount = from_minor_units(_cents(spent, "amount", report_id), receipt_currency) if spent else None
        if not spent_amount:
            return None, None
        tax = round_money(abs(amount) * tax / abs(spent_amount), currency)
    if amount < 0:
        tax = -abs(tax)
    return tax, str(expense.get("taxCode") or "") or None


def report_to_records(report: dict) -> list[SpendRecord]:
    """One SpendRecord per expense of an exported report."""
    report_id = str(report.get("reportID") or "")
    currency = str(report.get("currency") or "").upper()
    approved_day = report_day(report.get("approved"))
    if not report_id or not currency or approved_day is None:
        raise ValidationRejected(f"Expensify report {report_id or '(no id)'} lacks its id, currency or approval "
                                 "date; only approved reports can be booked.", system="expensify", field="approved")
    records = []
    for expense in report.get("expenses") or []:
        transaction_id = str(expense.get("transactionID") or "")
        amount = from_minor_units(_cents(expense.get("reportAmount"), "reportAmount", report_id), currency)
        receipt_currency = str(expense.get("currency") or currency).upper()
        receipt_cents = expense.get("modifiedAmount")
        if receipt_cents is None:
            receipt_cents = expense.get("amount")
        tags = {"expense_date": str(expense.get("created") or ""), "report_name": str(report.get("reportName") or ""),
                "policy_id": str(report.get("policyID") or "")}
        original_amount = original_currency = None
        if receipt_currency != currency and receipt_cents is not None:
            original_amount = from_minor_units(_cents(receipt_cents, "amount", report_id), receipt_currency)
            original_currency = receipt_currency
            if original_amount:
                tags["conversion_rate"] = str((amount / original_amount).quantize(RATE_PLACES))
        levels = tag_levels(str(expense.get("tag") or ""))
        department = expense.get("ntag1") or (levels[0] if levels else None)
        project = expense.get("ntag2") or (levels[1] if len(levels) > 1 else None)
        if expense.get("tag"):
            tags["tag"] = str(expense["tag"])
        if expense.get("billable"):
            tags["billable"] = "true"
        tax_amount, tax_code = _tax(expense, amount, currency, receipt_currency, report_id)
        receipt = str(expense.get("receiptURL") or "")
        records.append(SpendRecord(
            source="expensify", source_id=transaction_id, parent_id=report_id, record_date=approved_day,
            merchant=str(expense.get("merchant") or ""), amount=amount, currency=currency,
            original_amount=original_amount, original_currency=original_currency,
            category=expense.get("category") or None, gl_code=expense.get("categoryGlCode") or None,
            department=department or None, project=project or None, tags=tags,
            employee_name=report.get("employeeName") or None, employee_email=report.get("employeeEmail") or None,
            memo=expense.get("comment") or None, receipt_urls=(receipt,) if receipt else (),
            tax_amount=tax_amount, tax_code=tax_code,
            status=report.get("state") or None, approved_at=report_moment(report.get("approved"))))
    return records
