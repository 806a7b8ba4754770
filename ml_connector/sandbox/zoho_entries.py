"""Journal and bill records as Zoho Books returns them, built from an already validated request body.

Key sets and JSON types follow the recorded create/get responses (recorded-nango create-journal,
get-journal, create-bill, get-bill). Keys starting with `_` are the sandbox's own bookkeeping and are
stripped before a record goes on the wire.
"""

from __future__ import annotations

from decimal import Decimal

from ml_connector.sandbox.zoho_drafts import BillLine, ParsedBill, ParsedJournal
from ml_connector.sandbox.zoho_locations import location_fields
from ml_connector.sandbox.zoho_records import journal_line_record
from ml_connector.sandbox.zoho_reference import ZohoReference, plain, to_wire_number
from ml_connector.sandbox.zoho_taxes import bill_tax_summary, journal_tax_summary, line_tax_fields
from ml_connector.sandbox.zoho_validation import to_base


def journal_record(ref: ZohoReference, parsed: ParsedJournal, journal_id: str, entry_number: str,
                   line_ids: list[str], comment_id: str) -> dict:
    body, currency, rate, journal_date = parsed.body, parsed.currency, parsed.rate, parsed.journal_date
    journal_type, status, header_tags = parsed.journal_type, parsed.status, parsed.header_tags
    total = parsed.total
    c = currency.currency
    stamp = ref.timestamp()
    lines = []
    for order, (item, line_id) in enumerate(zip(parsed.lines, line_ids, strict=True), start=1):
        record = journal_line_record(
            line_id, order, item.account_id, ref.accounts[item.account_id].name, item.body,
            to_wire_number(item.amount), to_wire_number(to_base(item.amount, rate, ref)),
            item.customer["contact_name"] if item.customer else "", item.tags)
        if item.tax is not None:  # untaxed lines keep the recorded empty tax keys
            record.update(line_tax_fields(item.tax, item.tax_amount))
        if ref.has_locations:
            record.update(location_fields(item.location))
        lines.append(record)
    bcy_total = to_base(total, rate, ref)
    shown_total = f"{c.symbol}{total:,.{c.precision}f}"
    record = {
        "journal_id": journal_id, "entry_number": entry_number, "reversal_date": "",
        "is_period_end_journal": False, "fiscal_year": journal_date.year, "journal_template_name": "",
        "reference_number": str(body.get("reference_number") or ""), "journal_number_prefix": "",
        "journal_number_suffix": entry_number, "notes": str(body.get("notes") or ""),
        "is_scheduled_reversal": False, "currency_id": currency.currency_id, "currency_code": c.code,
        "currency_symbol": c.symbol, "exchange_rate": to_wire_number(rate),
        "journal_date": journal_date.isoformat(), "journal_type": journal_type, "status": status,
        "branch_difference": [], "line_items": lines, "line_item_total": to_wire_number(parsed.line_item_total),
        "documents": [], "total": to_wire_number(total), "bcy_total": to_wire_number(bcy_total),
        "price_precision": c.precision,
        "taxes": journal_tax_summary([(i.tax, i.side, i.tax_amount) for i in parsed.lines]),
        "available_receivables_credits": 0,
        "available_payables_credits": 0, "created_time": stamp, "last_modified_time": stamp,
        "comments": [{
            "comment_id": comment_id, "comment_type": "system", "commented_by_id": ref.user_id,
            "commented_by": ref.user_name, "description": f"Journal created for {shown_total}",
            "date": stamp[:10], "operation_type": "Added", "transaction_type": "journal"}],
        "project_id": "", "project_name": "", "imported_transactions": [],
        # Recorded responses show an empty string, not a list, when a journal has no custom fields.
        "custom_fields": plain(body.get("custom_fields")) or "",
        "invoices_credited": [], "bills_credited": [], "is_accrual_journal": False, "tags": header_tags,
        "approvers_list": [], "submitted_date": "", "submitted_by": "", "submitted_by_name": "",
        "submitted_by_email": "", "submitted_by_photo_url": "", "submitter_id": "", "approver_id": "",
        "_created_by_id": ref.user_id, "_created_by_name": ref.user_name,
    }
    record.update(parsed.uk)
    if ref.has_locations:
        record.update(location_fields(parsed.location))
    return record


def bill_line_record(ref: ZohoReference, item: BillLine, line_id: str, order: int, bcy_rate: Decimal) -> dict:
    line, account_id, tags = item.body, item.account_id, item.tags
    account_name, rate, quantity = ref.accounts[account_id].name, item.rate, item.quantity
    record = {
        "purchaseorder_id": "", "purchaseorder_item_id": "", "line_item_id": line_id, "item_id": "",
        "line_item_category": "line_item", "name": str(line.get("name") or ""), "account_id": account_id,
        "account_name": account_name, "account_code": "", "description": str(line.get("description") or ""),
        "bcy_rate": to_wire_number(bcy_rate), "rate": to_wire_number(rate), "sales_rate": "",
        "pricebook_id": "", "header_id": "", "header_name": "", "tags": tags,
        "quantity": to_wire_number(quantity), "quantity_received": 0, "discount": 0, "discounts": [],
        "discount_account_id": "", "discount_account_name": "", "markup_percent": 0,
        **line_tax_fields(item.tax, item.tax_amount),
        "item_total": to_wire_number(item.net), "item_order": order, "unit": "", "item_type": "",
        "item_code": {}, "image_name": "", "image_type": "", "is_billable": bool(line.get("is_billable")),
        "customer_id": str(line.get("customer_id") or ""), "receipt_line_item_id": "", "customer_name": "",
        "project_id": str(line.get("project_id") or ""), "project_name": "", "invoice_id": "",
        "invoice_number": "", "item_custom_fields": [], "purchase_request_items": [],
        "item_matching_type": "", "receive_line_items": [],
    }
    if ref.is_tax_enabled:
        record["item_total_inclusive_of_tax"] = to_wire_number(item.gross)
        record["product_type"] = str(line.get("product_type") or "")
    if ref.has_locations:
        record.update(location_fields(item.location))
    return record


