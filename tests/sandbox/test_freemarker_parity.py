"""The sandbox's FreeMarker renderer against the real Apache FreeMarker: same template and model, same bytes.

The Java side is tests/sandbox/freemarker_render/Render.java, compiled at test time. Debian/Ubuntu:
`apt-get install -y libfreemarker-java default-jdk-headless` (the jar lands in /usr/share/java/freemarker.jar;
ML_CONNECTOR_FREEMARKER_JAR points elsewhere). Without them the tests skip, unless ML_CONNECTOR_REQUIRE_ALL=1.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ml_connector.sandbox.catalog import build_company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.expensify_account import ExpensifyAccount
from ml_connector.sandbox.expensify_data import report_model
from ml_connector.sandbox.freemarker import TemplateError, render

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR_TEMPLATE = ROOT / "ml_connector" / "sources" / "expensify_export.ftl"
RENDER_JAVA = Path(__file__).parent / "freemarker_render" / "Render.java"
JAR = Path(os.environ.get("ML_CONNECTOR_FREEMARKER_JAR", "/usr/share/java/freemarker.jar"))

# Official and published templates, verbatim from reference/notes/expensify.md §10.7.
OFFICIAL_SAMPLE = """<#if addHeader == true>
    Merchant,Original Amount,Category,Report number,Expense number<#lt>
</#if>
<#assign reportNumber = 1>
<#assign expenseNumber = 1>
<#list reports as report>
    <#list report.transactionList as expense>
        ${expense.merchant},<#t>
        <#-- note: expense.amount prints the original amount only -->
        ${expense.amount},<#t>
        ${expense.category},<#t>
        ${reportNumber},<#t>
        ${expenseNumber}<#lt>
        <#assign expenseNumber = expenseNumber + 1>
    </#list>
    <#assign reportNumber = reportNumber + 1>
</#list>
"""
OFFICIAL_MINIMAL = """<#if addHeader == true>
    Report ID, Report name<#lt>
</#if>
<#list reports as report>
    ${report.reportID},${report.reportName}<#lt>
</#list>
"""
HELP_CENTER_FINAL_AMOUNT = """<#if addHeader>
 Merchant,Amount,Transaction Date<#lt>
</#if>
<#list reports as report>
 <#list report.transactionList as expense>
 <#if expense.modifiedMerchant?has_content>
 <#assign merchant = expense.modifiedMerchant>
 <#else>
 <#assign merchant = expense.merchant>
 </#if>
 <#if expense.convertedAmount?has_content>
 <#assign amount = expense.convertedAmount/100>
 <#elseif expense.modifiedAmount?has_content>
 <#assign amount = expense.modifiedAmount/100>
 <#else>
 <#assign amount = expense.amount/100>
 </#if>
 <#if expense.modifiedCreated?has_content>
 <#assign created = expense.modifiedCreated>
 <#else>
 <#assign created = expense.created>
 </#if>
 ${merchant},<#t>
 ${amount},<#t>
 ${created}<#lt>
 </#list>
