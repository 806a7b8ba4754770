"""Wire shapes of stored records, with the keys and JSON types of the recorded responses.

Sources: `recorded-nango/get-invoice` (an ACCPAY bill, its embedded Contact and LineItems), `create-contact`,
`get-account`/`list-accounts`, `recorded-xero-python/...attachment...` (the Attachment object and the paged
invoice list), and the OAS examples for ManualJournal and TrackingCategory (no recording of either exists).
Deliberate choices: line Tracking carries `TrackingOptionID` beside the recorded `Name`, `Option`,
`TrackingCategoryID` and `Options: []` (the OAS LineItemTracking has it; a client needs it); names shown are the
category's and option's current names, as Xero resolves them by id. `Attachments` is included when one record
is asked for (as recorded for GET by id) and left out of lists (as recorded for the paged list).
"""

from __future__ import annotations

from urllib.parse import quote

from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.wire import date_string, money, ms_date, ms_stamp

_EMPTY_ADDRESS = {"City": "", "Region": "", "PostalCode": "", "Country": ""}
_EMPTY_PHONE = {"PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
CONTACT_OPTIONAL = ("ContactNumber", "AccountNumber", "FirstName", "LastName", "TaxNumber", "DefaultCurrency",
                    "PurchasesDefaultAccountCode")


def tracking_wire(store: XeroStore, tracking: list[dict]) -> list[dict]:
    out = []
    for element in tracking:
        category = store.tracking.get(element["TrackingCategoryID"])
        option = next((o for o in category["Options"] if o["TrackingOptionID"] == element["TrackingOptionID"]),
                      None) if category else None
        out.append({"Name": category["Name"] if category else "", "Option": option["Name"] if option else "",
                    "TrackingCategoryID": element["TrackingCategoryID"],
                    "TrackingOptionID": element["TrackingOptionID"], "Options": []})
    return out


def attachment_wire(store: XeroStore, attachment: dict) -> dict:
    endpoint, parent_id = attachment["Parent"]
    url = (f"{store.ref.public_url}/xero/api.xro/2.0/{endpoint}/{parent_id}/Attachments/"
           f"{quote(attachment['FileName'])}")
    out = {"AttachmentID": attachment["AttachmentID"], "FileName": attachment["FileName"], "Url": url,
           "MimeType": attachment["MimeType"], "ContentLength": attachment["ContentLength"]}
    if attachment.get("IncludeOnline"):
        out["IncludeOnline"] = True
    return out


def journal_wire(store: XeroStore, journal: dict, detail: bool = True) -> dict:
    out = {"Date": ms_date(journal["Date"]), "Status": journal["Status"],
           "LineAmountTypes": journal["LineAmountTypes"], "UpdatedDateUTC": ms_stamp(journal["UpdatedMs"]),
           "ManualJournalID": journal["ManualJournalID"], "Narration": journal["Narration"],
           "JournalLines": [{"Description": line["Description"], "TaxType": line["TaxType"],
                             "TaxAmount": money(line["TaxAmount"]), "LineAmount": money(line["LineAmount"]),
                             "AccountCode": line["AccountCode"],
                             "Tracking": tracking_wire(store, line["Tracking"]), "AccountID": line["AccountID"],
                             "IsBlank": False} for line in journal["JournalLines"]],
           "ShowOnCashBasisReports": journal["ShowOnCashBasisReports"],
           "HasAttachments": bool(journal["Attachments"])}
    if journal.get("Url"):
        out["Url"] = journal["Url"]
    if detail:
        out["Attachments"] = [attachment_wire(store, store.attachments[a]) for a in journal["Attachments"]]
    return out


def embedded_contact(contact: dict) -> dict:
    """The contact as an invoice embeds it (recorded get-invoice)."""
    return {"ContactID": contact["ContactID"], "ContactStatus": contact["ContactStatus"], "Name": contact["Name"],
            "Addresses": [{"AddressType": "STREET"}, {"AddressType": "POBOX"}],
            "Phones": [{"PhoneType": kind} for kind in ("DEFAULT", "DDI", "FAX", "MOBILE")],
            "UpdatedDateUTC": ms_stamp(contact["UpdatedMs"]), "ContactGroups": [],
            "IsSupplier": contact["IsSupplier"], "IsCustomer": contact["IsCustomer"],
            "SalesTrackingCategories": [], "PurchasesTrackingCategories": [], "ContactPersons": [],
            "HasValidationErrors": False}


def invoice_wire(store: XeroStore, invoice: dict, detail: bool = True) -> dict:
    total = invoice["Total"]
    open_amount = total if invoice["Status"] in ("DRAFT", "SUBMITTED", "AUTHORISED") else "0"
    out = {"Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"],
           "Reference": invoice["Reference"], "Payments": [], "CreditNotes": [], "Prepayments": [],
           "Overpayments": [], "AmountDue": money(open_amount), "AmountPaid": 0.0, "AmountCredited": 0.0,
           "CurrencyRate": money(invoice["CurrencyRate"]), "SentToContact": False, "IsDiscounted": False,
           "HasAttachments": bool(invoice["Attachments"]), "HasErrors": False}
    if detail:
        out["Attachments"] = [attachment_wire(store, store.attachments[a]) for a in invoice["Attachments"]]
    out.update({"InvoicePaymentServices": [], "Contact": embedded_contact(store.contacts[invoice["ContactID"]]),
                "DateString": date_string(invoice["Date"]), "Date": ms_date(invoice["Date"])})
    if invoice.get("DueDate"):
        out.update(DueDateString=date_string(invoice["DueDate"]), DueDate=ms_date(invoice["DueDate"]))
    out.update({"Status": invoice["Status"], "LineAmountTypes": invoice["LineAmountTypes"],
                "LineItems": [{"Description": item["Description"], "UnitAmount": money(item["UnitAmount"]),
                               "TaxType": item["TaxType"], "TaxAmount": money(item["TaxAmount"]),
                               "LineAmount": money(item["LineAmount"]), "AccountCode": item["AccountCode"],
                               "Tracking": tracking_wire(store, item["Tracking"]),
                               "Quantity": money(item["Quantity"]), "LineItemID": item["LineItemID"],
                               "AccountID": item["AccountID"], "ValidationErrors": []}
                              for item in invoice["LineItems"]],
                "SubTotal": money(invoice["SubTotal"]), "TotalTax": money(invoice["TotalTax"]),
                "Total": money(total), "UpdatedDateUTC": ms_stamp(invoice["UpdatedMs"]),
                "CurrencyCode": invoice["CurrencyCode"]})
    for key in ("Url", "PlannedPaymentDate"):
        if invoice.get(key):
            out[key] = ms_date(invoice[key]) if key == "PlannedPaymentDate" else invoice[key]
    return out


