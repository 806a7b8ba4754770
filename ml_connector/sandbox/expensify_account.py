"""The mutable side of the sandbox Expensify account: late reports, approvals, export labels and files.

Generated months are rebuilt from the seed on demand; only what clients and tests change is kept here,
and that is what `dump`/`load` carry across restarts.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from ml_connector.sandbox.catalog import Company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.expensify_data import (
    DATETIME_FORMAT,
    Policy,
    Report,
    ReportFactory,
    build_policies,
    report_id,
)


class ExpensifyAccount:
    def __init__(self, company: Company, config: SandboxConfig) -> None:
        self.company = company
        self.config = config
        self.policies: list[Policy] = build_policies(company, config.org)
        self.factory = ReportFactory(company, self.policies)
        self._months: dict[str, list[Report]] = {}
        self.late_reports: list[Report] = []
        self.approvals: dict[str, dict[str, str]] = {}  # report id -> state/submitted/approved set late
        self.labels: dict[str, list[str]] = {}  # report id -> export labels, oldest first
        self.files: dict[str, str] = {}  # exporter file name -> rendered content

    # -- reading

    def policy(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.policy_id == policy_id), None)

    def reports(self) -> list[Report]:
        """Every report of the configured months plus the late ones, with late approvals applied."""
        out = []
        for month in self.config.month_keys:
            if month not in self._months:
                self._months[month] = self.factory.month(month, self.config.expensify_reports_per_month)
            out.extend(self._months[month])
        out.extend(self.late_reports)
        for report in out:
            change = self.approvals.get(report.report_id)
            if change:
                report.state, report.submitted, report.approved = (
                    change["state"],
                    change["submitted"],
                    change["approved"],
                )
                report.reimbursed = change.get("reimbursed", report.reimbursed)
        return out

    def report(self, rid: str) -> Report | None:
        return next((r for r in self.reports() if r.report_id == rid), None)

    # -- changing

    def mark_exported(self, reports: list[Report], label: str) -> None:
        for report in reports:
            labels = self.labels.setdefault(report.report_id, [])
            if label not in labels:
                labels.append(label)

    def add_late_report(
        self,
        approved: datetime,
        state: str = "APPROVED",
        employee_email: str | None = None,
        expense_count: int | None = None,
    ) -> Report:
        """A report approved at `approved` (typically in a month a client has already synced)."""
        index = len(self.late_reports)
        rng = random.Random(f"{self.company.seed}:expensify-late:{index}")
        employees = [e for e in self.company.employees if employee_email in (None, e.email)]
        if not employees:
            raise ValueError(f"no employee with email {employee_email!r}")
        employee = rng.choice(employees)
        report = self.factory.report(
            rng, report_id(self.company.seed, "late", index), employee, state, approved
        )
        if expense_count is not None:
            while len(report.expenses) < expense_count:
                report.expenses.append(
                    self.factory.expense(
                        rng, report.report_id, len(report.expenses), employee, approved.date()
                    )
                )
            del report.expenses[expense_count:]
        report.is_late = True
        self.late_reports.append(report)
        return report

    def approve(self, report: Report, approved: datetime) -> Report:
        if report.state not in ("OPEN", "SUBMITTED"):
            raise ValueError(
                f"report {report.report_id} is {report.state}; only OPEN or SUBMITTED can be approved"
            )
        submitted = report.submitted or (approved - timedelta(hours=1)).strftime(DATETIME_FORMAT)
        self.approvals[report.report_id] = {
            "state": "APPROVED",
            "submitted": submitted,
            "approved": approved.strftime(DATETIME_FORMAT),
        }
        return self.report(report.report_id)

    # -- persistence

    def dump(self) -> dict:
        return {
            "late_reports": [r.to_dict() for r in self.late_reports],
            "approvals": self.approvals,
            "labels": self.labels,
            "files": self.files,
        }

    def load(self, data: dict) -> None:
        self.late_reports = [Report.from_dict(r) for r in data.get("late_reports", [])]
        self.approvals = dict(data.get("approvals", {}))
        self.labels = {rid: list(labels) for rid, labels in data.get("labels", {}).items()}
        self.files = dict(data.get("files", {}))
        self._months.clear()


def parse_moment(text: str) -> datetime:
    """`yyyy-mm-dd` (noon) or `yyyy-mm-dd HH:MM:SS`, as the control routes accept them."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time()) + timedelta(hours=12)
    return datetime.strptime(text, DATETIME_FORMAT)