</#list>
"""
PIPEDREAM_EXPENSE_LIST = (
    '[<#assign sep=""><#list reports as report><#list report.transactionList![] as expense>${sep}'
    '{"transactionID":"${(expense.transactionID!"")?json_string}","reportID":"${(report.reportID!"")?json_string}",'
    '"amount":${(expense.amount!0)?c},"currency":"${(expense.currency!"")?json_string}",'
    '"merchant":"${(expense.merchant!"")?json_string}","created":"${(expense.created!"")?json_string}",'
    '"category":"${(expense.category!"")?json_string}","receiptURL":"${((expense.receiptObject.url)!"")?json_string}",'
    '"comment":"${(expense.comment!"")?json_string}"}<#assign sep=","></#list></#list>]'
)
AIRBYTE_CSV_LINES = """<#list reports as report>
<#list report.transactionList as expense>
<#assign convAmt = ""><#if expense.convertedAmount??><#assign convAmt = expense.convertedAmount?c></#if>
"${(report.reportID!"")?replace('"', '""')}",<#t>
"${(expense.categoryGlCode!"")?replace('"', '""')}",<#t>
"${((expense.receiptObject.url)!"")?replace('"', '""')}",<#t>
"${(expense.comment!"")?replace('"', '""')}",${convAmt}
</#list>
</#list>
"""
# Features beyond the templates above that the renderer claims: one template exercising each of them.
FEATURES = """<#list reports as report>
${report?index?c}/${report?counter?c} first=${report?is_first?c} last=${report?is_last?c}
next=${report?has_next?c}
<#if report.total gte 100000>big<#elseif report.total lt 500>tiny<#else>mid</#if>
${(report.total * 3 - 7) % 1000}
<#if !(report.reimbursed?has_content) && report.state != "OPEN">unpaid
<#elseif report.state == "OPEN" || false>open</#if>
${report.reportName?upper_case?json_string} ${report.reportName?length?c}
${report.policyName?contains("Sales")?c}
${(report.isACHReimbursed)?string("Yes","No")} ${report.total?string} ${[1, 2, 3]?size?c}
${report["reportID"]}
<#list report.transactionList as e>${e.comment?trim?lower_case?json_string}<#sep> | </#sep></#list>
${(report.total / 7)} ${-report.total} ${report.total / 100 + 0.005}
${report.policyName!"-"} ${(report.nothing)!"-"}
</#list>
"""

TRICKY_STRINGS = [
    'Kickoff with "Globex" team',
    "back\\slash and C:\\receipts\\scan.pdf",
    "line one\nline two\r\nthree\ttabbed",
    "Café Zoë – table for 4 ☕ 😀 日本",
    "</script> and ]]> and <!-- and <?xml",
    "line\u2028separator\u2029para \u0001\u001f\u007f\u0085",
    "it's 'single' quoted & <b>bold</b>",
    "",
]


def _model(org: str = "us") -> dict:
    """The sandbox's own export model, plus the awkward cases the real export may hold. In "uk" the reports are
    in pounds, converted at the UK rates, and every expense carries its VAT."""
    account = ExpensifyAccount(build_company(3), SandboxConfig(seed=3, expensify_reports_per_month=6, org=org))
    reports = [
        report_model(r, account.policy(r.policy_id), account.company, "https://example.test/receipts")
        for r in account.reports()
    ]
    expenses = [e for r in reports for e in r["transactionList"]]
    for index, text in enumerate(TRICKY_STRINGS):
        expenses[index]["comment"] = text
        expenses[index]["merchant"] = text or "Blank"
        reports[index]["reportName"] = text
    expenses[0]["modifiedMerchant"] = 'Edited "merchant"'
    expenses[1]["modifiedAmount"] = 4321
    del expenses[1]["convertedAmount"]
    expenses[2]["modifiedCreated"] = "2026-01-02"
    expenses[3]["amount"] = -1250  # a refund
    expenses[3]["convertedAmount"] = -1250
    del expenses[4]["receiptObject"]
    del expenses[5]["convertedAmount"]
    reports[0]["submitter"] = {}
    reports[-1]["transactionList"] = []
    reports[2]["total"] = 123456789
    return {"reports": reports, "addHeader": True}


class RealFreeMarkerError(Exception):
    """The real FreeMarker refused the template or the model."""


@pytest.fixture(scope="module")
def real_freemarker(tmp_path_factory: pytest.TempPathFactory):
    missing = [tool for tool in ("java", "javac") if shutil.which(tool) is None]
    if missing or not JAR.exists():
        missing += [] if JAR.exists() else [str(JAR)]
        reason = f"no real FreeMarker (missing: {', '.join(missing)}); needs libfreemarker-java and a JDK"
        if os.environ.get("ML_CONNECTOR_REQUIRE_ALL") == "1":
            pytest.fail(f"{reason} (ML_CONNECTOR_REQUIRE_ALL=1 forbids skipping)")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("freemarker")
    subprocess.run(
        ["javac", "-encoding", "UTF-8", "-cp", str(JAR), "-d", str(work), str(RENDER_JAVA)],
        check=True,
        capture_output=True,
    )

    def run(template: str, model: dict) -> str:
        (work / "template.ftl").write_text(template, encoding="utf-8")
        (work / "model.json").write_text(json.dumps(model), encoding="utf-8")
        result = subprocess.run(
            [
                "java",
                "-cp",
                f"{JAR}{os.pathsep}{work}",
                "Render",
                str(work / "template.ftl"),
                str(work / "model.json"),
            ],
            capture_output=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RealFreeMarkerError(result.stderr.decode("utf-8", "replace"))
        return result.stdout.decode("utf-8")

    return run


@pytest.mark.parametrize("model_name", ["sandbox", "sandbox_uk", "empty"])
def test_connector_template_renders_identically(real_freemarker, model_name: str) -> None:
    empty = {"reports": [], "addHeader": True}
    model = empty if model_name == "empty" else _model("uk" if model_name == "sandbox_uk" else "us")
    template = CONNECTOR_TEMPLATE.read_text(encoding="utf-8")
    ours = render(template, copy.deepcopy(model))
    assert ours == real_freemarker(template, model)
    assert len(json.loads(ours)["reports"]) == len(model["reports"])


def test_connector_template_escapes_every_string(real_freemarker) -> None:
    model = _model()
    output = real_freemarker(CONNECTOR_TEMPLATE.read_text(encoding="utf-8"), model)
    parsed = json.loads(output)
    comments = [e["comment"] for r in parsed["reports"] for e in r["expenses"]]
    for text in TRICKY_STRINGS[:-1]:
        assert text in comments


@pytest.mark.parametrize(
    "template",
    [
        OFFICIAL_SAMPLE,
        OFFICIAL_MINIMAL,
        HELP_CENTER_FINAL_AMOUNT,
        PIPEDREAM_EXPENSE_LIST,
        AIRBYTE_CSV_LINES,
        FEATURES,
    ],
    ids=["official-sample", "official-minimal", "help-center", "pipedream", "airbyte", "features"],
)
def test_published_templates_render_identically(real_freemarker, template: str) -> None:
    model = _model()
    assert render(template, copy.deepcopy(model)) == real_freemarker(template, model)


def test_both_engines_refuse_the_same_bad_value(real_freemarker) -> None:
    # Airbyte's guard is `??`, which a blank convertedAmount passes; ?c on a string fails in both engines.
    model = _model()
    model["reports"][0]["transactionList"][0]["convertedAmount"] = ""
    with pytest.raises(RealFreeMarkerError, match=r"\?c"):
        real_freemarker(AIRBYTE_CSV_LINES, model)
    with pytest.raises(TemplateError):
        render(AIRBYTE_CSV_LINES, model)


@pytest.mark.parametrize(
    "template",
    [
        "<#macro x></#macro>",
        "${x?string('0.00')}",
        "${missing}",
        "${flag}",
        "<#list things as thing><#else>none</#list>",
        "<#--\nmulti-line\n-->",
    ],
)
def test_unsupported_or_failing_templates_raise_clear_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {"x": 1, "flag": True, "things": []})
