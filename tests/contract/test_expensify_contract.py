"""The sandbox Expensify against what the real one is documented or recorded to say.

Expensify publishes no OpenAPI file, so the contract is reference/notes/expensify.md §10: the official
request examples (sent verbatim, credentials swapped in, trailing commas and single quotes kept) and the
responses recorded from the live server, compared key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer

ENDPOINT = "/Integration-Server/ExpensifyIntegrations"

# §10.1, verbatim (the curl -d body).
EXPORT_WITH_LABEL = """{
        "type":"file",
        "credentials":{
            "partnerUserID":"_REPLACE_",
            "partnerUserSecret":"_REPLACE_"
        },
        "onReceive":{
            "immediateResponse":["returnRandomFileName"]
        },
        "inputSettings":{
            "type":"combinedReportData",
            "reportState":"APPROVED,REIMBURSED",
            "limit":"10",
            "filters":{
                "startDate":"2016-01-01",
                "endDate":"2016-02-01",
                "markedAsExported":"Expensify Export"
            }
        },
        "outputSettings":{
            "fileExtension":"xlsx",
            "fileBasename":"myExport"
        },
        "onFinish":[
            {"actionName":"markAsExported","label":"Expensify Export"},
            {"actionName":"email",\
"recipients":"manager@domain.com,finances@domain.com", "message":"Report is ready."}
        ]
    }"""
# §10.2 and §10.5, verbatim apart from compacted whitespace (as in the notes).
EXPORT_BY_IDS = (
    '{"type":"file","credentials":{"partnerUserID":"_REPLACE_","partnerUserSecret":"_REPLACE_"},'
    '"onReceive":{"immediateResponse":["returnRandomFileName"]},'
    '"inputSettings":{"type":"combinedReportData","filters":{"reportIDList": "R00bCluvcO4T,R006AseGxMka"}},'
    '"outputSettings":{"fileExtension":"csv"}}'
)
DOWNLOAD = (
    '{"type":"download","credentials":{"partnerUserID":"_REPLACE_","partnerUserSecret":"_REPLACE_"},'
    '"fileName":"myFile.csv","fileSystem":"integrationServer"}'
)
POLICY_GETTER = (
    '{"type":"get","credentials":{"partnerUserID": "_REPLACE_","partnerUserSecret": "_REPLACE_"},'
    '"inputSettings":{"type":"policy","fields": ["tax"],"policyIDList": ["0123456789ABCDEF",'
    '"DEADBEEF01234567","BA5EBA11BA5EBA11"],"userEmail":"employee@youraccessibledomain.com"}}'
)
POLICY_LIST = (
    '{"type":"get","credentials":{"partnerUserID": "_REPLACE_","partnerUserSecret": "_REPLACE_"},'
    '"inputSettings":{"type":"policyList","adminOnly":true,"userEmail":"employee@youraccessibledomain.com"}}'
)
REPORT_STATUS = (
    '{"type":"update","credentials":{"partnerUserID":"_REPLACE_","partnerUserSecret":"_REPLACE_",},'
    '"inputSettings":{"type":"reportStatus","status" : "REIMBURSED","paymentSource": "ADP",'
    '"filters":{"reportIDList": "R006AseGxMka,R00bCluvcO4T"}}}'
)
# §10.3: Expensify's own 2014 cron script, single-quoted pseudo-JSON.
SCRIPT_2014 = (
    "{'credentials':{'partnerUserID':'_REPLACE_','partnerUserSecret':'_REPLACE_'},"
    "'type':'file',"
    "'outputSettings':{'fileExtension':'csv'},"
    "'onReceive':{'immediateResponse':['returnRandomFileName']},"
    "'inputSettings':{'type':'combinedReportData','reportState':'REIMBURSED','filters':"
    "{'markedAsExported':'Oracle','startDate':'2013-01-01'}},"
    "'onFinish':[{'actionName':'markAsExported','label':'Oracle'}]}"
)
# §10.7: Expensify's minimal sample template.
MINIMAL_TEMPLATE = """<#if addHeader == true>
    Report ID, Report name<#lt>
</#if>
<#list reports as report>
    ${report.reportID},${report.reportName}<#lt>
