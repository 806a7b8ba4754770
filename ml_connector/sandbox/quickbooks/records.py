"""Wire shapes of the sandbox's list entities: Account, Class, Department, Vendor, TaxCode, TaxRate,
CompanyInfo and Preferences.

Key order and JSON types follow the recorded responses where one exists (get-account, create-vendor,
get-vendor); the XSD elsewhere. Every key is one the XSD declares for the type (the contract test checks).
Keys starting with `_` are the sandbox's bookkeeping and never go on the wire.
"""

from __future__ import annotations

import hashlib

from ml_connector.sandbox.quickbooks.reference import QboProfile, TaxCodeSpec, month_name


def metadata(created: str, updated: str | None = None) -> dict:
    return {"CreateTime": created, "LastUpdatedTime": updated or created}


def entity_head(entity_id: str, sync_token: int, created: str, updated: str | None = None) -> dict:
    return {"domain": "QBO", "sparse": False, "Id": entity_id, "SyncToken": str(sync_token),
            "MetaData": metadata(created, updated)}


def account_record(account_id: str, fields: dict, currency_ref: dict, sync_token: int, created: str,
                   updated: str | None = None) -> dict:
    """`fields`: Name, AccountType, Classification, AccountSubType, Active, and optionally AcctNum,
    Description, ParentRef / parent name."""
    parent = fields.get("ParentRef")
    record: dict = {"Name": fields["Name"], "SubAccount": parent is not None}
    if parent is not None:
        record["ParentRef"] = {"value": parent["value"]}
    record["FullyQualifiedName"] = fields.get("FullyQualifiedName") or fields["Name"]
    if fields.get("Description"):
        record["Description"] = fields["Description"]
    record.update({"Active": fields["Active"], "Classification": fields["Classification"],
                   "AccountType": fields["AccountType"], "AccountSubType": fields["AccountSubType"]})
    if fields.get("AcctNum"):
        record["AcctNum"] = fields["AcctNum"]
    record.update({"CurrentBalance": 0, "CurrentBalanceWithSubAccounts": 0, "CurrencyRef": currency_ref,
                   **entity_head(account_id, sync_token, created, updated)})
    return record


def tracking_record(entity: str, entity_id: str, name: str, active: bool, sync_token: int, created: str,
                    updated: str | None = None) -> dict:
    """A Class or Department (flat: the sandbox has no sub-classes or sub-departments)."""
    sub_key = "SubClass" if entity == "Class" else "SubDepartment"
    return {"Name": name, sub_key: False, "FullyQualifiedName": name, "Active": active,
            **entity_head(entity_id, sync_token, created, updated)}


def pseudonym(realm_id: str, vendor_id: str) -> str:
    """A stable V4IDPseudonym in the recorded style (38 hex characters starting 002098)."""
    return "002098" + hashlib.sha256(f"{realm_id}:{vendor_id}".encode()).hexdigest()[:32]


VENDOR_NAME_KEYS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName")
VENDOR_CONTACT_KEYS = ("PrimaryPhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr")


def vendor_record(vendor_id: str, fields: dict, currency_ref: dict, sync_token: int, created: str,
                  updated: str | None, v4_pseudonym: str) -> dict:
    """`fields`: the validated writable fields (DisplayName, Active, PrintOnCheckName, ... as sent)."""
    record: dict = {}
    if "BillAddr" in fields:
        record["BillAddr"] = fields["BillAddr"]
    record["Balance"] = 0
    if fields.get("AcctNum"):
        record["AcctNum"] = fields["AcctNum"]
    record.update({"BillRate": 0, "Vendor1099": fields.get("Vendor1099", False), "CurrencyRef": currency_ref,
                   "CostRate": 0, **entity_head(vendor_id, sync_token, created, updated)})
    record.update({key: fields[key] for key in VENDOR_NAME_KEYS if fields.get(key)})
    record.update({"DisplayName": fields["DisplayName"], "PrintOnCheckName": fields["PrintOnCheckName"],
                   "Active": fields["Active"], "V4IDPseudonym": v4_pseudonym})
    record.update({key: fields[key] for key in VENDOR_CONTACT_KEYS if fields.get(key)})
    if fields.get("Notes"):
        record["Notes"] = fields["Notes"]
    return record


