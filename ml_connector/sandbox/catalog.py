"""The sandbox company: one deterministic set of reference facts shared by the three sandbox APIs.

Brex categories, Expensify policy categories and the Zoho chart of accounts are generated from these
tables, so their GL codes line up the way a real, well-kept setup does. A few entries are deliberately
wrong (a category nobody mapped, an account made inactive) so that exceptions are exercised.

The sandbox shares no code with the connector's clients: nothing here is imported outside `sandbox/`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    symbol: str
    precision: int
    rate_to_base: Decimal  # units of base currency for one unit of this currency


@dataclass(frozen=True)
class LedgerAccount:
    code: str
    name: str
    account_type: str  # Zoho account_type vocabulary
    is_active: bool = True


@dataclass(frozen=True)
class Employee:
    user_id: str  # Brex user id
    first_name: str
    last_name: str
    email: str
    department: str
    location: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Merchant:
    name: str
    descriptor: str
    mcc: str
    country: str  # ISO 3166-1 alpha-3
    category: str  # Brex category
    low_cents: int
    high_cents: int
    currency: str = "USD"


BASE_CURRENCY = "USD"

CURRENCIES: tuple[Currency, ...] = (
    Currency("USD", "US Dollar", "$", 2, Decimal("1")),
    Currency("EUR", "Euro", "€", 2, Decimal("1.0850")),
    Currency("GBP", "Pound Sterling", "£", 2, Decimal("1.2700")),
    Currency("JPY", "Japanese Yen", "¥", 0, Decimal("0.006700")),
)

# The card liability that every Brex journal credits, and the payable that Expensify bills land in.
CARD_LIABILITY = LedgerAccount("2100", "Brex Card Payable", "credit_card")
ACCOUNTS_PAYABLE = LedgerAccount("2000", "Accounts Payable", "accounts_payable")
EMPLOYEE_REIMBURSEMENTS = LedgerAccount("2150", "Employee Reimbursements", "other_current_liability")

EXPENSE_ACCOUNTS: tuple[LedgerAccount, ...] = (
    LedgerAccount("6010", "Advertising and Marketing", "expense"),
    LedgerAccount("6020", "Software and Subscriptions", "expense"),
    LedgerAccount("6030", "Cloud Hosting", "expense"),
    LedgerAccount("6040", "Travel - Airfare", "expense"),
    LedgerAccount("6041", "Travel - Lodging", "expense"),
    LedgerAccount("6042", "Travel - Ground Transport", "expense"),
    LedgerAccount("6050", "Meals and Entertainment", "expense"),
    LedgerAccount("6060", "Office Supplies", "expense"),
    LedgerAccount("6070", "Telephone and Internet", "expense"),
    LedgerAccount("6080", "Professional Services", "expense"),
    LedgerAccount("6090", "Conferences and Training", "expense"),
    LedgerAccount("6100", "Shipping and Postage", "expense"),
    LedgerAccount("6110", "Bank Fees", "expense"),
    LedgerAccount("6120", "Rent and Facilities", "expense"),
    LedgerAccount("6130", "Equipment", "expense"),
    # Deliberately inactive: records mapped here become "inactive account" exceptions.
    LedgerAccount("6990", "Gifts (retired)", "expense", is_active=False),
)

OTHER_ACCOUNTS: tuple[LedgerAccount, ...] = (
    LedgerAccount("1000", "Operating Cash", "bank"),
    ACCOUNTS_PAYABLE,
    CARD_LIABILITY,
    EMPLOYEE_REIMBURSEMENTS,
    LedgerAccount("3000", "Owner's Equity", "equity"),
    LedgerAccount("4000", "Sales", "income"),
)

CHART_OF_ACCOUNTS: tuple[LedgerAccount, ...] = OTHER_ACCOUNTS + EXPENSE_ACCOUNTS

# Brex category -> GL account code, as the example mapping file says it. Categories absent here
# are the "new category nobody mapped" exception.
BREX_CATEGORY_ACCOUNTS: dict[str, str] = {
    "ADVERTISING_AND_MARKETING": "6010",
    "RECURRING_SOFTWARE_AND_SAAS": "6020",
    "SOFTWARE_NON_RECURRING": "6020",
    "SERVERS": "6030",
    "AIRLINE_EXPENSES": "6040",
    "LODGING": "6041",
    "RIDESHARE_AND_TAXI": "6042",
    "CAR_RENTAL": "6042",
    "RESTAURANTS": "6050",
    "FOOD_DELIVERY": "6050",
    "OFFICE_SUPPLIES": "6060",
    "TELEPHONY": "6070",
    "CONSULTANT_AND_CONTRACTOR": "6080",
    "LEGAL_SERVICES": "6080",
    "CONFERENCES": "6090",
    "TRAINING_AND_EDUCATION": "6090",
    "SHIPPING": "6100",
    "BANK_AND_FINANCIAL_FEES": "6110",
    "RENT": "6120",
    "ELECTRONICS": "6130",
    "FLOWERS": "6990",  # maps to the inactive account on purpose
}

# A Brex category that the example mapping does not cover: a small share of spend lands here.
UNMAPPED_BREX_CATEGORY = "TRAVEL_WIFI"

# Expensify policy categories: name -> GL code. "Team Offsite" carries no GL code and is not in
# the example mapping: the Expensify "unmapped category" exception.
EXPENSIFY_CATEGORIES: dict[str, str] = {
    "Airfare": "6040",
    "Lodging": "6041",
    "Ground Transport": "6042",
    "Meals": "6050",
    "Office Supplies": "6060",
    "Phone and Internet": "6070",
    "Conferences": "6090",
    "Software": "6020",
    "Shipping": "6100",
}
UNMAPPED_EXPENSIFY_CATEGORY = "Team Offsite"

# Reporting tags in Zoho ("Cost Center" is mandatory on journals), departments in Brex and the
# "Department" tag in Expensify all use these names.
DEPARTMENTS: tuple[str, ...] = ("Engineering", "Sales", "Marketing", "General and Administrative", "Operations")
LOCATIONS: tuple[str, ...] = ("San Francisco", "New York", "London", "Toronto")
PROJECTS: tuple[str, ...] = ("Atlas Launch", "Customer Summit", "SOC 2 Audit")
COST_CENTER_TAG = "Cost Center"
LOCATION_TAG = "Location"

MERCHANTS: tuple[Merchant, ...] = (
    Merchant("Google Ads", "GOOGLE *ADS", "7311", "USA", "ADVERTISING_AND_MARKETING", 5_000, 250_000),
    Merchant("LinkedIn", "LINKEDIN ADS", "7311", "USA", "ADVERTISING_AND_MARKETING", 10_000, 150_000),
    Merchant("Slack", "SLACK T0123", "5734", "USA", "RECURRING_SOFTWARE_AND_SAAS", 800, 90_000),
    Merchant("GitHub", "GITHUB, INC.", "5734", "USA", "RECURRING_SOFTWARE_AND_SAAS", 400, 60_000),
    Merchant("Figma", "FIGMA MONTHLY", "5734", "USA", "RECURRING_SOFTWARE_AND_SAAS", 1_500, 45_000),
    Merchant("JetBrains", "JETBRAINS S.R.O.", "5734", "CZE", "SOFTWARE_NON_RECURRING", 9_900, 69_900, "EUR"),
    Merchant("Amazon Web Services", "AWS EMEA", "4816", "USA", "SERVERS", 20_000, 900_000),
    Merchant("United Airlines", "UNITED 0162", "3000", "USA", "AIRLINE_EXPENSES", 18_000, 160_000),
    Merchant("British Airways", "BRITISH AIRWAYS", "3005", "GBR", "AIRLINE_EXPENSES", 15_000, 120_000, "GBP"),
    Merchant("Marriott", "MARRIOTT HOTELS", "3509", "USA", "LODGING", 15_000, 90_000),
    Merchant("Hotel Okura", "HOTEL OKURA TOKYO", "3501", "JPN", "LODGING", 25_000, 90_000, "JPY"),
    Merchant("Uber", "UBER *TRIP", "4121", "USA", "RIDESHARE_AND_TAXI", 900, 9_000),
    Merchant("Hertz", "HERTZ RENT-A-CAR", "3357", "USA", "CAR_RENTAL", 8_000, 60_000),
    Merchant("Blue Bottle Coffee", "BLUE BOTTLE", "5814", "USA", "RESTAURANTS", 500, 4_000),
    Merchant("Nopa", "NOPA SF", "5812", "USA", "RESTAURANTS", 4_000, 60_000),
    Merchant("DoorDash", "DOORDASH*ORDER", "5814", "USA", "FOOD_DELIVERY", 1_500, 30_000),
    Merchant("Staples", "STAPLES 00123", "5111", "USA", "OFFICE_SUPPLIES", 1_000, 30_000),
    Merchant("Verizon", "VZWRLSS*APOCC", "4814", "USA", "TELEPHONY", 5_000, 40_000),
    Merchant("Upwork", "UPWORK -ESCROW", "7392", "USA", "CONSULTANT_AND_CONTRACTOR", 20_000, 400_000),
    Merchant("Cooley LLP", "COOLEY LLP", "8111", "USA", "LEGAL_SERVICES", 50_000, 900_000),
    Merchant("SaaStr", "SAASTR ANNUAL", "7399", "USA", "CONFERENCES", 30_000, 200_000),
    Merchant("Coursera", "COURSERA.ORG", "8299", "USA", "TRAINING_AND_EDUCATION", 4_900, 39_900),
    Merchant("FedEx", "FEDEX 7781", "4215", "USA", "SHIPPING", 1_200, 20_000),
    Merchant("WeWork", "WEWORK LONDON", "6513", "GBR", "RENT", 100_000, 600_000, "GBP"),
    Merchant("Apple", "APPLE STORE R102", "5732", "USA", "ELECTRONICS", 9_900, 399_900),
    Merchant("Bloom & Wild", "BLOOMANDWILD", "5992", "GBR", "FLOWERS", 3_000, 12_000, "GBP"),
    Merchant("Gogo Inflight", "GOGO INFLIGHT WIFI", "4899", "USA", UNMAPPED_BREX_CATEGORY, 800, 4_000),
)

_FIRST_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
                "Liam", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
                "Wen", "Ximena", "Yusuf", "Zoe")
_LAST_NAMES = ("Nakamura", "Okafor", "Lindqvist", "Moreau", "Patel", "Rossi", "Schmidt", "Tanaka",
               "Alvarez", "Brennan", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad")


@dataclass(frozen=True)
class Company:
    """The reference facts of one sandbox company, derived from a seed."""

    seed: int
    name: str
    employees: tuple[Employee, ...]
    currencies: tuple[Currency, ...] = CURRENCIES
    chart_of_accounts: tuple[LedgerAccount, ...] = CHART_OF_ACCOUNTS
    merchants: tuple[Merchant, ...] = MERCHANTS
    departments: tuple[str, ...] = DEPARTMENTS
    locations: tuple[str, ...] = LOCATIONS
    projects: tuple[str, ...] = PROJECTS
    brex_category_accounts: dict[str, str] = field(default_factory=lambda: dict(BREX_CATEGORY_ACCOUNTS))
    expensify_categories: dict[str, str] = field(default_factory=lambda: dict(EXPENSIFY_CATEGORIES))

    def currency(self, code: str) -> Currency:
        return next(c for c in self.currencies if c.code == code)

    def account(self, code: str) -> LedgerAccount:
        return next(a for a in self.chart_of_accounts if a.code == code)


def stable_id(prefix: str, *parts: object, length: int = 25) -> str:
    """An opaque, deterministic id in the vendor's style (`expense_ck…`), from the parts given."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    number = int(digest, 16)
    chars = []
    while len(chars) < length:
        number, rem = divmod(number, 36)
        chars.append(alphabet[rem])
    return f"{prefix}{''.join(chars)}"