</#list>
"""
# §10.6, recorded live (XRL fixtures).
RECORDED_FILE_NAME = "export0fd99e06-a636-4974-b6bc-3ceb12163386.csv"
RECORDED_REIMBURSE_MIXED = {
    "skippedReports": [
        {"reason": "Report is in status 'Open'", "reportID": "R00Lza4SDrx4"},
        {"reason": "Report is in status 'Open'", "reportID": "R00PdJbQrzoC"},
    ],
    "reportIDs": ["R00X9oNOn2MO"],
    "responseCode": 200,
}
POLICY_LIST_ENTRY_KEYS = {"outputCurrency", "owner", "role", "name", "id", "type"}  # §5
OFFICIAL_TAG_KEYS = {"glCode", "name", "enabled"}  # §10.6 policy-getter excerpt
OFFICIAL_EMPLOYEE_KEYS = {"email", "role", "submitsTo"}  # ditto; employeeID/customField2 optional
ERROR_KEYS = {"responseMessage", "responseCode"}  # §7
FILE_NAME = re.compile(r"export[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.csv")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=21, rate_limits="off", expensify_reports_per_month=10)) as running:
        yield running


def send(server: SandboxServer, raw_job: str, template: str | None = None) -> requests.Response:
    creds = server.config.credentials
    raw = raw_job.replace(
        '"partnerUserID":"_REPLACE_"', f'"partnerUserID":"{creds.expensify_partner_user_id}"'
    )
    raw = raw.replace('"partnerUserID": "_REPLACE_"', f'"partnerUserID": "{creds.expensify_partner_user_id}"')
    raw = raw.replace("'partnerUserID':'_REPLACE_'", f"'partnerUserID':'{creds.expensify_partner_user_id}'")
    raw = raw.replace("_REPLACE_", creds.expensify_partner_user_secret)
    fields = {"requestJobDescription": raw}
    if template is not None:
        fields["template"] = template
    return requests.post(server.url("expensify") + ENDPOINT, data=fields, timeout=10)


def assert_error(response: requests.Response, code: int, message: str | None = None) -> dict:
    assert response.status_code == 200  # errors travel in the body (§7)
    body = json.loads(response.text)
    assert set(body) == ERROR_KEYS and body["responseCode"] == code
    if message is not None:
        assert body["responseMessage"] == message
    return body


def test_exporter_answers_a_bare_file_name_like_the_recorded_one(server: SandboxServer) -> None:
    response = send(server, EXPORT_BY_IDS, MINIMAL_TEMPLATE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain;charset=utf-8"
    assert FILE_NAME.fullmatch(response.text) and FILE_NAME.fullmatch(RECORDED_FILE_NAME)
    assert re.search(r"export[a-zA-Z0-9\-]*\.csv", response.text)  # what Expensify's own script greps (§2)


def test_official_export_with_label_and_spreadsheet_output_is_accepted(server: SandboxServer) -> None:
    response = send(server, EXPORT_WITH_LABEL, MINIMAL_TEMPLATE)
    assert re.fullmatch(r"myExport[0-9a-f\-]{36}\.xlsx", response.text)


def test_downloader_returns_the_rendered_file(server: SandboxServer) -> None:
    creds = server.config.credentials
    summaries = requests.get(server.url("expensify") + "/_sandbox/reports?state=APPROVED", timeout=10).json()
    rid = summaries["reports"][0]["reportID"]
    name = send(server, EXPORT_BY_IDS.replace("R00bCluvcO4T,R006AseGxMka", rid), MINIMAL_TEMPLATE).text
    body = send(server, DOWNLOAD.replace("myFile.csv", name)).text
    lines = body.splitlines()
    assert lines[0] == "Report ID, Report name" and lines[1].startswith(f"{rid},")
    assert creds.expensify_partner_user_secret not in body


def test_downloader_answers_410_for_a_file_it_does_not_have(server: SandboxServer) -> None:
    assert_error(send(server, DOWNLOAD), 410, "File not found")


def test_policy_list_entries_have_the_documented_keys(server: SandboxServer) -> None:
    body = send(server, POLICY_LIST).json()
    assert set(body) == {"policyList", "responseCode"} and body["responseCode"] == 200
    for entry in body["policyList"]:
        assert set(entry) == POLICY_LIST_ENTRY_KEYS
        assert re.fullmatch(r"[0-9A-F]{16}", entry["id"]) and entry["role"] in ("user", "auditor", "admin")


def test_policy_getter_refuses_unknown_policies_and_matches_the_official_shapes(
    server: SandboxServer,
) -> None:
    assert_error(send(server, POLICY_GETTER), 410)
    ids = [p["id"] for p in send(server, POLICY_LIST).json()["policyList"]]
    job = POLICY_GETTER.replace(
        '"0123456789ABCDEF","DEADBEEF01234567","BA5EBA11BA5EBA11"', ",".join(f'"{pid}"' for pid in ids)
    )
    job = job.replace('"fields": ["tax"]', '"fields": ["tax", "categories", "tags", "employees"]')
    body = send(server, job).json()
    assert set(body) == {"policyInfo", "responseCode"} and body["responseCode"] == 200
    for info in body["policyInfo"].values():
        assert set(info) == {"tax", "categories", "tags", "employees"}
        assert info["tax"] == {}
        assert all({"name", "enabled"} <= set(c) for c in info["categories"])
        for level in info["tags"]:  # the "levels" shape: {name, tags:[...]}
            assert set(level) == {"name", "tags"} and all(set(t) == OFFICIAL_TAG_KEYS for t in level["tags"])
        assert all(OFFICIAL_EMPLOYEE_KEYS <= set(e) for e in info["employees"])


def test_policy_getter_without_ids_gives_the_documented_error(server: SandboxServer) -> None:
    job = POLICY_GETTER.replace(
        '"policyIDList": ["0123456789ABCDEF","DEADBEEF01234567","BA5EBA11BA5EBA11"],', ""
    )
    assert_error(send(server, job), 410, "Required parameter 'policyIDList' is missing")


def test_missing_type_gives_the_documented_error(server: SandboxServer) -> None:
    assert_error(
        send(server, POLICY_LIST.replace('"type":"policyList",', "")),
        410,
        "Argument 'type' is missing or malformed",
    )


def test_report_status_updater_with_trailing_comma_matches_the_recorded_shape(server: SandboxServer) -> None:
    summaries = requests.get(server.url("expensify") + "/_sandbox/reports", timeout=10).json()["reports"]
    approved = next(s["reportID"] for s in summaries if s["state"] == "APPROVED")
    opened = [s["reportID"] for s in summaries if s["state"] == "OPEN"][:1]
    body = send(
        server, REPORT_STATUS.replace("R006AseGxMka,R00bCluvcO4T", ",".join([approved, *opened]))
    ).json()
    assert set(body) == set(RECORDED_REIMBURSE_MIXED)
    assert body["responseCode"] == 200 and body["reportIDs"] == [approved]
    recorded_skips = RECORDED_REIMBURSE_MIXED["skippedReports"]
    for skipped, recorded in zip(body["skippedReports"], recorded_skips, strict=False):
        assert set(skipped) == set(recorded) and skipped["reason"] == recorded["reason"]


def test_report_status_updater_refuses_other_statuses(server: SandboxServer) -> None:
    assert_error(
        send(server, REPORT_STATUS.replace('"REIMBURSED"', '"APPROVED"')),
        410,
        "Status 'APPROVED' is not supported",
    )


def test_expensify_2014_script_request_is_read_but_needs_an_end_date_today(server: SandboxServer) -> None:
    # Single quotes are tolerated; since 2024-12 an anchor over a year old needs endDate (§2).
    body = assert_error(send(server, SCRIPT_2014, MINIMAL_TEMPLATE), 410)
    assert "endDate" in body["responseMessage"]
    fixed = SCRIPT_2014.replace("'startDate':'2013-01-01'", "'startDate':'2013-01-01','endDate':'2013-12-31'")
    assert FILE_NAME.fullmatch(send(server, fixed, MINIMAL_TEMPLATE).text)


def test_malformed_date_gives_the_documented_message(server: SandboxServer) -> None:
    job = EXPORT_WITH_LABEL.replace('"startDate":"2016-01-01"', '"startDate":"16-01-01"')
    assert_error(
        send(server, job, MINIMAL_TEMPLATE), 410, "Malformed date '16-01-01'. Expected format is yyyy-MM-dd"
    )


def test_template_inside_the_json_is_refused(server: SandboxServer) -> None:
    job = json.loads(EXPORT_BY_IDS)
    job["template"] = MINIMAL_TEMPLATE
    assert_error(send(server, json.dumps(job)), 410, "No Template Submitted")


def test_bad_credentials_error_has_the_error_shape(server: SandboxServer) -> None:
    raw = POLICY_LIST.replace('"partnerUserSecret": "_REPLACE_"', '"partnerUserSecret": "not-the-secret"')
    assert_error(send(server, raw), 401)