def rate_list(rate_id: str | None, rate_name: str) -> dict:
    if rate_id is None:
        return {"TaxRateDetail": []}
    return {"TaxRateDetail": [{"TaxRateRef": {"value": rate_id, "name": rate_name},
                               "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}]}


def rate_name(spec: TaxCodeSpec, applicable_on: str) -> str:
    return f"{spec.name} ({'Sales' if applicable_on == 'Sales' else 'Purchases'})"


def tax_code_record(spec: TaxCodeSpec, created: str) -> dict:
    has_rates = spec.sales_rate_id is not None
    return {"Name": spec.name, "Description": spec.description, "Active": spec.is_active, "Hidden": False,
            "Taxable": has_rates, "TaxGroup": has_rates,
            "SalesTaxRateList": rate_list(spec.sales_rate_id, rate_name(spec, "Sales")),
            "PurchaseTaxRateList": rate_list(spec.purchase_rate_id, rate_name(spec, "Purchase")),
            "TaxCodeConfigType": "SYSTEM_GENERATED", **entity_head(spec.code_id, 0, created)}


def tax_rate_record(spec: TaxCodeSpec, applicable_on: str, created: str) -> dict:
    rate = spec.rate
    special = "ZERO_RATE" if spec.percent == 0 else "NONE"
    return {"Name": rate_name(spec, applicable_on), "Description": f"{rate.name} ({applicable_on.lower()})",
            "Active": spec.is_active, "RateValue": spec.percent, "AgencyRef": {"value": "1"},
            "SpecialTaxType": special, "DisplayType": "ReadOnly",
            **entity_head(spec.rate_id(applicable_on), 0, created)}


def company_info_record(profile: QboProfile, created: str) -> dict:
    org = profile.org
    if profile.is_vat:
        address = {"Id": "1", "Line1": "1 Canada Square", "City": "London", "Country": "GB",
                   "PostalCode": "E14 5AB"}
        phone, email, web = "+44 20 7946 0000", "accounts@example.co.uk", "https://acme-robotics.example.co.uk"
    else:
        address = {"Id": "1", "Line1": "500 Howard St", "City": "San Francisco", "Country": "US",
                   "CountrySubDivisionCode": "CA", "PostalCode": "94105"}
        phone, email, web = "(415) 555-0100", "accounting@example.com", "https://acme-robotics.example.com"
    return {
        "CompanyName": org.legal_name, "LegalName": org.legal_name, "CompanyAddr": address,
        "CustomerCommunicationAddr": dict(address), "LegalAddr": dict(address),
        "CustomerCommunicationEmailAddr": {"Address": email}, "PrimaryPhone": {"FreeFormNumber": phone},
        "CompanyStartDate": profile.company_start.isoformat(),
        "FiscalYearStartMonth": month_name(org.fiscal_year_start_month), "Country": profile.country,
        "Email": {"Address": email}, "WebAddr": {"URI": web}, "SupportedLanguages": "en",
        "DefaultTimeZone": org.time_zone,
        "NameValue": [{"Name": "NeoEnabled", "Value": "true"}, {"Name": "IndustryType", "Value": "Technology"},
                      {"Name": "CompanyType", "Value": "Corporation" if not profile.is_vat else "Limited"},
                      {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
                      {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                      {"Name": "PayrollFeature", "Value": "false"}],
        **entity_head("1", 0, created),
    }


def preferences_record(profile: QboProfile, prefs: dict, sync_token: int, created: str, updated: str) -> dict:
    """`prefs`: the mutable settings (book_close_date, class_tracking, department_tracking, multicurrency)."""
    org = profile.org
    accounting = {"FirstMonthOfFiscalYear": month_name(org.fiscal_year_start_month), "UseAccountNumbers": True,
                  "TaxYearMonth": month_name(org.fiscal_year_start_month), "ClassTrackingPerTxn": False,
                  "TrackDepartments": prefs["department_tracking"],
                  "DepartmentTerminology": profile.department_terminology,
                  "ClassTrackingPerTxnLine": prefs["class_tracking"], "CustomerTerminology": "Customers"}
    if prefs["book_close_date"]:
        accounting["BookCloseDate"] = prefs["book_close_date"]
    return {
        "AccountingInfoPrefs": accounting,
        "SalesFormsPrefs": {"CustomTxnNumbers": True},
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": False, "BillableExpenseTracking": False,
                                    "POCustomField": []},
        "TaxPrefs": {"UsingSalesTax": profile.is_vat, "PartnerTaxEnabled": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": prefs["multicurrency"],
                          "HomeCurrency": {"value": profile.home_currency}},
        **entity_head("1", sync_token, created, updated),
    }