def numeric_id(*parts: object, digits: int = 18) -> str:
    """A Zoho-style numeric id as a string (they exceed JavaScript's safe integers)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return str(10 ** (digits - 1) + int(digest, 16) % (9 * 10 ** (digits - 1)))


def month_rng(seed: int, source: str, month: str) -> random.Random:
    """A random stream for one source and one month: the same month gives the same data whatever window."""
    return random.Random(f"{seed}:{source}:{month}")


def build_company(seed: int = 7, employee_count: int = 40) -> Company:
    rng = random.Random(f"{seed}:company")
    employees = []
    for index in range(employee_count):
        first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(index * 7 + rng.randrange(len(_LAST_NAMES))) % len(_LAST_NAMES)]
        employees.append(Employee(
            user_id=stable_id("cuuser_", seed, "user", index),
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}{index}@example.com",
            department=DEPARTMENTS[rng.randrange(len(DEPARTMENTS))],
            location=LOCATIONS[rng.randrange(len(LOCATIONS))],
        ))
    return Company(seed=seed, name="Acme Robotics Inc.", employees=tuple(employees))


def month_days(month: str) -> list[date]:
    """Every date in a YYYY-MM month."""
    year, mon = (int(part) for part in month.split("-"))
    first = date(year, mon, 1)
    days = []
    current = first
    while current.month == mon:
        days.append(current)
        current = date.fromordinal(current.toordinal() + 1)
    return days


def months_ending(last_month: str, count: int) -> list[str]:
    """`count` consecutive YYYY-MM months ending with `last_month`, oldest first."""
    year, mon = (int(part) for part in last_month.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        mon -= 1
        if mon == 0:
            year, mon = year - 1, 12
    return list(reversed(out))


# --- organisation profiles (`SandboxConfig.org`) ------------------------------------------------------
# Additive: nothing above depends on these. Each ledger sandbox renders a profile in its own vocabulary.


@dataclass(frozen=True)
class VatRate:
    """A purchase tax rate of an organisation; `kind` says how a VAT return treats it."""

    key: str  # stable key for ids: "standard", "reduced", ...
    name: str
    percentage: Decimal
    kind: str  # "standard" | "reduced" | "zero" | "exempt" | "out_of_scope"
    is_active: bool = True


@dataclass(frozen=True)
class OrgProfile:
    """Who the company is in one ledger organisation: country, base currency, tax and locations."""

    key: str  # "us" | "uk"
    legal_name: str
    country_code: str  # ISO 3166-1 alpha-2
    base_currency: str
    time_zone: str
    fiscal_year_start_month: int
    rates_to_base: dict[str, Decimal]  # units of base currency for one unit of each currency
    vat_rates: tuple[VatRate, ...] = ()  # empty: tax is not enabled
    business_locations: tuple[str, ...] = ()  # empty: one implicit location, the feature is off

    @property
    def is_tax_enabled(self) -> bool:
        return bool(self.vat_rates)


UK_VAT_RATES: tuple[VatRate, ...] = (
    VatRate("standard", "Standard Rate", Decimal("20"), "standard"),
    VatRate("reduced", "Reduced Rate", Decimal("5"), "reduced"),
    VatRate("zero", "Zero Rate", Decimal("0"), "zero"),
    VatRate("exempt", "Exempt", Decimal("0"), "exempt"),
    VatRate("out_of_scope", "Out of Scope", Decimal("0"), "out_of_scope"),
    # The standard rate before 4 January 2011, kept inactive: the "inactive tax code" exception.
    VatRate("standard_2010", "Standard Rate (17.5%)", Decimal("17.5"), "standard", is_active=False),
)

ORG_PROFILES: dict[str, OrgProfile] = {
    "us": OrgProfile("us", "Acme Robotics Inc.", "US", "USD", "America/New_York", 1,
                     {c.code: c.rate_to_base for c in CURRENCIES}),
    "uk": OrgProfile("uk", "Acme Robotics Ltd", "GB", "GBP", "Europe/London", 4,
                     # CURRENCIES' USD rates divided by GBP's 1.2700, to six places.
                     {"GBP": Decimal("1"), "USD": Decimal("0.787402"), "EUR": Decimal("0.854331"),
                      "JPY": Decimal("0.005276")},
                     vat_rates=UK_VAT_RATES, business_locations=("London", "Manchester", "Edinburgh")),
}
