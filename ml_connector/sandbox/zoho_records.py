"""Wire shapes of the records the sandbox stores: contacts, journals and bills, and their list rows.

Every key of the recorded real responses is present with the recorded JSON type (empty strings for
unset ids, `custom_fields: ""` on journals, `[]` on bills and contacts), so a client that parses a real
response parses these. The error type raised by validation lives here too.
"""

from __future__ import annotations

from ml_connector.sandbox.zoho_reference import ZohoCurrency, ZohoReference

EMPTY_ADDRESS_KEYS = ("attention", "address", "street2", "city", "state_code", "state", "zip", "country",
                      "county", "latitude", "longitude", "country_code", "phone", "fax")
TEMPLATE_KINDS = ("statement", "invoice", "bill", "estimate", "creditnote", "paymentthankyou",
                  "invoice_email", "estimate_email", "creditnote_email", "paymentthankyou_email",
                  "payment_remittance_email")


class ZohoError(Exception):
    """A Books error response: HTTP status plus Zoho's {code, message} body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"code": self.code, "message": self.message}


def invalid(field: str, detail: str = "") -> ZohoError:
    """Zoho's "Invalid value passed for <field>" (code 2, third-party observed)."""
    return ZohoError(400, 2, f"Invalid value passed for {field}" + (f". {detail}" if detail else ""))


def not_found_in_body(entity: str) -> ZohoError:
    """An id in the request body that names nothing: code 1002 "<Entity> does not exist." (errors page)."""
    return ZohoError(400, 1002, f"{entity} does not exist.")


def not_found_in_path(entity: str) -> ZohoError:
    return ZohoError(404, 1002, f"{entity} does not exist.")


def contact_record(ref: ZohoReference, contact_id: str, name: str, contact_type: str, company_name: str,
                   currency: ZohoCurrency, email: str, stamp: str, address_ids: tuple[str, str, str],
                   payment_terms: int = 0) -> dict:
    billing_id, shipping_id, entity_address_id = address_ids
    c = currency.currency
    return {
        "contact_id": contact_id, "contact_name": name, "company_name": company_name,
        "contact_tax_information": "", "first_name": "", "last_name": "", "designation": "", "department": "",
        "website": "", "is_bcy_only_contact": currency.is_base, "is_credit_limit_migration_completed": True,
        "language_code": "", "language_code_formatted": "", "contact_salutation": "", "email": email,
        "phone": "", "mobile": "", "photo_url": "", "invited_by": "", "portal_status": "disabled",
        "is_client_review_asked": False, "has_transaction": False, "contact_type": contact_type,
        "customer_sub_type": "business", "contact_relation_type": "", "owner_id": "", "owner_name": "",
        "source": "api", "documents": [], "twitter": "", "facebook": "", "is_crm_customer": False,
        "is_linked_with_zohocrm": False, "primary_contact_id": "", "zcrm_account_id": "",
        "zcrm_contact_id": "", "crm_owner_id": "", "payment_terms": payment_terms,
        "payment_terms_label": f"Net {payment_terms}" if payment_terms else "Due on Receipt",
        "payment_terms_id": "", "credit_limit_exceeded_amount": 0, "currency_id": currency.currency_id,
        "lock_details": {"can_lock": False}, "locked_actions": [],
        "lock_detail": {"can_lock": True, "custom_locks": [], "system_locks": []},
        "currency_code": c.code, "currency_symbol": c.symbol, "price_precision": c.precision,
        "exchange_rate": "", "can_show_customer_ob": True, "can_show_vendor_ob": True,
        "opening_balance_amount": 0, "opening_balance_amount_bcy": "", "outstanding_ob_receivable_amount": 0,
        "outstanding_ob_payable_amount": 0, "outstanding_receivable_amount": 0,
        "outstanding_receivable_amount_bcy": 0, "outstanding_payable_amount": 0,
        "outstanding_payable_amount_bcy": 0, "unused_credits_receivable_amount": 0,
        "unused_credits_receivable_amount_bcy": 0, "unused_credits_payable_amount": 0,
        "unused_credits_payable_amount_bcy": 0, "unused_retainer_payments": 0, "status": "active",
        "payment_reminder_enabled": True, "is_sms_enabled": True, "is_consent_agreed": False,
        "consent_date": "", "is_client_review_settings_enabled": False, "custom_fields": [],
        "custom_field_hash": {}, "track_1099": False, "tax_id_type": "", "tax_id_value": "",
        "tax_reg_label": "", "account_id": "", "account_name": "", "contact_category": "",
        "sales_channel": "direct_sales", "ach_supported": False, "portal_receipt_count": 0,
        "opening_balances": [], "entity_address_id": entity_address_id,
        "billing_address": {"address_id": billing_id, **dict.fromkeys(EMPTY_ADDRESS_KEYS, "")},
        "shipping_address": {"address_id": shipping_id, **dict.fromkeys(EMPTY_ADDRESS_KEYS, "")},
        "contact_persons": [], "addresses": [], "pricebook_id": "", "pricebook_name": "",
        "default_templates": {f"{kind}_template_{suffix}": "" for kind in TEMPLATE_KINDS
                              for suffix in ("id", "name")},
        "associated_with_square": False, "cards": [], "checks": [], "upi_mandates": [], "bank_accounts": [],
        "vpa_list": [], "notes": "", "created_time": stamp, "created_date": stamp[:10],
        "created_by_name": ref.user_name, "created_by_id": ref.user_id, "last_modified_by_id": ref.user_id,
        "last_modified_time": stamp, "tags": [], "zohopeople_client_id": "",
        "customer_currency_summaries": [{
            "currency_id": currency.currency_id, "currency_code": c.code, "currency_symbol": c.symbol,
            "price_precision": c.precision, "is_base_currency": currency.is_base,
            "currency_name_formatted": f"{c.code}- {c.name}", "outstanding_receivable_amount": 0,
            "unused_credits_receivable_amount": 0}],
        "approvers_list": [], "submitted_date": "", "submitted_by": "", "submitted_by_name": "",
        "submitted_by_email": "", "submitted_by_photo_url": "", "submitter_id": "", "approver_id": "",
        "integration_references": [],
    }


