"""The QuickBooks Online company the sandbox serves, for `SandboxConfig.org` "us" or "uk", from the catalog.

Both profiles share the catalog's chart of accounts (AcctNum = catalog code, Name = catalog name, the
retired account inactive), Classes named after the catalog departments, every other catalog merchant as an
existing Vendor in the home currency (so the connector must create the rest), multicurrency on with the
catalog currencies and their rates to the home currency, class tracking per line and department tracking on,
and the books closed through the last day of the month before `config.month_keys[0]`.

- "us": Country US, HomeCurrency USD, no sales tax (bill lines carry TaxCodeRef "NON", as recorded; the
  TaxCode list holds the US pseudo-codes TAX and NON), Departments ("Location") named after the catalog
  locations.
- "uk": Country GB, HomeCurrency GBP, VAT on: TaxCode/TaxRate entities in QuickBooks' UK shape built from
  the catalog's UK VAT rates (20.0% S, 5.0% R, 0.0% Z, Exempt, No VAT, and the retired 17.5% S inactive),
  a "VAT Control" liability account (AcctNum 2200; name UNCONFIRMED), Departments ("Business") named after
  the profile's business locations, and a Department required on every transaction.

QuickBooks' AccountType/AccountSubType for each catalog account, the tax codes' names and ids, the sales and
purchase TaxRate names ("20.0% S (Purchases)") and the company's address and plan are UNCONFIRMED choices
in QuickBooks' vocabulary (AccountTypeEnum, AccountSubTypeEnum of Finance.xsd).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ml_connector.sandbox.catalog import ORG_PROFILES, Company, LedgerAccount, OrgProfile, VatRate
from ml_connector.sandbox.config import SandboxConfig

# Currency names as QuickBooks writes them in CurrencyRef.name (recorded: "United States Dollar").
CURRENCY_NAMES = {"USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound Sterling",
                  "JPY": "Japanese Yen"}

# Catalog account type -> (AccountType, Classification, AccountSubType).
ACCOUNT_TYPES: dict[str, tuple[str, str, str]] = {
    "bank": ("Bank", "Asset", "Checking"),
    "accounts_payable": ("Accounts Payable", "Liability", "AccountsPayable"),
    "credit_card": ("Credit Card", "Liability", "CreditCard"),
    "other_current_liability": ("Other Current Liability", "Liability", "OtherCurrentLiabilities"),
    "equity": ("Equity", "Equity", "OwnersEquity"),
    "income": ("Income", "Revenue", "ServiceFeeIncome"),
    "expense": ("Expense", "Expense", "OtherBusinessExpenses"),
}
# A closer AccountSubType for some expense accounts, by catalog code.
EXPENSE_SUBTYPES = {"6010": "AdvertisingPromotional", "6020": "DuesSubscriptions", "6040": "Travel",
                    "6041": "Travel", "6042": "Travel", "6050": "EntertainmentMeals", "6060": "SuppliesMaterials",
                    "6070": "Utilities", "6080": "LegalProfessionalFees", "6100": "ShippingFreightDelivery",
                    "6110": "BankCharges", "6120": "RentOrLeaseOfBuildings", "6990": "OtherMiscellaneousServiceCost"}
# AccountType values whose lines need a UK VAT code (what "posts to an expense account" means here).
EXPENSE_ACCOUNT_TYPES = frozenset({"Expense", "Other Expense", "Cost of Goods Sold"})
VAT_CONTROL = LedgerAccount("2200", "VAT Control", "other_current_liability")

# UK tax code name for each catalog VAT rate key.
UK_TAX_CODE_NAMES = {"standard": "20.0% S", "reduced": "5.0% R", "zero": "0.0% Z", "exempt": "Exempt",
                     "out_of_scope": "No VAT", "standard_2010": "17.5% S"}


@dataclass(frozen=True)
class TaxCodeSpec:
    """One tax code of the company: its id, and the sales/purchase TaxRate ids (None: no rate, "No VAT")."""

    code_id: str
    name: str
    description: str
    rate: VatRate | None
    sales_rate_id: str | None
    purchase_rate_id: str | None
    is_active: bool = True

    @property
    def percent(self) -> Decimal:
        return self.rate.percentage if self.rate and self.rate.kind != "out_of_scope" else Decimal(0)

    def rate_id(self, applicable_on: str) -> str | None:
        return self.sales_rate_id if applicable_on == "Sales" else self.purchase_rate_id


@dataclass(frozen=True)
class CurrencyFacts:
    code: str
    name: str
    precision: int
    rate: Decimal  # home-currency units for one unit (QuickBooks' ExchangeRate direction)


@dataclass(frozen=True)
class QboProfile:
    """Everything fixed about the sandbox company for one `config.org`."""

    org: OrgProfile
    company: Company
    realm_id: str
    zone: ZoneInfo
    home_currency: str
    currencies: dict[str, CurrencyFacts]
    accounts: tuple[LedgerAccount, ...]
    class_names: tuple[str, ...]
    department_names: tuple[str, ...]
    vendor_names: tuple[str, ...]
    tax_codes: tuple[TaxCodeSpec, ...]
    book_close_date: date
    company_start: date
    user_id: str

    @property
    def is_vat(self) -> bool:
        return self.org.is_tax_enabled

    @property
    def country(self) -> str:
        return self.org.country_code

    @property
    def department_terminology(self) -> str:
        return "Business" if self.is_vat else "Location"

    def currency(self, code: str) -> CurrencyFacts | None:
        return self.currencies.get(code)

    def tax_code(self, code_id: str) -> TaxCodeSpec:
        return next(spec for spec in self.tax_codes if spec.code_id == code_id)

    def currency_ref(self, code: str) -> dict:
        return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def account_kind(account: LedgerAccount) -> tuple[str, str, str]:
    account_type, classification, subtype = ACCOUNT_TYPES.get(account.account_type, ACCOUNT_TYPES["expense"])
    if account_type == "Expense":
        subtype = EXPENSE_SUBTYPES.get(account.code, subtype)
    if account.code == VAT_CONTROL.code:
        subtype = "GlobalTaxPayable"
    return account_type, classification, subtype


def uk_tax_codes(rates: tuple[VatRate, ...]) -> tuple[TaxCodeSpec, ...]:
    codes = []
    for index, rate in enumerate(rates):
        code_id = str(2 * index + 2)  # small even ids, as UK companies show them
        has_rate = rate.kind != "out_of_scope"
        name = UK_TAX_CODE_NAMES.get(rate.key, rate.name)
        codes.append(TaxCodeSpec(code_id, name, rate.name, rate,
                                 str(2 * index + 1) if has_rate else None,
                                 str(2 * index + 2) if has_rate else None, rate.is_active))
    return tuple(codes)


US_TAX_CODES = (TaxCodeSpec("TAX", "TAX", "TAX", None, None, None),
                TaxCodeSpec("NON", "NON", "NON", None, None, None))


def build_profile(company: Company, config: SandboxConfig) -> QboProfile:
    org = ORG_PROFILES[config.org]
    first = date.fromisoformat(f"{config.month_keys[0]}-01")
    currencies = {c.code: CurrencyFacts(c.code, CURRENCY_NAMES.get(c.code, c.name), c.precision,
                                        org.rates_to_base[c.code]) for c in company.currencies}
    accounts = company.chart_of_accounts + ((VAT_CONTROL,) if org.is_tax_enabled else ())
    locations = org.business_locations if org.is_tax_enabled else company.locations
    return QboProfile(
        org=org, company=company, realm_id=config.credentials.quickbooks_realm_id,
        zone=ZoneInfo(org.time_zone), home_currency=org.base_currency, currencies=currencies,
        accounts=accounts, class_names=company.departments, department_names=tuple(locations),
        vendor_names=tuple(m.name for m in company.merchants[::2]),
        tax_codes=uk_tax_codes(org.vat_rates) if org.is_tax_enabled else US_TAX_CODES,
        book_close_date=first - timedelta(days=1), company_start=date(first.year - 1, 1, 1),
        user_id=str(9_341_450_000_000_000 + company.seed))


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # XSD MonthEnum


def month_name(month: int) -> str:
    return MONTHS[month - 1]
