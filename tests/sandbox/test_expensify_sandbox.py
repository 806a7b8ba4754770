"""Sandbox Expensify Integration Server over real HTTP: exports, filters, marks, getters, limits, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import requests

from ml_connector.sandbox.catalog import (
    DEPARTMENTS,
    EXPENSIFY_CATEGORIES,
    ORG_PROFILES,
    PROJECTS,
    UNMAPPED_EXPENSIFY_CATEGORY,
)
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer

TEMPLATE = (
    Path(__file__).resolve().parents[2] / "ml_connector" / "sources" / "expensify_export.ftl"
).read_text()
ENDPOINT = "/Integration-Server/ExpensifyIntegrations"


class Expensify:
    """A bare Integration Server caller for tests: builds the form fields, nothing more."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base = server.url("expensify")
        creds = server.config.credentials
        self.credentials = {
            "partnerUserID": creds.expensify_partner_user_id,
            "partnerUserSecret": creds.expensify_partner_user_secret,
        }

    def post(self, job: dict, template: str | None = None, raw: str | None = None) -> requests.Response:
        job = {"credentials": self.credentials, **job}
        fields = {"requestJobDescription": raw if raw is not None else json.dumps(job)}
        if template is not None:
            fields["template"] = template
        return requests.post(self.base + ENDPOINT, data=fields, timeout=10)

    def export(
        self,
        filters: dict,
        report_state: str | None = "APPROVED,REIMBURSED",
        on_finish=None,
        template: str = TEMPLATE,
        **extra,
    ) -> requests.Response:
        settings = {"type": "combinedReportData", "filters": filters}
        if report_state:
            settings["reportState"] = report_state
        job = {
            "type": "file",
            "onReceive": {"immediateResponse": ["returnRandomFileName"]},
            "inputSettings": settings,
            "outputSettings": {"fileExtension": "json"},
            **extra,
        }
        if on_finish:
            job["onFinish"] = on_finish
        return self.post(job, template)

    def download(self, name: str) -> requests.Response:
        return self.post({"type": "download", "fileName": name, "fileSystem": "integrationServer"})

    def exported(self, filters: dict, **kwargs) -> list[dict]:
        """Export then download; the reports of the connector's JSON template."""
        response = self.export(filters, **kwargs)
        assert response.status_code == 200
        assert not response.text.startswith("{"), response.text
        return json.loads(self.download(response.text.strip()).text)["reports"]

    def control(self, path: str, body: dict | None = None) -> dict:
        url = f"{self.base}/_sandbox/{path}"
        response = (
            requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)
        )
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=11, rate_limits="off", expensify_reports_per_month=15)) as running:
        yield running


@pytest.fixture
def expensify(server: SandboxServer) -> Expensify:
    server.faults.clear()
    return Expensify(server)


def first_day(server: SandboxServer) -> str:
    return server.config.month_keys[0] + "-01"


def activity_day(summary: dict) -> str:
    return max(summary["created"], summary["submitted"])[:10]


def test_export_download_round_trip_gives_reports_in_cents(
    expensify: Expensify, server: SandboxServer
) -> None:
    reports = expensify.exported({"startDate": first_day(server)})
    expected = {
        s["reportID"]
        for s in expensify.control("reports")["reports"]
        if s["state"] in ("APPROVED", "REIMBURSED") and activity_day(s) >= first_day(server)
    }
    assert {r["reportID"] for r in reports} == expected
    expenses = [e for r in reports for e in r["expenses"]]
    assert all(isinstance(e["amount"], int) and isinstance(e["reportAmount"], int) for e in expenses)
    for report in reports:
        assert report["currency"] == "USD"
        assert report["total"] == sum(e["reportAmount"] for e in report["expenses"])
        assert report["approved"] and report["employeeEmail"].endswith("@example.com")
    foreign = [e for e in expenses if e["currency"] != "USD"]
    assert foreign and all(e["convertedAmount"] != e["amount"] for e in foreign)
    assert any(e["category"] == UNMAPPED_EXPENSIFY_CATEGORY and e["categoryGlCode"] == "" for e in expenses)
    assert any(e["receiptURL"] for e in expenses) and any(not e["receiptURL"] for e in expenses)


