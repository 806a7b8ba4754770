"""Which JSON keys Intuit's schema declares for the request bodies the sandbox accepts (error 2010).

QuickBooks' JSON is its XSD serialised by Jackson: element and attribute names are the keys, a
`simpleContent` value is `"value"` (notes section 3). A request key the XSD does not declare for its type is
refused with 2010 "Request has invalid or unsupported property", as Jackson refuses an unknown property
(stricter than ignoring it; the exact Detail text is UNCONFIRMED). Keys the XSD declares but the sandbox
does not model (read-only totals, `TxnSource`, `CustomField`, ...) are accepted and ignored, as QuickBooks
ignores read-only input.

The table below is generated from `newer-php-sdk-xsd/` (PHP SDK 5bb480b5, minor version 75; it declares
`CustomExtensions`, which recorded responses carry), each type's own elements plus those of every type it
extends; the contract test re-derives it from the XSD files and fails on any difference. A field maps to the
name of its complex type when the sandbox looks inside it, to None otherwise (simple or opaque content).
"""

from __future__ import annotations

from ml_connector.sandbox.quickbooks.errors import unsupported_property


def declared(simple: str, **nested: str) -> dict[str, str | None]:
    fields: dict[str, str | None] = dict.fromkeys(simple.split())
    fields.update(nested)
    return fields


