"""The Integration Server jobs the connector uses: Report Exporter, Downloader, policy getters, report status
updater. Each follows /work/shared/reference/notes/expensify.md; section numbers below point there.

Money is the account's (expensify_data.py): a policy's `outputCurrency` is its organisation's base currency
(USD in "us", GBP in "uk"), and exported reports carry `currency`, `total` and each expense's
`convertedAmount` in it."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from starlette.responses import Response

from ml_connector.sandbox import freemarker
from ml_connector.sandbox.catalog import PROJECTS, UNMAPPED_EXPENSIFY_CATEGORY
from ml_connector.sandbox.expensify_account import ExpensifyAccount
from ml_connector.sandbox.expensify_data import (
    STATES,
    STATUS_NAMES,
    Report,
    approver_for,
    policy_for,
    report_model,
)
from ml_connector.sandbox.expensify_tax import policy_tax
from ml_connector.sandbox.expensify_wire import TEXT_PLAIN, JobError, ok_json

# Spreadsheets and PDFs are stored as the template's text: the sandbox renders no binary formats.
EXTENSIONS = ("csv", "xls", "xlsx", "txt", "pdf", "json", "xml")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _comma_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _date(filters: dict, key: str) -> date | None:
    value = filters.get(key)
    if value in (None, ""):
        return None
    try:
        if not _DATE.fullmatch(str(value)):
            raise ValueError
        return date.fromisoformat(str(value))
    except ValueError:
        raise JobError(410, f"Malformed date '{value}'. Expected format is yyyy-MM-dd") from None


# ---------------------------------------------------------------- Report Exporter (§2)


def export(account: ExpensifyAccount, job: dict, template: str | None, receipt_base: str) -> Response:
    if (job.get("onReceive") or {}).get("immediateResponse") != ["returnRandomFileName"]:
        raise JobError(
            410,
            "Argument 'onReceive' is missing or malformed: only "
            '{"immediateResponse":["returnRandomFileName"]} is supported',
        )
    settings = job.get("inputSettings") or {}
    if settings.get("type") != "combinedReportData":
        raise JobError(410, "Argument 'inputSettings.type' is missing or malformed: use 'combinedReportData'")
    if not template:
        raise JobError(410, "No Template Submitted")  # §1: the template is its own form field
    output = job.get("outputSettings") or {}
    extension = (_comma_list(output.get("fileExtension")) or [""])[0].lower()
    if extension not in EXTENSIONS:
        raise JobError(
            410,
            f"Argument 'outputSettings.fileExtension' is missing or malformed: use one of "
            f"{', '.join(EXTENSIONS)}, not '{extension}'",
        )
    reports = select_reports(account, settings)
    model = {
        "reports": [
            report_model(r, account.policy(r.policy_id), account.company, receipt_base) for r in reports
        ],
        "addHeader": True,
    }
    try:
        content = freemarker.render(template, model)
    except freemarker.TemplateError as exc:
        raise JobError(500, f"Error while rendering the template: {exc}") from exc
    name = f"{output.get('fileBasename') or 'export'}{uuid.uuid4()}.{extension}"
    account.files[name] = content
    if str(job.get("test", "false")).lower() != "true":
        for action in job.get("onFinish") or []:
            _finish(account, action, reports)
    # Success is the bare file name, not JSON (§2, recorded live).
    return Response(name, media_type=TEXT_PLAIN)


def select_reports(account: ExpensifyAccount, settings: dict) -> list[Report]:
    filters = settings.get("filters") or {}
    ids = _comma_list(filters.get("reportIDList"))
    start, end, approved_after = (_date(filters, key) for key in ("startDate", "endDate", "approvedAfter"))
    if not ids and start is None and approved_after is None:
        raise JobError(
            410,
            "Required parameter 'startDate' is missing: give filters.startDate, "
            "filters.approvedAfter or filters.reportIDList",
        )
    anchor = start or approved_after
    if anchor is not None:
        if end is None and anchor < date.today() - timedelta(days=365):
            raise JobError(
                410,
                "Required parameter 'endDate' is missing: it is required when startDate or "
                "approvedAfter is more than one year ago",
            )
        if end is not None and end - anchor > timedelta(days=366):
            raise JobError(
                410, "The date range between startDate/approvedAfter and endDate cannot exceed one year"
            )
    states = _comma_list(settings.get("reportState"))
    for state in states:
        if state not in STATES:
            raise JobError(410, f"Status '{state}' is not supported")
    policies = _comma_list(filters.get("policyIDList"))
    label = filters.get("markedAsExported")
    employee = settings.get("employeeEmail")
    selected = []
    for report in account.reports():
        if ids and report.report_id not in ids:
            continue
        if states and report.state not in states:
            continue
        if policies and report.policy_id not in policies:
            continue
        if start and report.activity_date < start:  # max(created, submitted), not approval (§9)
            continue
        if end and report.activity_date > end:
            continue
        # "Filters out all reports approved before, or on that date"; unapproved reports are not judged.
        if approved_after and report.approved_date is not None and report.approved_date <= approved_after:
            continue
        if label and label in account.labels.get(report.report_id, []):
            continue
        if employee and (report.employee_email != employee or report.state == "OPEN"):
            continue
        selected.append(report)
    selected.sort(key=lambda r: (r.created, r.report_id))
    limit = settings.get("limit")
    if limit not in (None, ""):
        if not str(limit).isdigit():
            raise JobError(410, f"Argument 'limit' is missing or malformed: '{limit}' is not an integer")
        selected = selected[: int(limit)]
    return selected


def _finish(account: ExpensifyAccount, action: dict, reports: list[Report]) -> None:
    name = action.get("actionName")
    if name == "markAsExported":
        label = action.get("label")
        if not label:
            raise JobError(410, "Required parameter 'label' is missing")
        account.mark_exported(reports, label)
    elif name not in ("email", "sftpUpload"):  # accepted and not carried out: the sandbox sends nothing
        raise JobError(410, f"Argument 'actionName' is missing or malformed: '{name}'")


# ---------------------------------------------------------------- Downloader (§3)


def download(account: ExpensifyAccount, job: dict) -> Response:
    name = job.get("fileName")
    if not name:
        raise JobError(410, "Required parameter 'fileName' is missing")
    file_system = job.get("fileSystem") or "integrationServer"
    if file_system != "integrationServer" or name not in account.files:
        raise JobError(410, "File not found")
    return Response(account.files[name], media_type=TEXT_PLAIN)


# ---------------------------------------------------------------- getters (§5)


def get(account: ExpensifyAccount, job: dict) -> Response:
    settings = job.get("inputSettings") or {}
    kind = settings.get("type")
    if kind == "policyList":
        return ok_json(
            {
                "policyList": [
                    {
                        "outputCurrency": p.output_currency,
                        "owner": p.owner_email,
                        "role": "admin",
                        "name": p.name,
                        "id": p.policy_id,
                        "type": p.type,
                    }
                    for p in account.policies
                ]
            }
        )
    if kind == "policy":
        return ok_json({"policyInfo": _policy_info(account, settings)})
    raise JobError(410, "Argument 'type' is missing or malformed")


def _policy_info(account: ExpensifyAccount, settings: dict) -> dict:
    ids = settings.get("policyIDList")
    if not isinstance(ids, list) or not ids:
        raise JobError(410, "Required parameter 'policyIDList' is missing")
    fields = settings.get("fields")
    if not isinstance(fields, list) or not fields:
        raise JobError(410, "Required parameter 'fields' is missing")
    info = {}
    for pid in ids:
        policy = account.policy(str(pid))
        if policy is None:
            raise JobError(410, f"Policy '{pid}' was not found or you do not have access to it")
        entry: dict = {}
        if "categories" in fields:
            # Category GL codes in getter output are unconfirmed (§5); given as glCode, the tags' spelling.
            names = list(account.company.expensify_categories) + [UNMAPPED_EXPENSIFY_CATEGORY]
            entry["categories"] = [
                {
                    "name": name,
                    "enabled": True,
                    "areCommentsRequired": False,
                    "glCode": account.company.expensify_categories.get(name, ""),
                }
                for name in names
            ]
        if "tags" in fields:
            entry["tags"] = [
                {"name": "Department", "tags": [_tag(d) for d in account.company.departments]},
                {"name": "Project", "tags": [_tag(p) for p in PROJECTS]},
            ]
        if "employees" in fields:
            entry["employees"] = _employees(account, policy.policy_id)
        if "reportFields" in fields:
            entry["reportFields"] = []
        if "tax" in fields:
            entry["tax"] = policy_tax(policy.org)  # {} in the "us" organisation
        info[policy.policy_id] = entry
    return info


def _tag(name: str) -> dict:
    return {"name": name, "enabled": True, "glCode": ""}


def _employees(account: ExpensifyAccount, policy_id: str) -> list[dict]:
    company = account.company
    admin = company.employees[0]
    out = []
    for index, employee in enumerate(company.employees):
        if policy_for(employee, account.policies).policy_id != policy_id and employee != admin:
            continue
        out.append(
            {
                "email": employee.email,
                "role": "admin" if employee == admin else "user",
                "submitsTo": approver_for(employee, company).email,
                "employeeID": f"Emp{index + 1}",
                "customField1": employee.department,
                "customField2": employee.location,
            }
        )
    return out


# ---------------------------------------------------------------- report status updater (§6)


def update(account: ExpensifyAccount, job: dict) -> Response:
    settings = job.get("inputSettings") or {}
    if settings.get("type") != "reportStatus":
        raise JobError(410, "Argument 'type' is missing or malformed")
    status = settings.get("status")
    if status != "REIMBURSED":
        raise JobError(410, f"Status '{status}' is not supported")
    filters = settings.get("filters") or {}
    ids = _comma_list(filters.get("reportIDList"))
    if not ids and not filters.get("startDate"):
        raise JobError(410, "Required parameter 'reportIDList' is missing")
    reports = select_reports(
        account,
        {"filters": {k: v for k, v in filters.items() if k in ("reportIDList", "startDate", "endDate")}},
    )
    done, skipped = [], []
    for report in reports:
        if report.state != "APPROVED":
            skipped.append(
                {
                    "reason": f"Report is in status '{STATUS_NAMES[report.state]}'",
                    "reportID": report.report_id,
                }
            )
            continue
        account.approvals[report.report_id] = {
            "state": "REIMBURSED",
            "submitted": report.submitted,
            "approved": report.approved,
            "reimbursed": f"{date.today().isoformat()} 12:00:00",
        }
        done.append(report.report_id)
    # Live partial runs answer 200 without failedReports (§6, recorded).
    return ok_json({"skippedReports": skipped, "reportIDs": done})