def test_receipt_urls_serve_images(expensify: Expensify, server: SandboxServer) -> None:
    reports = expensify.exported({"startDate": first_day(server)})
    url = next(e["receiptURL"] for r in reports for e in r["expenses"] if e["receiptURL"])
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_report_state_filter(expensify: Expensify, server: SandboxServer) -> None:
    reports = expensify.exported({"startDate": first_day(server)}, report_state="SUBMITTED")
    assert reports and {r["state"] for r in reports} == {"SUBMITTED"}


def test_approved_after_excludes_the_named_day(expensify: Expensify, server: SandboxServer) -> None:
    summaries = [s for s in expensify.control("reports")["reports"] if s["approved"]]
    day = sorted(s["approved"][:10] for s in summaries)[len(summaries) // 2]
    reports = expensify.exported({"approvedAfter": day})
    assert {r["reportID"] for r in reports} == {s["reportID"] for s in summaries if s["approved"][:10] > day}


def test_start_and_end_date_filter_on_created_or_submitted(
    expensify: Expensify, server: SandboxServer
) -> None:
    start, end = server.config.month_keys[1] + "-01", server.config.month_keys[1] + "-20"
    reports = expensify.exported({"startDate": start, "endDate": end}, report_state=None)
    expected = {
        s["reportID"] for s in expensify.control("reports")["reports"] if start <= activity_day(s) <= end
    }
    assert expected and {r["reportID"] for r in reports} == expected


def test_report_id_and_policy_id_lists(expensify: Expensify, server: SandboxServer) -> None:
    summaries = [s for s in expensify.control("reports?state=APPROVED")["reports"]]
    wanted = [s["reportID"] for s in summaries[:3]]
    assert [r["reportID"] for r in expensify.exported({"reportIDList": ",".join(wanted)})] == sorted(
        wanted, key=lambda rid: next(s["created"] for s in summaries if s["reportID"] == rid)
    )
    policy = summaries[0]["policyID"]
    reports = expensify.exported({"startDate": first_day(server), "policyIDList": policy})
    assert reports and {r["policyID"] for r in reports} == {policy}


def test_mark_as_exported_then_filtered_out(expensify: Expensify, server: SandboxServer) -> None:
    label = "zoho-books-mark-test"
    marked = [s["reportID"] for s in expensify.control("reports?state=REIMBURSED")["reports"][:2]]
    dry = expensify.export(
        {"reportIDList": ",".join(marked)},
        on_finish=[{"actionName": "markAsExported", "label": label}],
        test="true",
    )
    assert dry.status_code == 200 and expensify.control(f"reports/{marked[0]}")["exportedLabels"] == []
    expensify.export(
        {"reportIDList": ",".join(marked)}, on_finish=[{"actionName": "markAsExported", "label": label}]
    )
    assert label in expensify.control(f"reports/{marked[0]}")["exportedLabels"]
    remaining = expensify.exported({"startDate": first_day(server), "markedAsExported": label})
    ids = {r["reportID"] for r in remaining}
    assert ids and not ids & set(marked)
    assert set(marked) <= {r["reportID"] for r in expensify.exported({"startDate": first_day(server)})}


def test_export_matching_nothing_gives_an_empty_file(expensify: Expensify) -> None:
    assert expensify.exported({"reportIDList": "R00NoSuchRep0"}) == []


def test_late_report_is_exported_after_its_month(expensify: Expensify, server: SandboxServer) -> None:
    label = "late-test"
    month = server.config.month_keys[0]
    expensify.exported(
        {"startDate": first_day(server)}, on_finish=[{"actionName": "markAsExported", "label": label}]
    )
    late = expensify.control("reports", {"approved": f"{month}-15", "expenses": 2})
    assert late["approved"].startswith(f"{month}-15") and late["isLate"]
    reports = expensify.exported({"approvedAfter": f"{month}-14", "markedAsExported": label})
    assert [r["reportID"] for r in reports] == [late["reportID"]]
    assert len(reports[0]["expenses"]) == 2


def test_submitted_report_can_be_approved_late(expensify: Expensify, server: SandboxServer) -> None:
    submitted = expensify.control("reports?state=SUBMITTED")["reports"][0]
    approved_at = server.config.month_keys[-1] + "-28 10:00:00"
    summary = expensify.control(f"reports/{submitted['reportID']}/approve", {"approved": approved_at})
    assert summary["state"] == "APPROVED" and summary["approved"] == approved_at
    assert [r["state"] for r in expensify.exported({"reportIDList": submitted["reportID"]})] == ["APPROVED"]


def test_policy_getter_gives_categories_tags_and_employees(expensify: Expensify) -> None:
    policies = expensify.post({"type": "get", "inputSettings": {"type": "policyList"}}).json()["policyList"]
    ids = [p["id"] for p in policies]
    answer = expensify.post(
        {
            "type": "get",
            "inputSettings": {
                "type": "policy",
                "policyIDList": ids,
                "fields": ["categories", "tags", "employees"],
            },
        }
    ).json()
    assert answer["responseCode"] == 200 and set(answer["policyInfo"]) == set(ids)
    info = answer["policyInfo"][ids[0]]
    codes = {c["name"]: c["glCode"] for c in info["categories"]}
    assert codes == {**EXPENSIFY_CATEGORIES, UNMAPPED_EXPENSIFY_CATEGORY: ""}
    tag_lists = {level["name"]: [t["name"] for t in level["tags"]] for level in info["tags"]}
    assert tag_lists == {"Department": list(DEPARTMENTS), "Project": list(PROJECTS)}
    assert all({"email", "role", "submitsTo"} <= set(e) for e in info["employees"])


def test_wrong_credentials_are_refused_under_http_200(expensify: Expensify) -> None:
    expensify.credentials = {"partnerUserID": "aa_someone_example_com", "partnerUserSecret": "wrong"}
    response = expensify.post({"type": "get", "inputSettings": {"type": "policyList"}})
    assert response.status_code == 200
    assert response.json() == {"responseMessage": "Authentication error", "responseCode": 401}


def test_update_job_reimburses_approved_reports_and_skips_others(expensify: Expensify) -> None:
    approved = expensify.control("reports?state=APPROVED")["reports"][0]["reportID"]
    opened = expensify.control("reports?state=OPEN")["reports"][0]["reportID"]
    answer = expensify.post(
        {
            "type": "update",
            "inputSettings": {
                "type": "reportStatus",
                "status": "REIMBURSED",
                "filters": {"reportIDList": f"{approved},{opened}"},
            },
        }
    ).json()
    assert answer == {
        "skippedReports": [{"reason": "Report is in status 'Open'", "reportID": opened}],
        "reportIDs": [approved],
        "responseCode": 200,
    }
    assert expensify.control(f"reports/{approved}")["state"] == "REIMBURSED"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    config = SandboxConfig(seed=5, rate_limits="off", state_file=str(tmp_path / "state.json"))
    with SandboxServer(config) as first:
        client = Expensify(first)
        rid = client.control("reports?state=APPROVED")["reports"][0]["reportID"]
        name = client.export(
            {"reportIDList": rid}, on_finish=[{"actionName": "markAsExported", "label": "x"}]
        ).text
        late = client.control("reports", {"approved": first.config.month_keys[0] + "-10"})
    with SandboxServer(
        SandboxConfig(seed=5, rate_limits="off", state_file=str(tmp_path / "state.json"))
    ) as second:
        client = Expensify(second)
        assert client.control(f"reports/{rid}")["exportedLabels"] == ["x"]
        assert client.control(f"reports/{late['reportID']}")["isLate"]
        assert [r["reportID"] for r in json.loads(client.download(name).text)["reports"]] == [rid]


def test_per_10_seconds_limit_answers_429_in_the_body() -> None:
    config = SandboxConfig(limit_overrides={"expensify.per_10s": 3, "expensify.per_minute": 100})
    with SandboxServer(config) as running:
        client = Expensify(running)
        answers = [client.post({"type": "get", "inputSettings": {"type": "policyList"}}) for _ in range(4)]
    assert [a.json()["responseCode"] for a in answers] == [200, 200, 200, 429]
    assert answers[-1].status_code == 200 and "rate-limited" in answers[-1].json()["responseMessage"]


def test_per_minute_limit_answers_429_in_the_body() -> None:
    config = SandboxConfig(limit_overrides={"expensify.per_10s": 100, "expensify.per_minute": 4})
    with SandboxServer(config) as running:
        client = Expensify(running)
        codes = [
            client.post({"type": "get", "inputSettings": {"type": "policyList"}}).json()["responseCode"]
            for _ in range(6)
        ]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_real_limit_of_five_per_ten_seconds_applies_by_default() -> None:
    with SandboxServer(SandboxConfig()) as running:
        client = Expensify(running)
        codes = [
            client.post({"type": "get", "inputSettings": {"type": "policyList"}}).json()["responseCode"]
            for _ in range(6)
        ]
    assert codes == [200] * 5 + [429]


def test_fault_middleware_injects_failures_but_spares_control_routes(
    expensify: Expensify, server: SandboxServer
) -> None:
    server.faults.force("server_error", path_contains="/expensify/Integration-Server")
    failed = expensify.post({"type": "get", "inputSettings": {"type": "policyList"}})
    assert failed.status_code == 500
    server.faults.force("rate_limited", path_contains="/expensify/")
    assert expensify.control("reports?state=OPEN")["reports"]  # exempt: the forced fault still waits
    limited = expensify.post({"type": "get", "inputSettings": {"type": "policyList"}})
    assert limited.status_code == 200 and limited.json()["responseCode"] == 429
    assert (
        expensify.post({"type": "get", "inputSettings": {"type": "policyList"}}).json()["responseCode"] == 200
    )


# --- tax in the UK organisation (org="uk") -----------------------------------------------------------------

# A template that asks for Expensify's tax fields (the connector's own template does not export them yet).
TAX_TEMPLATE = """[<#list reports as report><#list report.transactionList as expense>
{"id": "${expense.transactionID}", "hasTax": ${expense.hasTax?c}, "amount": ${expense.amount?c},
 "modifiedAmount": "<#if expense.modifiedAmount?has_content>${expense.modifiedAmount?c}</#if>",
 "currency": "${expense.currency}", "taxName": "${expense.taxName!""}",
 "taxAmount": "<#if (expense.taxAmount!"")?has_content>${expense.taxAmount?c}</#if>",
 "taxRateName": "${expense.taxRateName!""}", "taxCode": "${expense.taxCode!""}",
 "taxRate": "<#if (expense.taxRate!"")?has_content>${expense.taxRate?c}</#if>",
 "modifiedTaxAmount": "${expense.modifiedTaxAmount!"absent"}"}<#sep>,</#sep>
</#list><#sep>,</#sep></#list>]"""


@pytest.fixture(scope="module")
def uk_expensify() -> Iterator[Expensify]:
    config = SandboxConfig(seed=11, rate_limits="off", expensify_reports_per_month=15, org="uk")
    with SandboxServer(config) as running:
        yield Expensify(running)


def tax_rows(expensify: Expensify) -> list[dict]:
    first = expensify.server.config.month_keys[0] + "-01"
    response = expensify.export({"startDate": first}, template=TAX_TEMPLATE)
    return json.loads(expensify.download(response.text.strip()).text)


def test_uk_policies_list_the_vat_rates(uk_expensify: Expensify) -> None:
    ids = [p["id"] for p in uk_expensify.post({"type": "get", "inputSettings": {"type": "policyList"}})
           .json()["policyList"]]
    answer = uk_expensify.post({"type": "get", "inputSettings": {"type": "policy", "policyIDList": ids,
                                                                 "fields": ["tax"]}}).json()
    tax = answer["policyInfo"][ids[0]]["tax"]
    assert tax["name"] == "VAT" and tax["default"] == "id_TAX_RATE_1"
    assert {r["name"]: r["rate"] for r in tax["rates"]} == {
        "Standard Rate": 20, "Reduced Rate": 5, "Zero Rate": 0, "Exempt": 0, "Out of Scope": 0}
    assert {r["rateID"] for r in tax["rates"]} >= {"id_TAX_RATE_1", "id_TAX_EXEMPT"}


def test_uk_expenses_carry_vat_in_cents_taken_out_of_the_gross(uk_expensify: Expensify) -> None:
    rows = tax_rows(uk_expensify)
    assert rows and all(r["hasTax"] is True and r["taxName"] == "VAT" and r["modifiedTaxAmount"] == ""
                        for r in rows)
    for row in rows:
        final = int(row["modifiedAmount"] or row["amount"])
        rate = int(row["taxRate"])
        assert int(row["taxAmount"]) == (final * rate * 2 + (100 + rate)) // (2 * (100 + rate)), row
    assert {r["taxRateName"] for r in rows} >= {"Standard Rate", "Zero Rate"}
    assert all(r["taxRateName"] == "Out of Scope" for r in rows if r["currency"] == "EUR")


def test_us_expenses_carry_no_tax(expensify: Expensify) -> None:
    rows = tax_rows(expensify)
    assert rows and all(r["hasTax"] is False and r["taxAmount"] == "" and r["modifiedTaxAmount"] == "absent"
                        for r in rows)


# --- money in the UK organisation: its policies report in pounds ----------------------------------------

UK_RATES = ORG_PROFILES["uk"].rates_to_base
RATE_TEMPLATE = """[<#list reports as report><#list report.transactionList as expense>
{"currency": "${expense.currency}", "rate": ${expense.currencyConversionRate?c}}<#sep>,</#sep>
</#list><#sep>,</#sep></#list>]"""


def test_uk_policies_report_in_pounds(uk_expensify: Expensify) -> None:
    policies = uk_expensify.post({"type": "get", "inputSettings": {"type": "policyList"}}).json()["policyList"]
    assert len(policies) == 2 and {p["outputCurrency"] for p in policies} == {"GBP"}


def test_uk_reports_are_in_pounds_and_total_their_expenses_converted_at_the_uk_rate(
    uk_expensify: Expensify,
) -> None:
    reports = uk_expensify.exported({"startDate": first_day(uk_expensify.server)})
    assert reports and {r["currency"] for r in reports} == {"GBP"}
    expenses = [e for r in reports for e in r["expenses"]]
    assert {e["currency"] for e in expenses} == {"USD", "EUR", "GBP"}
    for report in reports:
        assert report["total"] == sum(e["convertedAmount"] for e in report["expenses"])
    for expense in expenses:
        final = expense["modifiedAmount"] if expense["modifiedAmount"] is not None else expense["amount"]
        expected = (Decimal(final) * UK_RATES[expense["currency"]]).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert expense["convertedAmount"] == expense["reportAmount"] == int(expected), expense["transactionID"]
    assert all(e["convertedAmount"] == e["amount"] for e in expenses if e["currency"] == "GBP")
    summaries = uk_expensify.control("reports")["reports"]
    assert {s["currency"] for s in summaries} == {"GBP"}


def test_uk_expenses_state_the_uk_rate_they_were_converted_at(uk_expensify: Expensify) -> None:
    response = uk_expensify.export({"startDate": first_day(uk_expensify.server)}, template=RATE_TEMPLATE)
    rows = json.loads(uk_expensify.download(response.text.strip()).text)
    assert rows and {r["currency"] for r in rows} >= {"USD", "GBP"}
    assert all(Decimal(str(r["rate"])) == UK_RATES[r["currency"]] for r in rows)
