"""The sandbox's Expensify account: two policies and a month-by-month stream of expense reports.

Each month's reports come from `month_rng(seed, "expensify", month)`, so a month always holds the same
reports whatever window a server is started with. A report belongs to the month of its approval date
(unapproved ones to the month they were submitted or created in). Amounts are integer cents, as in every
Expensify payload. JPY is never drawn: how Expensify scales amounts of zero-decimal currencies is unconfirmed
(notes §4), and the sandbox does not guess.

Report currency: a policy's `outputCurrency` is its organisation's base currency (`SandboxConfig.org`: USD in
"us", GBP in "uk"), and a report's `currency` is its policy's ("The currency of the report, based on its
policy", notes §4). Every expense keeps its own `currency` and `amount` (what the receipt says) and carries
`convertedAmount`, its final amount (modifiedAmount, else amount; "pre-currency conversion", notes §4) in the
report currency at the organisation's rate (`ORG_PROFILES[org].rates_to_base`, rounded half up to the cent),
with that rate as `currencyConversionRate`; an expense already in the report currency converts at 1. The
report's `total` is the sum of its `convertedAmount`s. The expenses drawn are the same in both organisations
(the company's merchants, mostly American): in "uk" their USD and EUR receipts are the foreign ones. In "us"
the rates are the catalog's own, so its reports are exactly what they always were.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ml_connector.sandbox.catalog import (
    ORG_PROFILES,
    UNMAPPED_EXPENSIFY_CATEGORY,
    Company,
    Employee,
    month_days,
    month_rng,
    numeric_id,
)
from ml_connector.sandbox.expensify_tax import expense_tax

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # report dates, as exports show them (notes §4)
STATES = ("OPEN", "SUBMITTED", "APPROVED", "REIMBURSED", "ARCHIVED")
STATUS_NAMES = {
    "OPEN": "Open",
    "SUBMITTED": "Processing",
    "APPROVED": "Approved",
    "REIMBURSED": "Reimbursed",
    "ARCHIVED": "Closed",
}
REPORT_CURRENCY = "USD"  # the "us" organisation's; a policy reports in its organisation's base currency
FOREIGN_CURRENCIES = ("EUR", "GBP")

# Brex categories of the shared merchant list -> the Expensify policy category an employee would pick.
_CATEGORY_OF_MERCHANT = {
    "AIRLINE_EXPENSES": "Airfare",
    "LODGING": "Lodging",
    "RIDESHARE_AND_TAXI": "Ground Transport",
    "CAR_RENTAL": "Ground Transport",
    "RESTAURANTS": "Meals",
    "FOOD_DELIVERY": "Meals",
    "OFFICE_SUPPLIES": "Office Supplies",
    "TELEPHONY": "Phone and Internet",
    "CONFERENCES": "Conferences",
    "TRAINING_AND_EDUCATION": "Conferences",
    "RECURRING_SOFTWARE_AND_SAAS": "Software",
    "SOFTWARE_NON_RECURRING": "Software",
    "SHIPPING": "Shipping",
}
_PURPOSES = (
    "Customer visit",
    "Conference trip",
    "Monthly expenses",
    "Team travel",
    "R&D offsite",
    "Sales kickoff",
    "Office run",
)
# Comments that a JSON template must escape: quotes, backslashes, line breaks, non-ASCII.
_COMMENTS = (
    "",
    "",
    "",
    "",
    "Client dinner",
    "Taxi to airport",
    'Kickoff with "Globex" team',
    "Line one\nline two",
    "Saved to C:\\receipts\\scan.pdf",
    "Café Zoë – table for 4 ☕",
    "Tab\tseparated <b>note</b>",
)


@dataclass
class Policy:
    policy_id: str
    name: str
    owner_email: str
    output_currency: str = REPORT_CURRENCY
    type: str = "corporate"
    org: str = "us"  # the organisation profile: "uk" policies track VAT (expensify_tax)


@dataclass
class Expense:
    transaction_id: str
    created: str  # yyyy-mm-dd
    merchant: str
    amount: int  # cents, in `currency`
    currency: str
    converted_amount: int  # cents, in the report currency
    conversion_rate: str
    category: str
    department: str
    project: str
    comment: str
    mcc: str
    billable: bool
    reimbursable: bool
    receipt_id: str | None
    modified_amount: int | None = None  # cents, pre-conversion, when someone edited the amount
    modified_merchant: str | None = None


@dataclass
class Report:
    report_id: str
    name: str
    policy_id: str
    employee_email: str
    manager_email: str
    state: str
    created: str
    submitted: str
    approved: str
    reimbursed: str
    currency: str
    expenses: list[Expense] = field(default_factory=list)
    is_late: bool = False  # added through the control route after its month was generated

    @property
    def total(self) -> int:
        return sum(expense.converted_amount for expense in self.expenses)

    @property
    def approved_date(self) -> date | None:
        return _day(self.approved)

    @property
    def activity_date(self) -> date:
        """max(created, submitted): what startDate/endDate filter on (notes §2, §9)."""
        return max(d for d in (_day(self.created), _day(self.submitted)) if d is not None)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        expenses = [Expense(**expense) for expense in data.get("expenses", [])]
        return cls(**{**data, "expenses": expenses})


def _day(stamp: str) -> date | None:
    return date.fromisoformat(stamp[:10]) if stamp else None


def _stamp(moment: datetime | None) -> str:
    return moment.strftime(DATETIME_FORMAT) if moment else ""


def report_id(*parts: object) -> str:
    """`R` + 11 base-62 characters, the current report id form (notes §4): e.g. R00bCluvcO4T."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest(), 16)
    chars = []
    for _ in range(9):
        number, rem = divmod(number, 62)
        chars.append(alphabet[rem])
    return "R00" + "".join(chars)


