"""Zoho Books JSON: drafts into request bodies, saved entries and list rows back into the engine's models.

Zoho's vocabulary (reference_number, customer_id, tag_option_id, line_items, last_modified_time) stays here.

Tax (organisations with VAT): a draft line's amount is gross. Bills go inclusive (`is_inclusive_tax`), each
taxed line's `rate` the gross and `tax_id` its tax: Zoho takes the tax out of the gross. Journals have no
inclusive mode: a journal line's amount is net and Zoho adds its tax on the same side, so a taxed line goes as
the net (or the two nets, see `ml_connector.tax.nets_for_gross`) whose amount plus tax is the gross. Read
back, a line's `amount`/`item_total` is the net and `line_item_taxes` its tax.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ml_connector.models import BillDraft, EntrySummary, JournalDraft, LedgerLine
from ml_connector.money import to_decimal
from ml_connector.tax import nets_for_gross

TEXT_LIMIT = 500  # line descriptions and notes


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wire_number(amount: Decimal) -> float | int:
    """A Decimal as a JSON number, refusing any amount a float cannot carry exactly."""
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount.normalize() and Decimal(repr(as_float)) != amount:
        raise ValueError(f"amount {amount} cannot be sent exactly as a JSON number")
    return int(amount) if amount == amount.to_integral_value() else as_float


def _tags(tags) -> list[dict]:
    return [{"tag_id": t.tag_id, "tag_option_id": t.option_id} for t in tags]


def journal_body(draft: JournalDraft, currency_id: str, tax_rates: dict[str, Decimal] | None = None) -> dict[str, Any]:
    """`tax_rates`: percent by tax id, for drafts whose lines carry tax."""
    lines = []
    for line in draft.lines:
        item: dict[str, Any] = {"account_id": line.account_id, "debit_or_credit": line.side,
                                "amount": wire_number(line.amount), "description": clip(line.description)}
        if line.vendor_id:
            item["customer_id"] = line.vendor_id  # Zoho's journal lines carry the contact as customer_id
        if line.project_id:
            item["project_id"] = line.project_id
        if line.tags:
            item["tags"] = _tags(line.tags)
        if line.tax_code_id is None:
            lines.append(item)
            continue
        rate = (tax_rates or {})[line.tax_code_id]
        lines += [{**item, "amount": wire_number(net), "tax_id": line.tax_code_id}
                  for net in nets_for_gross(line.amount, rate, draft.currency)]
    body: dict[str, Any] = {"journal_date": draft.entry_date.isoformat(), "reference_number": draft.posting_key,
                            "notes": clip(draft.notes), "journal_type": "both", "currency_id": currency_id,
                            "line_items": lines}
    if draft.exchange_rate is not None:
        body["exchange_rate"] = wire_number(draft.exchange_rate)
    if draft.location_id:
        body["location_id"] = draft.location_id
    return body


def bill_body(draft: BillDraft, currency_id: str) -> dict[str, Any]:
    lines = []
    for line in draft.lines:
        item: dict[str, Any] = {"account_id": line.account_id, "rate": wire_number(line.amount), "quantity": 1,
                                "description": clip(line.description)}
        if line.project_id:
            item["project_id"] = line.project_id
        if line.tags:
            item["tags"] = _tags(line.tags)
        if line.tax_code_id is not None:
            item["tax_id"] = line.tax_code_id
        lines.append(item)
    body: dict[str, Any] = {"vendor_id": draft.vendor_id, "bill_number": draft.bill_number,
                            "reference_number": draft.posting_key, "date": draft.entry_date.isoformat(),
                            "currency_id": currency_id, "notes": clip(draft.notes), "line_items": lines}
    if any(line.tax_code_id is not None for line in draft.lines):
        body["is_inclusive_tax"] = True  # line rates are gross, as the receipts show them
    if draft.location_id:
        body["location_id"] = draft.location_id
    if draft.due_date is not None:
        body["due_date"] = draft.due_date.isoformat()
    if draft.exchange_rate is not None:
        body["exchange_rate"] = wire_number(draft.exchange_rate)
    return body


def entity_id(kind: str, entry: dict) -> str:
    return str(entry["journal_id" if kind == "journal" else "bill_id"])


def entry_day(kind: str, entry: dict) -> date:
    return date.fromisoformat(entry["journal_date" if kind == "journal" else "date"])


def saved_lines(kind: str, entry: dict, currency: str) -> tuple[LedgerLine, ...]:
    """The lines of a full journal or bill (a POST answer or a GET by id)."""
    ident, day, key = entity_id(kind, entry), entry_day(kind, entry), entry.get("reference_number") or ""
    out = []
    for line in entry.get("line_items", []):
        if kind == "journal":
            amount, side = to_decimal(line["amount"]), line.get("debit_or_credit", "debit")
        else:
            amount, side = to_decimal(line.get("item_total", line.get("rate"))), "debit"
            if amount < 0:  # a credit line on a bill
                amount, side = -amount, "credit"
        taxes = line.get("line_item_taxes") or []
        tax = sum((abs(to_decimal(t.get("tax_amount", 0))) for t in taxes), Decimal(0))
        out.append(LedgerLine(ledger_entity_id=ident, posting_key=key, entry_date=day,
                              account_id=str(line["account_id"]), side=side, amount=amount, currency=currency,
                              tag_option_ids=tuple(str(t.get("tag_option_id")) for t in line.get("tags", [])),
                              tax_amount=tax, tax_code_id=str(line.get("tax_id") or "") or None))
    return tuple(out)


def summary(kind: str, row: dict, currency: str) -> EntrySummary:
    """A list-page row (GET /journals or /bills)."""
    status = str(row.get("status") or "")
    total = row.get("total")
    return EntrySummary(kind=kind, ledger_entity_id=entity_id(kind, row), posting_key=row.get("reference_number")
                        or None, entry_date=entry_day(kind, row), currency=currency,
                        total=None if total in (None, "") else to_decimal(total),
                        modified_at=row.get("last_modified_time"), status=status, is_void=status == "void")
