"""The Xero organisation the sandbox serves, by `config.org`: the catalog's profile (`catalog.ORG_PROFILES`)
rendered in Xero's vocabulary, with the shared chart of accounts.

- "us": "Acme Robotics Inc.", base USD, no tax (every account and line carries TaxType NONE), Version "US",
  Timezone EASTERNSTANDARDTIME, financial year ending 31 December.
- "uk": "Acme Robotics Ltd", base GBP with the catalog's rates to GBP, VAT (see `tax`), Version "UK", Timezone
  GMTSTANDARDTIME, financial year ending 31 March (the catalog's year starts in April), plus the VAT system
  account 2200 (SystemAccount GST, as the recorded chart's VAT/sales-tax account is).
Both: the catalog's chart of accounts (Code = catalog code; types mapped below; the catalog's inactive
account ARCHIVED), tracking categories "Department" and "Location" with the catalog's departments and
locations as options, the catalog's currencies (multicurrency), every other catalog merchant as an existing
contact, `PeriodLockDate` = the last day of the month before `config.month_keys[0]` and `EndOfYearLockDate` =
the last financial year end on or before it. Ids are UUIDs derived from the seed, so restarts agree.
Xero's `CurrencyRate` is units of the foreign currency per unit of base (inferred from Xero's "1 GBP = x EUR"
display): 1 / the catalog's rate to base, to six places as recorded (`CurrencyRate: 1.000000`).

Account type mapping (catalog -> Xero Type/Class): bank -> BANK/ASSET (BankAccountType BANK); accounts_payable ->
CURRLIAB/LIABILITY with SystemAccount CREDITORS (the recorded AP system account); credit_card and
other_current_liability -> CURRLIAB/LIABILITY (a card clearing liability a manual journal can credit; Xero's
own card accounts are BANK/CREDITCARD, which the connector does not journal to); equity -> EQUITY; income ->
REVENUE; expense -> EXPENSE. Shapes follow `recorded-nango/list-accounts` and `organisations`.
"""

from __future__ import annotations

import calendar
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ml_connector.sandbox.catalog import ORG_PROFILES, Company, LedgerAccount, OrgProfile
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.xero.tax import TaxRate, org_rates
from ml_connector.sandbox.xero.wire import date_ms, ms_date

DEPARTMENT_CATEGORY = "Department"
LOCATION_CATEGORY = "Location"
ACCOUNT_TYPES = ("BANK", "CURRENT", "CURRLIAB", "DEPRECIATN", "DIRECTCOSTS", "EQUITY", "EXPENSE", "FIXED",
                 "INVENTORY", "LIABILITY", "NONCURRENT", "OTHERINCOME", "OVERHEADS", "PREPAYMENT", "REVENUE",
                 "SALES", "TERMLIAB", "PAYG")
ACCOUNT_CLASS = {"BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET",
                 "NONCURRENT": "ASSET", "PREPAYMENT": "ASSET", "CURRLIAB": "LIABILITY", "LIABILITY": "LIABILITY",
                 "TERMLIAB": "LIABILITY", "PAYG": "LIABILITY", "EQUITY": "EQUITY", "DEPRECIATN": "EXPENSE",
                 "DIRECTCOSTS": "EXPENSE", "EXPENSE": "EXPENSE", "OVERHEADS": "EXPENSE", "OTHERINCOME": "REVENUE",
                 "REVENUE": "REVENUE", "SALES": "REVENUE"}
REPORTING_CODES = {"ASSET": ("ASS", "Asset"), "LIABILITY": ("LIA", "Liability"), "EQUITY": ("EQU", "Equity"),
                   "EXPENSE": ("EXP", "Expense"), "REVENUE": ("REV", "Revenue")}
CATALOG_TYPES = {"bank": "BANK", "accounts_payable": "CURRLIAB", "credit_card": "CURRLIAB",
                 "other_current_liability": "CURRLIAB", "equity": "EQUITY", "income": "REVENUE",
                 "expense": "EXPENSE"}