def contact_row(contact: dict) -> dict:
    """A contact as `GET /contacts` lists it (recorded list-contacts)."""
    name = contact["contact_name"]
    return {
        "contact_id": contact["contact_id"], "contact_name": name, "customer_name": name,
        "vendor_name": name, "company_name": contact["company_name"], "website": "", "language_code": "",
        "language_code_formatted": "", "contact_type": contact["contact_type"],
        "contact_type_formatted": contact["contact_type"].title(), "status": contact["status"],
        "customer_sub_type": "business", "source": "api", "is_linked_with_zohocrm": False,
        "payment_terms": contact["payment_terms"], "payment_terms_id": contact["payment_terms_id"],
        "payment_terms_label": contact["payment_terms_label"], "currency_id": contact["currency_id"],
        "twitter": "", "facebook": "", "currency_code": contact["currency_code"],
        "outstanding_receivable_amount": 0, "outstanding_receivable_amount_bcy": 0,
        "outstanding_payable_amount": 0, "outstanding_payable_amount_bcy": 0,
        "unused_credits_receivable_amount": 0, "unused_credits_receivable_amount_bcy": 0,
        "unused_credits_payable_amount": 0, "unused_credits_payable_amount_bcy": 0, "first_name": "",
        "last_name": "", "email": contact["email"], "phone": "", "mobile": "", "portal_status": "disabled",
        "portal_status_formatted": "Disabled", "track_1099": False, "created_time": contact["created_time"],
        "created_time_formatted": contact["created_date"],
        "last_modified_time": contact["last_modified_time"],
        "last_modified_time_formatted": contact["created_date"], "custom_fields": [], "custom_field_hash": {},
        "contactperson_custom_fields": [], "tags": [], "ach_supported": False, "has_attachment": False,
    }


def journal_line_record(line_id: str, order: int, account_id: str, account_name: str, line: dict,
                        amount: int | float, bcy_amount: int | float, customer_name: str,
                        tags: list[dict]) -> dict:
    return {
        "line_id": line_id, "account_id": account_id, "customer_id": line.get("customer_id") or "",
        "item_order": order, "customer_name": customer_name, "account_name": account_name,
        "description": line.get("description") or "", "debit_or_credit": line["debit_or_credit"],
        "tax_exemption_id": "", "tax_exemption_type": "", "tax_authority_id": "", "tax_id": "",
        "tax_name": "", "tax_type": "tax", "tax_percentage": "", "line_item_taxes": [], "amount": amount,
        "bcy_amount": bcy_amount, "project_name": "", "project_id": line.get("project_id") or "",
        "tags": tags,
    }


def journal_row(journal: dict) -> dict:
    """A journal as `GET /journals` lists it (recorded list-journals)."""
    keys = ("journal_id", "journal_date", "entry_number", "reference_number", "currency_id", "status",
            "notes", "journal_type")
    row = {key: journal[key] for key in keys}
    row.update({"entity_type": "journal", "total": journal["total"], "bcy_total": journal["bcy_total"],
                "tags": journal["tags"], "last_modified_time": journal["last_modified_time"],
                "created_by_id": journal["_created_by_id"], "created_by_name": journal["_created_by_name"]})
    return row


def bill_row(bill: dict, created_formatted: str) -> dict:
    """A bill as `GET /bills` lists it (recorded list-bills)."""
    keys = ("bill_id", "vendor_id", "vendor_name", "status", "color_code", "current_sub_status_id",
            "current_sub_status", "bill_number", "reference_number", "date", "due_date", "currency_id",
            "currency_code", "price_precision", "exchange_rate", "total", "balance",
            "unprocessed_payment_amount", "created_time", "last_modified_time", "attachment_name", "tags",
            "is_uber_bill", "is_tally_bill", "entity_type", "client_viewed_time", "is_viewed_by_client",
            "is_bill_reconciliation_violated")
    row = {key: bill[key] for key in keys}
    days = bill["due_in_days"]
    row.update({
        "due_days": f"Due in {days} days" if days else "Due Today", "tds_total": 0,
        "created_time_formatted": created_formatted, "last_modified_time_formatted": created_formatted,
        "created_by": bill["_created_by_name"], "last_modified_by": bill["_created_by_name"],
        # Recorded real responses carry the bill id here (a Zoho quirk); kept as recorded.
        "is_opening_balance": bill["bill_id"],
        "has_attachment": bool(bill["documents"]), "balance_due": bill["balance"],
    })
    if "location_id" in bill:  # organisations with business locations (bills.yml list row keys)
        row.update({"location_id": bill["location_id"], "location_name": bill["location_name"]})
    return row


def public(record: dict) -> dict:
    """The record without the sandbox's private bookkeeping keys (those starting with `_`)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}