def bill_record(ref: ZohoReference, parsed: ParsedBill, bill_id: str, line_ids: list[str]) -> dict:
    body, vendor, bill_number, bill_date = parsed.body, parsed.vendor, parsed.bill_number, parsed.bill_date
    due_date, terms, currency, rate = parsed.due_date, parsed.terms, parsed.currency, parsed.rate
    c = currency.currency
    stamp = ref.timestamp()
    lines = [bill_line_record(ref, item, line_id, order, to_base(item.rate, rate, ref))
             for order, (item, line_id) in enumerate(zip(parsed.lines, line_ids, strict=True), start=1)]
    total = to_wire_number(parsed.total)
    due_in_days = (due_date - bill_date).days
    record = {
        "bill_id": bill_id, "non_catalog_items_count": len(lines), "vendor_id": vendor["contact_id"],
        "vendor_name": vendor["contact_name"], "source": "Api", "contact_category": "",
        "unused_credits_payable_amount": 0, "status": "open", "color_code": "", "current_sub_status_id": "",
        "current_sub_status": "open", "sub_statuses": [], "bill_number": bill_number,
        "date": bill_date.isoformat(), "due_date": due_date.isoformat(), "discount_setting": "flat",
        "tds_calculation_type": "tds_item_level", "payment_terms": terms,
        "payment_terms_label": f"Net {terms}" if terms else "Due on Receipt", "payment_expected_date": "",
        "reference_number": str(body.get("reference_number") or ""), "scanned_po_number": "",
        "scanned_po_id": "", "recurring_bill_id": "", "due_by_days": "", "due_in_days": due_in_days,
        "currency_id": currency.currency_id, "currency_code": c.code, "currency_symbol": c.symbol,
        "currency_name_formatted": f"{c.code}- {c.name}", "documents": [], "subject_content": "",
        "price_precision": c.precision, "exchange_rate": to_wire_number(rate),
        "custom_fields": plain(body.get("custom_fields")) or [], "custom_field_hash": {},
        "is_viewed_by_client": False, "client_viewed_time": "", "is_item_level_tax_calc": False,
        "is_inclusive_tax": parsed.is_inclusive_tax,
        "tax_rounding": "item_level" if ref.is_tax_enabled else "entity_level",
        "is_uber_bill": False, "is_tally_bill": False, "track_discount_in_account": False,
        "is_bill_reconciliation_violated": False, "bill_order_type": "", "line_items": lines,
        "submitted_date": "", "submitted_by": "", "submitted_by_name": "", "submitted_by_email": "",
        "submitted_by_photo_url": "", "submitter_id": "", "approver_id": "", "adjustment": 0,
        "adjustment_description": "", "discount_amount": 0, "discount": 0, "discount_applied_on_amount": 0,
        "is_discount_before_tax": True, "discount_account_id": "", "discount_account_name": "",
        "discount_type": "entity_level", "sub_total": to_wire_number(parsed.sub_total),
        "sub_total_inclusive_of_tax": total if parsed.is_inclusive_tax and ref.is_tax_enabled else 0,
        "tax_total": to_wire_number(parsed.tax_total),
        "discount_total": 0, "discount_percent": 0, "total": total, "payment_made": 0,
        "vendor_credits_applied": 0, "is_line_item_invoiced": False, "purchaseorders": [],
        "taxes": bill_tax_summary([(item.tax, item.tax_amount) for item in parsed.lines]),
        "computation_type": "basic", "tax_override_preference": "no_override", "balance": total,
        "unprocessed_payment_amount": 0, "billing_address_id": vendor["billing_address"]["address_id"],
        "billing_address": {key: "" for key in ("address", "street2", "city", "state", "zip", "country",
                                                "fax", "phone", "attention")},
        "payments": [], "vendor_credits": [], "created_time": stamp, "created_by_id": ref.user_id,
        "last_modified_id": ref.user_id, "last_modified_time": stamp, "reference_id": "",
        "notes": str(body.get("notes") or ""), "terms": "", "attachment_name": "",
        "template_id": "", "template_name": "Standard Template", "page_width": "8.27in",
        "page_height": "11.69in", "orientation": "portrait", "template_type": "standard",
        "is_approval_required": False, "allocated_landed_costs": [], "unallocated_landed_costs": [],
        "entity_type": "bill", "total_retention_amount": 0, "retention_items": [], "can_send_in_mail": False,
        "approvers_list": [], "account_id": ref.payable_account_id, "account_name": "Accounts Payable",
        "adjustment_account_id": "", "adjustment_account_name": "", "tags": parsed.header_tags,
        "_created_by_name": ref.user_name,
    }
    if ref.is_tax_enabled:
        record["vat_treatment"] = parsed.vat_treatment
    if ref.has_locations:
        record.update(location_fields(parsed.location))
    return record