def contact_wire(contact: dict) -> dict:
    """A contact as `PUT /Contacts` answers it (recorded create-contact), plus the optional fields set."""
    out = {"ContactID": contact["ContactID"], "ContactStatus": contact["ContactStatus"], "Name": contact["Name"]}
    out.update({key: contact[key] for key in CONTACT_OPTIONAL if contact.get(key)})
    out.update({"EmailAddress": contact.get("EmailAddress", ""), "BankAccountDetails": "",
                "Addresses": [{"AddressType": kind, **_EMPTY_ADDRESS} for kind in ("STREET", "POBOX")],
                "Phones": [{"PhoneType": kind, **_EMPTY_PHONE} for kind in ("DEFAULT", "DDI", "FAX", "MOBILE")],
                "UpdatedDateUTC": ms_stamp(contact["UpdatedMs"]), "ContactGroups": [],
                "IsSupplier": contact["IsSupplier"], "IsCustomer": contact["IsCustomer"],
                "SalesTrackingCategories": [], "PurchasesTrackingCategories": [], "ContactPersons": [],
                "HasValidationErrors": False})
    return out


def account_wire(account: dict, detail: bool = False) -> dict:
    out = {key: value for key, value in account.items() if key != "UpdatedMs"}
    out["UpdatedDateUTC"] = ms_stamp(account["UpdatedMs"])
    out["AddToWatchlist"] = out.pop("AddToWatchlist")
    if detail:
        out["Attachments"] = []
    return out


def tracking_category_wire(category: dict, include_archived: bool = True) -> dict:
    options = [{"TrackingOptionID": o["TrackingOptionID"], "Name": o["Name"], "Status": o["Status"]}
               for o in category["Options"] if include_archived or o["Status"] == "ACTIVE"]
    return {"Name": category["Name"], "Status": category["Status"],
            "TrackingCategoryID": category["TrackingCategoryID"], "Options": options}