DECLARED: dict[str, dict[str, str | None]] = {
    "JournalEntry": declared(
        "Id SyncToken CustomField domain status sparse DocNumber TxnDate TxnSubType ExchangeRate "
        "PrivateNote TxnStatus TxnSource TaxFormType TaxFormNum TransactionLocationType Tag "
        "TxnApprovalInfo RecurringInfo TotalCostAmount HomeTotalCostAmount Adjustment "
        "HomeCurrencyAdjustment EnteredInHomeCurrency GlobalTaxCalculation TotalAmt HomeTotalAmt "
        "JournalEntryEx",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef", DepartmentRef="ReferenceType",
        CurrencyRef="ReferenceType", LinkedTxn="LinkedTxn", Line="Line", TxnTaxDetail="TxnTaxDetail",
        RecurDataRef="ReferenceType", ProjectRef="ReferenceType"),
    "Bill": declared(
        "Id SyncToken CustomField domain status sparse DocNumber TxnDate TxnSubType ExchangeRate "
        "PrivateNote TxnStatus TxnSource TaxFormType TaxFormNum TransactionLocationType Tag "
        "TxnApprovalInfo RecurringInfo TotalCostAmount HomeTotalCostAmount TotalAmt Memo "
        "GlobalTaxCalculation DueDate Balance HomeBalance BillEx LessCIS IncludeInAnnualTPAR",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef", DepartmentRef="ReferenceType",
        CurrencyRef="ReferenceType", LinkedTxn="LinkedTxn", Line="Line", TxnTaxDetail="TxnTaxDetail",
        RecurDataRef="ReferenceType", ProjectRef="ReferenceType", VendorRef="ReferenceType",
        APAccountRef="ReferenceType", BillEmail="EmailAddress", ReplyEmail="EmailAddress",
        PayerRef="ReferenceType", SalesTermRef="ReferenceType", RemitToAddr="PhysicalAddress",
        ShipAddr="PhysicalAddress", VendorAddr="PhysicalAddress"),
    "Vendor": declared(
        "Id SyncToken CustomField domain status sparse IntuitId Organization Title GivenName MiddleName "
        "FamilyName Suffix FullyQualifiedName CompanyName DisplayName PrintOnCheckName UserId Active "
        "V4IDPseudonym OtherContactInfo ContactName AltContactName Notes TaxCountry TaxIdentifier "
        "TaxIdEffectiveDate BusinessNumber Balance BillRate OpenBalanceDate CreditLimit AcctNum "
        "Vendor1099 T4AEligible T5018Eligible TDSEnabled TDSEntityTypeId TDSSectionTypeId "
        "TDSOverrideThreshold TaxReportingBasis VendorEx GSTIN GSTRegistrationType IsSubContractor "
        "SubcontractorType CISRate HasTPAR VendorPaymentBankDetail Source CostRate "
        "AgencyVerificationStatus AgencyVerificationStatusMsg AgencyVerificationTSUTC "
        "CompanyRegistrationNumber",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef", PrimaryPhone="TelephoneNumber",
        AlternatePhone="TelephoneNumber", Mobile="TelephoneNumber", Fax="TelephoneNumber",
        PrimaryEmailAddr="EmailAddress", WebAddr="WebSiteAddress", DefaultTaxCodeRef="ReferenceType",
        BillAddr="PhysicalAddress", ShipAddr="PhysicalAddress", OtherAddr="PhysicalAddress",
        ParentRef="ReferenceType", VendorTypeRef="ReferenceType", TermRef="ReferenceType",
        PrefillAccountRef="ReferenceType", CurrencyRef="ReferenceType", APAccountRef="ReferenceType"),
    "Account": declared(
        "Id SyncToken CustomField domain status sparse Name SubAccount Description FullyQualifiedName "
        "AccountAlias TxnLocationType Active Classification AccountType AccountSubType AcctNum "
        "AcctNumExtn BankNum OpeningBalance OpeningBalanceDate CurrentBalance "
        "CurrentBalanceWithSubAccounts TaxAccount OnlineBankingEnabled FIName AccountEx",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef", ParentRef="ReferenceType",
        AccountPurposes="ReferenceType", CurrencyRef="ReferenceType", TaxCodeRef="ReferenceType",
        JournalCodeRef="ReferenceType"),
    "Class": declared(
        "Id SyncToken CustomField domain status sparse Name SubClass FullyQualifiedName Active ClassEx",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef", ParentRef="ReferenceType"),
    "Department": declared(
        "Id SyncToken CustomField domain status sparse Name SubDepartment FullyQualifiedName Active "
        "DepartmentEx",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef", ParentRef="ReferenceType",
        Address="PhysicalAddress"),
    "Attachable": declared(
        "Id SyncToken CustomField domain status sparse FileName FileAccessUri TempDownloadUri Size "
        "ContentType Category Lat Long PlaceName Note Tag ThumbnailFileAccessUri ThumbnailTempDownloadUri "
        "AttachableEx documentId",
        MetaData="ModificationMetaData", AttachableRef="AttachableRef"),
    "Line": declared(
        "Id LineNum Description Amount Received DetailType PaymentLineDetail DiscountLineDetail "
        "SalesItemLineDetail DescriptionLineDetail ItemBasedExpenseLineDetail ReimburseLineDetail "
        "DepositLineDetail PurchaseOrderItemLineDetail SalesOrderItemLineDetail ItemReceiptLineDetail "
        "GroupLineDetail SubTotalLineDetail TDSLineDetail ItemAdjustmentLineDetail CustomField LineEx "
        "CostAmount HomeCostAmount CustomExtensions",
        LinkedTxn="LinkedTxn", TaxLineDetail="TaxLineDetail",
        AccountBasedExpenseLineDetail="AccountBasedExpenseLineDetail",
        JournalEntryLineDetail="JournalEntryLineDetail", ProjectRef="ReferenceType"),
    "JournalEntryLineDetail": declared(
        "PostingType TaxApplicableOn TaxAmount TaxInclusiveAmt BillableStatus JournalEntryLineDetailEx",
        Entity="EntityTypeRef", AccountRef="ReferenceType", ClassRef="ReferenceType",
        DepartmentRef="ReferenceType", TaxCodeRef="ReferenceType", TaxRateRef="ReferenceType",
        JournalCodeRef="ReferenceType"),
    "AccountBasedExpenseLineDetail": declared(
        "BillableStatus MarkupInfo TaxAmount TaxInclusiveAmt ExpenseDetailLineDetailEx",
        CustomerRef="ReferenceType", ClassRef="ReferenceType", AccountRef="ReferenceType",
        TaxCodeRef="ReferenceType"),
    "ReferenceType": declared(
        "value name type"),
    "EntityTypeRef": declared(
        "Type",
        EntityRef="ReferenceType"),
    "ModificationMetaData": declared(
        "CreateTime LastUpdatedTime LastChangedInQB Synchronized",
        CreatedByRef="ReferenceType", LastModifiedByRef="ReferenceType"),
    "TxnTaxDetail": declared(
        "TotalTax TaxReviewStatus UseAutomatedSalesTax",
        DefaultTaxCodeRef="ReferenceType", TxnTaxCodeRef="ReferenceType", TaxLine="Line"),
    "TaxLineDetail": declared(
        "PercentBased TaxPercent NetAmountTaxable TaxInclusiveAmount OverrideDeltaAmount ServiceDate "
        "TaxLineDetailEx",
        TaxRateRef="ReferenceType"),
    "PhysicalAddress": declared(
        "Id Line1 Line2 Line3 Line4 Line5 City Country CountryCode County CountrySubDivisionCode "
        "PostalCode PostalCodeSuffix Lat Long Tag Note"),
    "EmailAddress": declared(
        "Id Address Default Tag"),
    "TelephoneNumber": declared(
        "Id DeviceType CountryCode AreaCode ExchangeCode Extension FreeFormNumber Default Tag"),
    "WebSiteAddress": declared(
        "Id URI Default Tag"),
    "AttachableRef": declared(
        "LineInfo IncludeOnSend CustomField AttachableRefEx",
        EntityRef="ReferenceType"),
    "LinkedTxn": declared(
        "TxnId TxnType TxnLineId"),
}


def check_declared(body: dict, type_name: str, path: str = "") -> None:
    """Refuse (2010) the first key of `body`, at any depth, that the XSD does not declare for its type."""
    fields = DECLARED[type_name]
    for key, value in body.items():
        if key not in fields:
            raise unsupported_property(f"{path}{key}")
        child = fields[key]
        if child is None or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                check_declared(item, child, f"{path}{key}.")
            elif item is not None:  # a scalar where the XSD has an object: Jackson cannot read it
                raise unsupported_property(f"{path}{key}")