def xero_id(*parts: object) -> str:
    """A UUID (version 4 layout) derived from the parts: Xero ids are GUIDs."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass(frozen=True)
class XeroOrgFacts:
    """What Xero says about an organisation beyond the catalog profile (UNCONFIRMED values for "uk")."""

    version: str
    timezone: str  # Xero's TimeZone enum name for the profile's IANA zone
    tax_number: str
    tax_number_name: str
    sales_tax_basis: str
    sales_tax_period: str
    city: str
    postal_code: str


XERO_FACTS = {
    "us": XeroOrgFacts("US", "EASTERNSTANDARDTIME", "", "Tax ID", "NONE", "NONE", "San Francisco", "94105"),
    "uk": XeroOrgFacts("UK", "GMTSTANDARDTIME", "GB123456789", "VAT", "ACCRUAL", "QUARTERLY1", "London",
                       "EC1A 1BB"),
}
VAT_ACCOUNT = LedgerAccount("2200", "VAT", "other_current_liability")


def financial_year_end(on_or_before: date, start_month: int) -> date:
    """The last day of the financial year (starting in `start_month`) that ends on or before the date."""
    end_month = (start_month - 2) % 12 + 1
    year = on_or_before.year
    while True:
        end = date(year, end_month, calendar.monthrange(year, end_month)[1])
        if end <= on_or_before:
            return end
        year -= 1


class XeroReference:
    """Fixed facts of the sandbox organisation; the mutable ones (accounts, tracking, contacts) seed the store."""

    def __init__(self, company: Company, config: SandboxConfig) -> None:
        self.company = company
        self.config = config
        self.seed = company.seed
        self.org = config.org
        self.profile: OrgProfile = ORG_PROFILES[config.org]
        self.facts = XERO_FACTS[config.org]
        self.tenant_id = config.credentials.xero_tenant_id
        first = date.fromisoformat(f"{config.month_keys[0]}-01")
        self.created_date = first
        self.period_lock_date = (first - timedelta(days=1)).isoformat()
        self.end_of_year_lock_date = financial_year_end(first - timedelta(days=1),
                                                        self.profile.fiscal_year_start_month).isoformat()
        self.tax_rates: dict[str, TaxRate] = {rate.tax_type: rate for rate in org_rates(self.profile.vat_rates)}
        base = self.profile.base_currency
        self.currencies: dict[str, tuple[str, Decimal]] = {
            c.code: (c.name, (1 / self.profile.rates_to_base[c.code]).quantize(Decimal("0.000001")))
            for c in sorted(company.currencies, key=lambda c: c.code != base)}
        self.connection_id = xero_id(self.seed, "connection")
        self.auth_event_id = xero_id(self.seed, "auth-event")

    def today(self) -> str:
        return datetime.now(ZoneInfo(self.profile.time_zone)).date().isoformat()

    @property
    def public_url(self) -> str:
        return self.config.public_url  # set by the server once its port is bound

    # --- seeds for the store ------------------------------------------------------------------------

    def seed_accounts(self, stamp_ms: int) -> list[dict]:
        chart = list(self.company.chart_of_accounts) + ([VAT_ACCOUNT] if self.profile.is_tax_enabled else [])
        return [self.account_record(account, stamp_ms) for account in chart]

    def account_record(self, account: LedgerAccount, stamp_ms: int) -> dict:
        account_type = CATALOG_TYPES[account.account_type]
        account_class = ACCOUNT_CLASS[account_type]
        system = {"accounts_payable": "CREDITORS"}.get(account.account_type, "")
        if account is VAT_ACCOUNT:
            system = "GST"
        record = {
            "AccountID": xero_id(self.seed, "account", account.code), "Code": account.code, "Name": account.name,
            "Status": "ACTIVE" if account.is_active else "ARCHIVED", "Type": account_type,
            "TaxType": self.default_tax_type(account_class), "Description": "", "Class": account_class,
            "SystemAccount": system, "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": account_class == "EXPENSE", "BankAccountType": "",
            "ReportingCode": REPORTING_CODES[account_class][0], "ReportingCodeName": REPORTING_CODES[account_class][1],
            "HasAttachments": False, "UpdatedMs": stamp_ms, "AddToWatchlist": False,
        }
        if account_type == "BANK":
            record.update(BankAccountType="BANK", BankAccountNumber="0908007006543",
                          CurrencyCode=self.profile.base_currency)
            for key in ("Description", "SystemAccount"):  # bank accounts carry neither (recorded)
                record.pop(key)
        return record

    def default_tax_type(self, account_class: str) -> str:
        if not self.profile.is_tax_enabled:
            return "NONE"
        return {"EXPENSE": "INPUT2", "REVENUE": "OUTPUT2"}.get(account_class, "NONE")

    def seed_tracking(self) -> list[dict]:
        categories = []
        for name, options in ((DEPARTMENT_CATEGORY, self.company.departments),
                              (LOCATION_CATEGORY, self.company.locations)):
            category_id = xero_id(self.seed, "tracking", name)
            categories.append({"TrackingCategoryID": category_id, "Name": name, "Status": "ACTIVE", "Options": [
                {"TrackingOptionID": xero_id(self.seed, "tracking-option", name, option), "Name": option,
                 "Status": "ACTIVE"} for option in options]})
        return categories

    @property
    def seeded_contact_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.company.merchants[::2])

    # --- wire shapes of fixed facts -----------------------------------------------------------------

    def organisation(self, period_lock: str | None, end_of_year_lock: str | None) -> dict:
        p, facts = self.profile, self.facts
        year_end = financial_year_end(date(2001, 12, 31), p.fiscal_year_start_month)
        org = {
            "Name": p.legal_name, "LegalName": p.legal_name, "PaysTax": p.is_tax_enabled, "Version": facts.version,
            "OrganisationType": "COMPANY", "BaseCurrency": p.base_currency, "CountryCode": p.country_code,
            "IsDemoCompany": False, "OrganisationStatus": "ACTIVE", "TaxNumber": facts.tax_number,
            "FinancialYearEndDay": year_end.day, "FinancialYearEndMonth": year_end.month,
            "SalesTaxBasis": facts.sales_tax_basis, "SalesTaxPeriod": facts.sales_tax_period,
            "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Exclusive",
        }
        if period_lock:
            org["PeriodLockDate"] = ms_date(period_lock)
        if end_of_year_lock:
            org["EndOfYearLockDate"] = ms_date(end_of_year_lock)
        org.update({
            # The organisation was opened in Xero a while before the sandbox's first month.
            "CreatedDateUTC": f"/Date({date_ms((self.created_date - timedelta(days=400)).isoformat())})/",
            "OrganisationEntityType": "COMPANY", "Timezone": facts.timezone,
            "ShortCode": "!" + self.tenant_id[:5].upper(), "OrganisationID": self.tenant_id, "Edition": "BUSINESS",
            "Class": "PREMIUM",
            "Addresses": [{"AddressType": "POBOX", "AddressLine1": "1 Market Street", "AddressLine2": "",
                           "City": facts.city, "Region": "", "PostalCode": facts.postal_code, "Country": "",
                           "AttentionTo": ""}],
            "Phones": [{"PhoneType": "OFFICE", "PhoneNumber": "555 0100", "PhoneAreaCode": "415"}],
            "ExternalLinks": [], "PaymentTerms": {}, "TaxNumberName": facts.tax_number_name,
        })
        return org

    def currency_rows(self) -> list[dict]:
        return [{"Code": code, "Description": name} for code, (name, _) in self.currencies.items()]

    def connection(self) -> dict:
        stamp = f"{self.created_date.isoformat()}T09:00:00.0000000"
        return {"id": self.connection_id, "authEventId": self.auth_event_id, "tenantId": self.tenant_id,
                "tenantType": "ORGANISATION", "tenantName": self.profile.legal_name, "createdDateUtc": stamp,
                "updatedDateUtc": stamp}