def policy_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16].upper()


def build_policies(company: Company, org: str = "us") -> list[Policy]:
    owner = company.employees[0].email
    currency = ORG_PROFILES[org].base_currency
    return [
        Policy(policy_id(company.seed, "policy", "corporate"), f"{company.name} Corporate", owner, currency,
               org=org),
        Policy(policy_id(company.seed, "policy", "field-sales"), f"{company.name} Field Sales", owner, currency,
               org=org),
    ]


def policy_for(employee: Employee, policies: list[Policy]) -> Policy:
    # Sales submits to the Field Sales policy; everyone else to the corporate one.
    return policies[1] if employee.department == "Sales" else policies[0]


def approver_for(employee: Employee, company: Company) -> Employee:
    admin, deputy = company.employees[0], company.employees[1]
    return deputy if employee.email == admin.email else admin


class ReportFactory:
    """Draws reports and their expenses for the sandbox company."""

    def __init__(self, company: Company, policies: list[Policy]) -> None:
        self.company = company
        self.policies = policies
        self.merchants = [
            m
            for m in company.merchants
            if m.category in _CATEGORY_OF_MERCHANT and m.currency in ("USD",) + FOREIGN_CURRENCIES
        ]

    def month(self, month: str, count: int) -> list[Report]:
        rng = month_rng(self.company.seed, "expensify", month)
        days = month_days(month)
        reports = []
        for index in range(count):
            state = rng.choices(("APPROVED", "REIMBURSED", "SUBMITTED", "OPEN"), weights=(45, 40, 10, 5))[0]
            anchor = datetime.combine(rng.choice(days), datetime.min.time()) + timedelta(
                seconds=rng.randrange(8 * 3600, 19 * 3600)
            )
            employee = rng.choice(self.company.employees)
            reports.append(
                self.report(rng, report_id(self.company.seed, month, index), employee, state, anchor)
            )
        return reports

    def report(
        self, rng: random.Random, rid: str, employee: Employee, state: str, anchor: datetime
    ) -> Report:
        """A report whose state-defining moment (approval, submission or creation) is `anchor`."""
        approved = submitted = reimbursed = None
        if state in ("APPROVED", "REIMBURSED", "ARCHIVED"):
            approved = anchor
            submitted = approved - timedelta(hours=rng.randrange(1, 96))
        elif state == "SUBMITTED":
            submitted = anchor
        created = (submitted or anchor) - timedelta(hours=rng.randrange(0, 144))
        if state == "REIMBURSED":
            reimbursed = approved + timedelta(hours=rng.randrange(24, 144))
        policy = policy_for(employee, self.policies)
        expenses = [
            self.expense(rng, rid, position, employee, created.date())
            for position in range(rng.randint(1, 6))
        ]
        return Report(
            report_id=rid,
            name=f"{rng.choice(_PURPOSES)} {created:%Y-%m-%d}",
            policy_id=policy.policy_id,
            employee_email=employee.email,
            manager_email=approver_for(employee, self.company).email,
            state=state,
            created=_stamp(created),
            submitted=_stamp(submitted),
            approved=_stamp(approved),
            reimbursed=_stamp(reimbursed),
            currency=policy.output_currency,
            expenses=expenses,
        )

    def expense(
        self, rng: random.Random, rid: str, position: int, employee: Employee, before: date
    ) -> Expense:
        merchant = rng.choice(self.merchants)
        category = _CATEGORY_OF_MERCHANT[merchant.category]
        if rng.random() < 0.05:
            category = UNMAPPED_EXPENSIFY_CATEGORY  # nobody mapped it: an exception downstream
        currency = merchant.currency
        if currency == "USD" and rng.random() < 0.08:
            currency = rng.choice(FOREIGN_CURRENCIES)  # an employee paying abroad
        amount = rng.randint(merchant.low_cents, merchant.high_cents)
        modified_amount = None
        if currency == "USD" and rng.random() < 0.05:
            modified_amount = amount - rng.randint(1, max(1, amount // 10))  # corrected after a receipt check
        # Converted into the report's currency (its policy's output currency) at its organisation's rate.
        rate = ORG_PROFILES[policy_for(employee, self.policies).org].rates_to_base[currency]
        final = modified_amount if modified_amount is not None else amount
        converted = int((Decimal(final) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        transaction_id = numeric_id(self.company.seed, "expensify-transaction", rid, position, digits=19)
        has_receipt = rng.random() < 0.85
        return Expense(
            transaction_id=transaction_id,
            created=(before - timedelta(days=rng.randrange(0, 10))).isoformat(),
            merchant=merchant.name,
            amount=amount,
            currency=currency,
            converted_amount=converted,
            conversion_rate=str(rate),
            category=category,
            department=employee.department,
            project=rng.choice(self.company.projects) if rng.random() < 0.25 else "",
            comment=rng.choice(_COMMENTS),
            mcc=merchant.mcc,
            billable=rng.random() < 0.1,
            reimbursable=rng.random() < 0.9,
            receipt_id=f"w_{transaction_id[-12:]}" if has_receipt else None,
            modified_amount=modified_amount,
            modified_merchant=f"{merchant.name} (edited)" if rng.random() < 0.04 else None,
        )


def report_model(report: Report, policy: Policy, company: Company, receipt_base: str) -> dict:
    """One report as the export template sees it: Expensify's field names, cents, blank strings for
    absent dates and unmodified values (notes §4)."""
    people = {employee.email: employee for employee in company.employees}
    submitter, manager = people.get(report.employee_email), people.get(report.manager_email)
    return {
        "reportID": report.report_id,
        "reportName": report.name,
        "policyID": report.policy_id,
        "policyName": policy.name,
        "accountEmail": report.employee_email,
        "accountID": int(numeric_id(company.seed, "expensify-account", report.employee_email, digits=8)),
        "submitter": _person(submitter),
        "managerEmail": report.manager_email,
        "manager": _person(manager),
        "status": STATUS_NAMES[report.state],
        "state": report.state,
        "created": report.created,
        "submitted": report.submitted,
        "approved": report.approved,
        "reimbursed": report.reimbursed,
        "isACHReimbursed": False,
        "currency": report.currency,
        "total": report.total,
        "transactionList": [
            _expense_model(report, expense, company, receipt_base, policy.org) for expense in report.expenses
        ],
    }


def _person(employee: Employee | None) -> dict:
    if employee is None:
        return {}
    return {"firstName": employee.first_name, "lastName": employee.last_name, "fullName": employee.full_name}


def _expense_model(report: Report, expense: Expense, company: Company, receipt_base: str, org: str) -> dict:
    tag = expense.department + (f":{expense.project}" if expense.project else "")
    receipt: dict = {}
    if expense.receipt_id:
        url = f"{receipt_base}/{expense.receipt_id}.png"
        receipt = {
            "url": url,
            "thumbnail": url,
            "smallThumbnail": url,
            "type": "image",
            "transactionID": expense.transaction_id,
        }
    model = {
        "transactionID": expense.transaction_id,
        "reportID": report.report_id,
        "type": "expense",
        "created": expense.created,
        "modifiedCreated": "",
        "merchant": expense.merchant,
        "modifiedMerchant": expense.modified_merchant or "",
        "amount": expense.amount,
        "modifiedAmount": expense.modified_amount if expense.modified_amount is not None else "",
        "currency": expense.currency,
        "convertedAmount": expense.converted_amount,
        "currencyConversionRate": float(expense.conversion_rate),
        "category": expense.category,
        "categoryGlCode": company.expensify_categories.get(expense.category, ""),
        "categoryPayrollCode": "",
        "tag": tag,
        "ntag1": expense.department,
        "ntag2": expense.project,
        "tagGlCode": "",
        "comment": expense.comment,
        "mcc": int(expense.mcc),
        "billable": expense.billable,
        "reimbursable": expense.reimbursable,
        "hasTax": False,
        "receiptID": expense.receipt_id or "",
        "receiptFilename": f"{expense.receipt_id}.png" if expense.receipt_id else "",
        "receiptObject": receipt,
    }
    final = expense.modified_amount if expense.modified_amount is not None else expense.amount
    model.update(expense_tax(org, expense.category, expense.currency, final))  # nothing in the "us" org
    return model
