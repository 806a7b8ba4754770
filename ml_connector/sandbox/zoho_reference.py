"""The Zoho Books organisation the sandbox serves, built from the shared catalog.

Reference data is fixed by the seed: the organisation, its chart of accounts, currencies with exchange
rates, the reporting tags "Cost Center" (mandatory on journal lines) and "Location", and a few vendors
that already exist (every other catalog merchant, so the connector has to create the rest).

Shapes follow the recorded real responses in `reference/zoho-books/recorded-nango/` where they exist,
the OpenAPI files otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ml_connector.sandbox.catalog import (
    ACCOUNTS_PAYABLE,
    COST_CENTER_TAG,
    LOCATION_TAG,
    Company,
    Currency,
    LedgerAccount,
    numeric_id,
)
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.zoho_orgs import (
    VAT_CONTROL_ACCOUNT,
    org_accounts,
    org_currencies,
    org_profile,
    org_wire_values,
    org_zone,
)

ORG_TIME_ZONE = ZoneInfo("America/New_York")  # recorded org time_zone
PLAN_NAME = "Professional"
PLAN_TYPE = 3  # recorded plan_type for a Professional org
# Requests per org-local day by plan (introduction page); the sandbox org is on Professional.
DAILY_QUOTA_BY_PLAN = {"Free": 1000, "Standard": 2000, "Professional": 5000, "Premium": 10000,
                       "Elite": 10000, "Ultimate": 10000}

# Zoho account_type -> the AccountType.* group of the chart-of-accounts filter_by parameter.
ACCOUNT_GROUPS = {
    "Asset": {"other_asset", "other_current_asset", "cash", "bank", "fixed_asset", "accounts_receivable",
              "stock", "intangible_asset", "right_to_use_asset", "financial_asset", "contingent_asset",
              "contract_asset"},
    "Liability": {"other_current_liability", "credit_card", "long_term_liability", "accounts_payable",
                  "other_liability", "contract_liability", "refund_liability", "loans_and_borrowing",
                  "lease_liability", "employee_benefit_liability", "contingent_liability",
                  "financial_liability"},
    "Equity": {"equity"},
    "Income": {"income", "other_income", "finance_income", "other_comprehensive_income"},
    "Expense": {"expense", "cost_of_goods_sold", "other_expense", "manufacturing_expense",
                "impairment_expense", "depreciation_expense", "employee_benefit_expense", "lease_expense",
                "finance_expense", "tax_expense"},
}
DEBIT_NATURED_GROUPS = ("Asset", "Expense")


TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def org_now(zone: ZoneInfo = ORG_TIME_ZONE) -> datetime:
    return datetime.now(zone)


def zoho_timestamp(moment: datetime | None = None, zone: ZoneInfo = ORG_TIME_ZONE) -> str:
    """Zoho's timestamp style: `2026-06-09T16:27:31-0400`, in the organisation's zone."""
    return (moment or org_now(zone)).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT)


def account_group(account_type: str) -> str:
    return next((group for group, types in ACCOUNT_GROUPS.items() if account_type in types), "Asset")


@dataclass(frozen=True)
class TagOption:
    option_id: str
    name: str
    order: int


@dataclass(frozen=True)
class ReportingTag:
    tag_id: str
    name: str
    order: int
    is_mandatory: bool
    options: tuple[TagOption, ...]

    def option(self, option_id: str) -> TagOption | None:
        return next((o for o in self.options if o.option_id == option_id), None)


@dataclass(frozen=True)
class ZohoCurrency:
    currency_id: str
    currency: Currency
    is_base: bool


class ZohoReference:
    """Read-only facts of the sandbox organisation, with ids derived from the seed."""

    def __init__(self, company: Company, config: SandboxConfig) -> None:
        seed = company.seed
        self.company = company
        self.seed = seed
        self.profile = org_profile(config.org)
        self.zone = org_zone(self.profile)
        self.organization_id = config.credentials.zoho_organization_id
        self.user_id = numeric_id(seed, "zoho-user")
        self.user_name = "Sandbox Accountant"
        self.created_date = date.fromisoformat(f"{config.month_keys[0]}-01")
        self.accounts: dict[str, LedgerAccount] = {
            numeric_id(seed, "account", a.code): a for a in org_accounts(company, self.profile)}
        self.payable_account_id = numeric_id(seed, "account", ACCOUNTS_PAYABLE.code)
        self.system_account_ids = {self.payable_account_id} | (
            {numeric_id(seed, "account", VAT_CONTROL_ACCOUNT.code)} if self.profile.is_tax_enabled else set())
        self.currencies: dict[str, ZohoCurrency] = {
            numeric_id(seed, "currency", c.code): ZohoCurrency(numeric_id(seed, "currency", c.code), c,
                                                               c.code == self.profile.base_currency)
            for c in org_currencies(company, self.profile)}
        # Imported here: both modules use this one's wire helpers.
        from ml_connector.sandbox.zoho_locations import build_locations
        from ml_connector.sandbox.zoho_taxes import build_taxes

        self.taxes = build_taxes(seed, self.profile)
        self.locations = build_locations(seed, self.profile)
        self.base_currency = next(c for c in self.currencies.values() if c.is_base)
        self.tags: dict[str, ReportingTag] = {}
        for order, (name, values, mandatory) in enumerate(
                ((COST_CENTER_TAG, company.departments, True), (LOCATION_TAG, company.locations, False)),
                start=1):
            tag_id = numeric_id(seed, "tag", name)
            options = tuple(TagOption(numeric_id(seed, "tag-option", name, value), value, index)
                            for index, value in enumerate(values, start=1))
            self.tags[tag_id] = ReportingTag(tag_id, name, order, mandatory, options)
        # Every other merchant already exists as a vendor; the rest must be created by the connector.
        self.seeded_vendor_names: tuple[str, ...] = tuple(m.name for m in company.merchants[::2])

    @property
    def is_tax_enabled(self) -> bool:
        return self.profile.is_tax_enabled

    @property
    def has_locations(self) -> bool:
        return bool(self.locations)

    def now(self) -> datetime:
        return org_now(self.zone)

    def timestamp(self, moment: datetime | None = None) -> str:
        return zoho_timestamp(moment, self.zone)

    def currency_by_code(self, code: str) -> ZohoCurrency | None:
        return next((c for c in self.currencies.values() if c.currency.code == code), None)

    # --- wire shapes ---------------------------------------------------------------------------

    def organization(self) -> dict:
        base = self.base_currency
        wire = org_wire_values(self.profile)
        return {
            "organization_id": self.organization_id,
            "name": self.company.name if self.profile.key == "us" else self.profile.legal_name,
            "contact_name": self.user_name, "email": wire["email"], "is_default_org": True,
            "language_code": "en",
            "fiscal_year_start_month": str(self.profile.fiscal_year_start_month),  # a string, as recorded
            "account_created_date": self.created_date.isoformat(), "time_zone": self.profile.time_zone,
            "is_dst_active": bool(self.now().dst()), "date_format": wire["date_format"],
            "field_separator": ",", "industry_type": "Technology", "industry_size": "11-50",
            "company_id_label": "", "company_id_value": "", "tax_id_label": wire["tax_id_label"],
            "tax_id_value": wire["tax_id_value"],
            "currency_id": base.currency_id, "currency_code": base.currency.code,
            "currency_symbol": base.currency.symbol, "currency_format": "###,##0.00",
            "price_precision": base.currency.precision, "plan_type": PLAN_TYPE, "plan_name": PLAN_NAME,
            "plan_period": "Month", "country_code": wire["country_code"],
            "country_name": wire["country_name"], "portal_name": wire["portal_name"],
            "org_settings": {"is_org_active": True},
        }

    def chart_of_account_row(self, account_id: str) -> dict:
        account = self.accounts[account_id]
        stamp = self.timestamp(datetime.combine(self.created_date, datetime.min.time(), self.zone))
        return {
            "account_id": account_id, "account_name": account.name, "account_code": account.code,
            "account_type": account.account_type, "description": "", "placeholder": "",
            "is_register_supported_account": False,
            "is_user_created": account_id not in self.system_account_ids,
            "is_system_account": account_id in self.system_account_ids, "is_active": account.is_active,
            "can_show_in_ze": False, "parent_account_id": "", "parent_account_name": "", "depth": 0,
            "has_attachment": False, "is_child_present": False, "child_count": "", "documents": [],
            "created_time": stamp, "is_standalone_account": False, "last_modified_time": stamp,
        }

    def chart_of_account_detail(self, account_id: str) -> dict:
        account = self.accounts[account_id]
        group = account_group(account.account_type)
        return {
            "account_type": account.account_type, "is_bulk_update_supported": True,
            "is_active": account.is_active, "is_register_supported_account": False, "documents": [],
            "parent_account_name": "", "custom_fields": [], "is_involved_in_transaction": False,
            "description": "", "transactions": [],  # the sandbox does not report account registers
            "is_system_account": account_id in self.system_account_ids,
            "closing_balance_formatted": f"{self.base_currency.currency.symbol}0.00",
            "account_id": account_id, "parent_account_id": "",
            "closing_balance": 0, "account_name": account.name, "account_code": account.code,
            "account_type_formatted": account.account_type.replace("_", " ").title(), "placeholder": "",
            "isdebit": group in DEBIT_NATURED_GROUPS,
            "status": "active" if account.is_active else "inactive",
        }

    def currency_row(self, zc: ZohoCurrency) -> dict:
        c = zc.currency
        decimals = ".89" if c.precision else ""
        return {
            "currency_id": zc.currency_id, "currency_code": c.code, "currency_name": c.name,
            "currency_name_formatted": f"{c.code}- {c.name}", "currency_symbol": c.symbol,
            "price_precision": c.precision, "currency_format": f"1,234,567{decimals}",
            "is_base_currency": zc.is_base,
            # Recorded base currency carries exchange_rate 0 and no effective date.
            "exchange_rate": 0 if zc.is_base else float(c.rate_to_base),
            "effective_date": "" if zc.is_base else self.created_date.isoformat(),
            "auto_exchange_rate_enabled": False,
        }

    def reporting_tag_row(self, tag: ReportingTag) -> dict:
        return {"tag_id": tag.tag_id, "tag_name": tag.name, "tag_order": tag.order,
                "description": f"{tag.name} for management reporting", "is_active": True,
                "is_mandatory": tag.is_mandatory, "is_class": False, "is_draft": False}

    def tag_options_page(self, tag: ReportingTag) -> dict:
        options = [{"option_id": o.option_id, "option_name": o.name, "option_order": o.order,
                    "parent_id": "", "parent_name": "", "is_active": True, "is_default": False,
                    "depth": 0, "children": []} for o in tag.options]
        return {"tag_id": tag.tag_id, "tag_name": tag.name,
                "description": self.reporting_tag_row(tag)["description"],
                "is_class": False, "is_draft": False, "dependent_tags": [], "options": options,
                "page_context": {"page": 1, "per_page": 200, "has_more_page": False}}

    def line_tag(self, tag_id: str, option_id: str) -> dict:
        """A tag as echoed on a saved line: ids plus names and whether the tag is mandatory."""
        tag = self.tags[tag_id]
        option = tag.option(option_id)
        return {"tag_id": tag_id, "tag_name": tag.name, "tag_option_id": option_id,
                "tag_option_name": option.name if option else "", "is_tag_mandatory": tag.is_mandatory}


def to_wire_number(value: Decimal) -> int | float:
    """A Decimal as Zoho writes amounts in JSON: `100` when whole, `12.34` otherwise."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def plain(value: object) -> object:
    """Echoed request data made JSON-ready: Decimals parsed from the body become wire numbers."""
    if isinstance(value, Decimal):
        return to_wire_number(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value
