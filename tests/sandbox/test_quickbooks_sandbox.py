"""The QuickBooks Online sandbox over real HTTP: OAuth rotation, auth failures, journals, bills, vendors,
queries, requestid replay, uploads, limits, faults, state, and the UK VAT company.

A small hand-written HTTP helper speaks to the sandbox, deliberately not the connector's QuickBooks client:
these tests pin what the sandbox does, so the client's tests can trust it.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import requests

from ml_connector.sandbox.catalog import MERCHANTS
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.quickbooks import transactions
from ml_connector.sandbox.server import SandboxServer

OPEN_DAY = "2026-10-15"  # data months 2026-08..10; the books are closed through 2026-07-31


class QboHttp:
    """Just enough client to speak to the sandbox."""

    def __init__(self, server: SandboxServer, refresh_token: str | None = None) -> None:
        creds = server.config.credentials
        self.server = server
        self.creds = creds
        self.realm = creds.quickbooks_realm_id
        self.token_url = server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer"
        self.base = server.url("quickbooks") + f"/v3/company/{self.realm}"
        self.control = server.url("quickbooks") + "/_sandbox"
        self.session = requests.Session()
        self.refresh_token = refresh_token or creds.quickbooks_refresh_token
        self.access_token = self.refresh()["access_token"]

    def basic(self, secret: str | None = None) -> dict:
        pair = f"{self.creds.quickbooks_client_id}:{secret or self.creds.quickbooks_client_secret}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode(), "Accept": "application/json"}

    def token_call(self, headers: dict | None = None, **form: str) -> requests.Response:
        return self.session.post(self.token_url, data=form, headers=self.basic() if headers is None else headers,
                                 timeout=10)

    def refresh(self) -> dict:
        response = self.token_call(grant_type="refresh_token", refresh_token=self.refresh_token)
        assert response.status_code == 200, response.text
        self.refresh_token = response.json()["refresh_token"]
        return response.json()

    def request(self, method: str, path: str, token: str | None = None, params: dict | None = None,
                **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.access_token}", "Accept": "application/json",
                   **kwargs.pop("headers", {})}
        return self.session.request(method, self.base + path, params={"minorversion": 75, **(params or {})},
                                    headers=headers, timeout=10, **kwargs)

    def post(self, entity: str, body: dict, **params) -> requests.Response:
        return self.request("POST", f"/{entity.lower()}", json=body, params=params)

    def create(self, entity: str, body: dict, **params) -> dict:
        response = self.post(entity, body, **params)
        assert response.status_code == 200, response.text
        return response.json()[entity]

    def get(self, entity: str, entity_id: str) -> requests.Response:
        return self.request("GET", f"/{entity.lower()}/{entity_id}")

    def query_response(self, statement: str) -> requests.Response:
        return self.request("GET", "/query", params={"query": statement})

    def query(self, statement: str) -> dict:
        response = self.query_response(statement)
        assert response.status_code == 200, response.text
        return response.json()["QueryResponse"]

    def accounts(self) -> dict[str, str]:
        rows = self.query("select * from Account where Active in (true, false) maxresults 1000")["Account"]
        return {a["AcctNum"]: a["Id"] for a in rows if a.get("AcctNum")}

    def set_preferences(self, **changes) -> dict:
        return requests.post(self.control + "/preferences", json=changes, timeout=5).json()["Preferences"]


def je_line(account_id: str, posting: str, amount: object, **detail) -> dict:
    return {"Amount": amount, "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account_id}, **detail}}


def journal(accounts: dict, doc_number: str | None, txn_date: str = OPEN_DAY, amount: object = 100,
            credit_amount: object = None, debit: str = "6020", credit: str = "2100", **extra) -> dict:
    body = {"TxnDate": txn_date, "PrivateNote": "test",
            "Line": [je_line(accounts[debit], "Debit", amount),
                     je_line(accounts[credit], "Credit", amount if credit_amount is None else credit_amount)],
            **extra}
    if doc_number is not None:
        body["DocNumber"] = doc_number
    return body


def bill_body(vendor_id: str, accounts: dict, amount: object = 150, doc_number: str | None = None,
              txn_date: str = OPEN_DAY, **extra) -> dict:
    body = {"VendorRef": {"value": vendor_id}, "TxnDate": txn_date,
            "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
                      "AccountBasedExpenseLineDetail": {"AccountRef": {"value": accounts["6050"]}}}], **extra}
    if doc_number:
        body["DocNumber"] = doc_number
    return body


def assert_fault(response: requests.Response, status: int, code: str, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == code, error
    for fragment in fragments:
        assert fragment in error["Message"] + " " + error["Detail"], error
    return error


def start(**config) -> SandboxServer:
    return SandboxServer(SandboxConfig(last_month="2026-10", **config)).start()


@pytest.fixture(scope="module")
def server():
    sandbox = start(rate_limits="off", limit_overrides={"quickbooks.upload_max_bytes": 20_000})
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def qbo(server) -> QboHttp:
    return QboHttp(server)


@pytest.fixture(scope="module")
def accounts(qbo) -> dict[str, str]:
    return qbo.accounts()


@pytest.fixture(scope="module")
def vendor_id(qbo) -> str:
    return qbo.query(f"select * from Vendor where DisplayName = '{MERCHANTS[0].name}'")["Vendor"][0]["Id"]


def fresh_chain(qbo: QboHttp) -> str:
    """A refresh token of its own (authorization-code grant), so rotation tests leave others alone."""
    code = requests.post(qbo.control + "/authorize", json={"redirect_uri": "https://app.example/cb"},
                         timeout=5).json()["code"]
    response = qbo.token_call(grant_type="authorization_code", code=code, redirect_uri="https://app.example/cb")
    assert response.status_code == 200, response.text
    return response.json()["refresh_token"]


# --- OAuth ------------------------------------------------------------------------------------------------

def test_refresh_returns_a_bearer_token_and_a_new_refresh_token(qbo):
    old = fresh_chain(qbo)
    response = qbo.token_call(grant_type="refresh_token", refresh_token=old)
    body = response.json()
    assert list(body) == ["token_type", "expires_in", "refresh_token", "x_refresh_token_expires_in",
                          "access_token"]
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert body["refresh_token"] != old and 0 < body["x_refresh_token_expires_in"] <= 8_640_000
    assert response.headers["intuit_tid"]


def test_client_secret_post_is_accepted(qbo):
    form = {"grant_type": "refresh_token", "refresh_token": fresh_chain(qbo),
            "client_id": qbo.creds.quickbooks_client_id, "client_secret": qbo.creds.quickbooks_client_secret}
    assert qbo.token_call(headers={}, **form).status_code == 200


def test_previous_refresh_token_returns_the_same_unused_successor(qbo):
    old = fresh_chain(qbo)
    first = qbo.token_call(grant_type="refresh_token", refresh_token=old).json()
    again = qbo.token_call(grant_type="refresh_token", refresh_token=old).json()
    assert again["refresh_token"] == first["refresh_token"]
    assert again["access_token"] != first["access_token"]


def test_previous_refresh_token_dies_once_its_successor_is_used(qbo):
    old = fresh_chain(qbo)
    successor = qbo.token_call(grant_type="refresh_token", refresh_token=old).json()["refresh_token"]
    assert qbo.token_call(grant_type="refresh_token", refresh_token=successor).status_code == 200
    dead = qbo.token_call(grant_type="refresh_token", refresh_token=old)
    assert dead.status_code == 400
    assert dead.content == b'{"error":"invalid_grant"}' and dead.headers["content-length"] == "25"
    assert dead.headers["content-type"] == "application/json;charset=utf-8" and dead.headers["intuit_tid"]


def test_wrong_client_secret_is_invalid_client(qbo):
    response = qbo.token_call(headers=qbo.basic("wrong"), grant_type="refresh_token",
                              refresh_token=fresh_chain(qbo))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "wrong" not in response.text


def test_authorization_code_reused_is_refused_and_kills_its_tokens(qbo):
    code = requests.post(qbo.control + "/authorize", json={}, timeout=5).json()["code"]
    granted = qbo.token_call(grant_type="authorization_code", code=code).json()
    assert qbo.request("GET", "/preferences", token=granted["access_token"]).status_code == 200
    assert qbo.token_call(grant_type="authorization_code", code=code).json() == {"error": "invalid_grant"}
    assert qbo.request("GET", "/preferences", token=granted["access_token"]).status_code == 401


# --- authentication -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "detail"), [
    (None, "missing"), ("Bearer", "missing"), ("Basic abc", "missing"), ("Bearer nope", "Token invalid")])
def test_missing_or_unknown_token_is_a_401_gateway_fault(qbo, header, detail):
    response = qbo.session.get(qbo.base + "/preferences", timeout=5,
                               headers={} if header is None else {"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    error = response.json()["fault"]["error"][0]
    assert (error["code"], response.json()["fault"]["type"]) == ("3200", "AUTHENTICATION")
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert detail in error["detail"]


def test_expired_access_token_is_401_token_expired():
    with start(limit_overrides={"quickbooks.access_token_ttl": 1}) as server:
        qbo = QboHttp(server)
        assert qbo.request("GET", "/preferences").status_code == 200
        time.sleep(1.1)
        response = qbo.request("GET", "/preferences")
        assert response.status_code == 401 and response.json()["fault"]["error"][0]["detail"] == "Token expired"
        qbo.access_token = qbo.refresh()["access_token"]
        assert qbo.request("GET", "/preferences").status_code == 200


def test_control_route_expires_every_access_token():
    with start() as server:
        qbo = QboHttp(server)
        assert requests.post(qbo.control + "/expire-tokens", timeout=5).json()["expired"] == 1
        assert qbo.request("GET", "/preferences").status_code == 401


def test_wrong_realm_is_401_authentication_fault(qbo):
    response = qbo.session.get(qbo.server.url("quickbooks") + "/v3/company/123456/preferences", timeout=5,
                               headers={"Authorization": f"Bearer {qbo.access_token}"})
    assert_fault(response, 401, "100", "General Authentication Error")
    assert response.json()["Fault"]["type"] == "AuthenticationFault"


@pytest.mark.parametrize(("version", "status"), [("70", 200), ("75", 200), ("80", 200), ("abc", 400)])
def test_minorversion_below_75_is_served_and_garbage_is_refused(qbo, version, status):
    response = qbo.request("GET", "/preferences", params={"minorversion": version})
    assert response.status_code == status, response.text


# --- the US company ------------------------------------------------------------------------------------

def test_us_company_is_usd_with_multicurrency_and_a_closing_date(qbo):
    info = qbo.get("CompanyInfo", qbo.realm).json()["CompanyInfo"]
    assert (info["Country"], info["CompanyName"]) == ("US", "Acme Robotics Inc.")
    prefs = qbo.request("GET", "/preferences").json()["Preferences"]
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}}
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2026-07-31"
    assert prefs["AccountingInfoPrefs"]["ClassTrackingPerTxnLine"] is True
    assert prefs["TaxPrefs"]["UsingSalesTax"] is False


def test_chart_of_accounts_follows_the_catalog_and_hides_the_inactive_account(qbo):
    active = {a["AcctNum"]: a for a in qbo.query("select * from Account maxresults 1000")["Account"]}
    assert "6990" not in active
    assert (active["2100"]["AccountType"], active["2000"]["AccountType"]) == ("Credit Card", "Accounts Payable")
    assert active["6020"]["Name"] == "Software and Subscriptions" and active["6020"]["AccountType"] == "Expense"
    retired = qbo.query("select * from Account where AcctNum = '6990' and Active = false")["Account"]
    assert [a["Name"] for a in retired] == ["Gifts (retired)"]


def test_classes_are_departments_and_departments_are_locations(server, qbo):
    classes = [c["Name"] for c in qbo.query("select * from Class")["Class"]]
    departments = [d["Name"] for d in qbo.query("select * from Department")["Department"]]
    assert sorted(classes) == sorted(server.company.departments)
    assert sorted(departments) == sorted(server.company.locations)


def test_some_merchants_exist_as_vendors_and_others_do_not(qbo):
    names = {v["DisplayName"] for v in qbo.query("select * from Vendor maxresults 1000")["Vendor"]}
    merchants = {m.name for m in MERCHANTS}
    assert 0 < len(names & merchants) < len(merchants)


# --- journal entries -------------------------------------------------------------------------------

def test_journal_entry_is_stored_in_the_recorded_shape(qbo, accounts):
    created = qbo.create("JournalEntry", journal(accounts, "JE-SHAPE", amount=100.25))
    assert (created["SyncToken"], created["TotalAmt"], created["Adjustment"]) == ("0", 0, False)
    assert created["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    assert [line["Id"] for line in created["Line"]] == ["0", "1"]
    assert created["Line"][0]["JournalEntryLineDetail"]["AccountRef"]["name"] == "Software and Subscriptions"
    assert created["Line"][0]["CustomExtensions"] == [] and created["TxnTaxDetail"] == {}
    assert qbo.get("JournalEntry", created["Id"]).json()["JournalEntry"] == created


def test_full_update_bumps_the_sync_token_and_a_stale_one_is_5010(qbo, accounts):
    created = qbo.create("JournalEntry", journal(accounts, "JE-UPD"))
    body = journal(accounts, "JE-UPD", amount=250) | {"Id": created["Id"], "SyncToken": "0"}
    updated = qbo.create("JournalEntry", body)
    assert updated["SyncToken"] == "1" and updated["Line"][0]["Amount"] == 250
    assert updated["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]
    assert_fault(qbo.post("JournalEntry", body), 400, "5010", "Stale Object Error")


def test_sparse_update_changes_only_the_fields_sent(qbo, accounts):
    created = qbo.create("JournalEntry", journal(accounts, "JE-SPARSE", amount=75))
    updated = qbo.create("JournalEntry", {"Id": created["Id"], "SyncToken": "0", "sparse": True,
                                          "PrivateNote": "edited in the app"})
    assert updated["PrivateNote"] == "edited in the app" and updated["sparse"] is False
    assert updated["Line"] == created["Line"] and updated["SyncToken"] == "1"


def test_deleted_entry_reads_610_and_the_control_route_marks_it(qbo, accounts):
    created = qbo.create("JournalEntry", journal(accounts, "JE-DEL"))
    deleted = qbo.post("JournalEntry", {"Id": created["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["JournalEntry"] == {"domain": "QBO", "status": "Deleted", "Id": created["Id"]}
    assert_fault(qbo.get("JournalEntry", created["Id"]), 400, "610", "Object Not Found")
    assert "QueryResponse" in qbo.query_response("select * from JournalEntry where DocNumber = 'JE-DEL'").json()
    assert qbo.query("select * from JournalEntry where DocNumber = 'JE-DEL'") == {}
    entries = requests.get(qbo.control + "/entries", timeout=5).json()["entries"]
    assert [e["status"] for e in entries if e["entity"]["Id"] == created["Id"]] == ["deleted"]


def test_void_zeroes_the_amounts_and_keeps_the_number(qbo, accounts):
    created = qbo.create("JournalEntry", journal(accounts, "JE-VOID"))
    voided = qbo.create("JournalEntry", {"Id": created["Id"], "SyncToken": "0"}, operation="void")
    assert [line["Amount"] for line in voided["Line"]] == [0, 0] and voided["SyncToken"] == "1"
    assert_fault(qbo.post("JournalEntry", journal(accounts, "JE-VOID")), 400, "6140")


def test_unbalanced_journal_is_2300(qbo, accounts):
    response = qbo.post("JournalEntry", journal(accounts, "JE-UNBAL", amount=100, credit_amount=99.99))
    assert_fault(response, 400, "2300", "100", "99.99")


def test_unknown_account_is_2500_and_inactive_account_is_610(qbo, accounts):
    unknown = journal(accounts, "JE-BADACCT")
    unknown["Line"][0]["JournalEntryLineDetail"]["AccountRef"]["value"] = "9999"
    assert_fault(qbo.post("JournalEntry", unknown), 400, "2500", "9999")
    assert_fault(qbo.post("JournalEntry", journal(accounts, "JE-INACT", debit="6990")), 400, "610",
                 "made inactive")


def test_duplicate_doc_number_is_6140_unless_allowed(qbo, accounts):
    first = qbo.create("JournalEntry", journal(accounts, "JE-DUP"))
    error = assert_fault(qbo.post("JournalEntry", journal(accounts, "je-dup")), 400, "6140")
    assert f"TxnType=Journal Entry with TxnId={first['Id']}" in error["Detail"]
    assert qbo.post("JournalEntry", journal(accounts, "JE-DUP"), include="allowduplicatedocnum").status_code == 200


def test_doc_number_longer_than_21_characters_is_2050(qbo, accounts):
    assert_fault(qbo.post("JournalEntry", journal(accounts, "X" * 22)), 400, "2050", "Max:21")


def test_entry_on_or_before_the_closing_date_is_6200(qbo, accounts):
    assert_fault(qbo.post("JournalEntry", journal(accounts, "JE-CLOSED", "2026-07-31")), 400, "6200",
                 "account period has closed")
    assert qbo.post("JournalEntry", journal(accounts, "JE-OPEN", "2026-08-01")).status_code == 200


def test_closing_date_set_through_the_control_route_is_enforced(qbo, accounts):
    try:
        assert qbo.set_preferences(book_close_date="2026-08-31")["AccountingInfoPrefs"]["BookCloseDate"] == \
            "2026-08-31"
        assert_fault(qbo.post("JournalEntry", journal(accounts, "JE-AUG", "2026-08-20")), 400, "6200")
    finally:
        qbo.set_preferences(book_close_date="2026-07-31")


def test_class_on_a_company_without_class_tracking_is_refused(qbo, accounts):
    class_id = qbo.query("select * from Class where Name = 'Engineering'")["Class"][0]["Id"]
    body = journal(accounts, "JE-CLASS")
    body["Line"][0]["JournalEntryLineDetail"]["ClassRef"] = {"value": class_id}
    try:
        qbo.set_preferences(class_tracking=False)
        assert_fault(qbo.post("JournalEntry", body), 400, "6000", "Class tracking is turned off")
    finally:
        qbo.set_preferences(class_tracking=True)
    line = qbo.create("JournalEntry", body)["Line"][0]["JournalEntryLineDetail"]
    assert line["ClassRef"] == {"value": class_id, "name": "Engineering"}


def test_foreign_currency_needs_multicurrency(qbo, accounts):
    body = journal(accounts, "JE-EUR", CurrencyRef={"value": "EUR"})
    try:
        qbo.set_preferences(multicurrency=False)
        assert_fault(qbo.post("JournalEntry", body), 400, "6000", "Multicurrency is turned off")
    finally:
        qbo.set_preferences(multicurrency=True)
    created = qbo.create("JournalEntry", body)
    assert created["CurrencyRef"] == {"value": "EUR", "name": "Euro"} and created["ExchangeRate"] == 1.085


def test_yen_amounts_with_decimals_are_refused(qbo, accounts):
    body = journal(accounts, "JE-JPY", amount=1500.5, CurrencyRef={"value": "JPY"})
    assert_fault(qbo.post("JournalEntry", body), 400, "6000", "JPY amounts allow 0 decimal places")


def test_payables_line_without_a_vendor_is_6000(qbo, accounts):
    body = journal(accounts, "JE-AP", credit="2000")
    assert_fault(qbo.post("JournalEntry", body), 400, "6000", "you must choose a vendor in the Name field")


def test_key_the_schema_does_not_declare_is_2010(qbo, accounts):
    body = journal(accounts, "JE-2010", Memo="not a JournalEntry field")
    assert_fault(qbo.post("JournalEntry", body), 400, "2010", "Memo")
    body = journal(accounts, "JE-2010B")
    body["Line"][0]["JournalEntryLineDetail"]["Colour"] = "blue"
    assert_fault(qbo.post("JournalEntry", body), 400, "2010", "Line.JournalEntryLineDetail.Colour")


# --- bills ----------------------------------------------------------------------------------------------

def test_bill_takes_the_recorded_defaults(qbo, accounts, vendor_id):
    created = qbo.create("Bill", bill_body(vendor_id, accounts, doc_number="B-SHAPE"))
    assert (created["DueDate"], created["Balance"], created["TotalAmt"]) == (OPEN_DAY, 150, 150)
    assert created["APAccountRef"]["value"] == accounts["2000"]
    assert created["VendorRef"] == {"value": vendor_id, "name": MERCHANTS[0].name}
    line = created["Line"][0]
    assert (line["Id"], line["LineNum"], line["LinkedTxn"]) == ("1", 1, [])
    assert line["AccountBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert line["AccountBasedExpenseLineDetail"]["BillableStatus"] == "NotBillable"


def test_bill_without_a_vendor_is_6000(qbo, accounts, vendor_id):
    body = bill_body(vendor_id, accounts)
    del body["VendorRef"]
    assert_fault(qbo.post("Bill", body), 400, "6000",
                 "When you use Accounts Payable, you must choose a vendor in the Name field.")


def test_bill_update_with_a_stale_token_is_5010_and_delete_works(qbo, accounts, vendor_id):
    created = qbo.create("Bill", bill_body(vendor_id, accounts, doc_number="B-UPD"))
    updated = qbo.create("Bill", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2026-11-15"})
    assert (updated["DueDate"], updated["SyncToken"]) == ("2026-11-15", "1")
    assert_fault(qbo.post("Bill", {"Id": created["Id"], "SyncToken": "0", "sparse": True}), 400, "5010")
    assert qbo.post("Bill", {"Id": created["Id"], "SyncToken": "1"}, operation="delete").status_code == 200
    assert qbo.query("select * from Bill where DocNumber = 'B-UPD'") == {}


def test_bill_cannot_be_voided(qbo, accounts, vendor_id):
    created = qbo.create("Bill", bill_body(vendor_id, accounts))
    assert_fault(qbo.post("Bill", {"Id": created["Id"], "SyncToken": "0"}, operation="void"), 400, "500")


def test_bill_in_another_currency_than_its_vendor_is_refused(qbo, accounts, vendor_id):
    response = qbo.post("Bill", bill_body(vendor_id, accounts, CurrencyRef={"value": "EUR"}))
    assert_fault(response, 400, "6000", "vendor's currency")


# --- vendors ------------------------------------------------------------------------------------------

def test_vendor_names_are_unique_across_the_name_list(qbo):
    created = qbo.create("Vendor", {"DisplayName": "Sandbox Vendor One", "CompanyName": "Sandbox One Ltd"})
    assert (created["PrintOnCheckName"], created["Active"], created["Balance"]) == ("Sandbox One Ltd", True, 0)
    assert_fault(qbo.post("Vendor", {"DisplayName": "sandbox vendor one"}), 400, "6240", "already")
    assert qbo.query("select * from Vendor where DisplayName = 'Sandbox Vendor One'")["Vendor"][0]["Id"] == \
        created["Id"]


def test_inactive_vendor_cannot_take_a_bill(qbo, accounts):
    vendor = qbo.create("Vendor", {"DisplayName": "Retired Supplier"})
    qbo.create("Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert_fault(qbo.post("Bill", bill_body(vendor["Id"], accounts)), 400, "610")
    assert qbo.query("select * from Vendor where DisplayName = 'Retired Supplier'") == {}


def test_vendor_cannot_be_deleted(qbo, vendor_id):
    assert_fault(qbo.post("Vendor", {"Id": vendor_id, "SyncToken": "0"}, operation="delete"), 400, "500",
                 "inactive")


# --- queries ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def query_entries(qbo, accounts) -> list[dict]:
    days = ["2026-09-30", "2026-10-01", "2026-10-15", "2026-10-31", "2026-11-01"]
    return [qbo.create("JournalEntry", journal(accounts, f"QRY-{n}", day)) for n, day in enumerate(days)]


def test_query_by_doc_number_and_by_a_list_of_them(qbo, query_entries):
    one = qbo.query("select * from JournalEntry where DocNumber = 'QRY-2'")
    assert [e["Id"] for e in one["JournalEntry"]] == [query_entries[2]["Id"]] and one["totalCount"] == 1
    several = qbo.query("SELECT * FROM JournalEntry WHERE DocNumber IN ('QRY-0', 'QRY-4', 'NOPE')")
    assert {e["DocNumber"] for e in several["JournalEntry"]} == {"QRY-0", "QRY-4"}


def test_query_by_date_window(qbo, query_entries):
    found = qbo.query("select * from JournalEntry where TxnDate >= '2026-10-01' and TxnDate <= '2026-10-31' "
                      "and DocNumber in ('QRY-0','QRY-1','QRY-2','QRY-3','QRY-4')")
    assert sorted(e["DocNumber"] for e in found["JournalEntry"]) == ["QRY-1", "QRY-2", "QRY-3"]


def test_query_pages_with_start_position_and_max_results(qbo, query_entries):
    statement = "select * from JournalEntry where DocNumber in ('QRY-0','QRY-1','QRY-2','QRY-3','QRY-4')"
    first = qbo.query(statement + " STARTPOSITION 1 MAXRESULTS 2")
    last = qbo.query(statement + " STARTPOSITION 5 MAXRESULTS 2")
    assert (first["startPosition"], first["maxResults"], first["totalCount"]) == (1, 2, 5)
    assert (last["startPosition"], last["maxResults"]) == (5, 1)
    assert [e["DocNumber"] for e in first["JournalEntry"]] == ["QRY-4", "QRY-3"]  # newest update first
    assert qbo.query(statement + " STARTPOSITION 6") == {}


def test_count_query(qbo, query_entries):
    statement = "select count(*) from JournalEntry where DocNumber in ('QRY-0','QRY-1','QRY-2')"
    assert qbo.query(statement) == {"totalCount": 3}


def test_query_by_last_updated_time(qbo, accounts, query_entries):
    since = query_entries[-1]["MetaData"]["LastUpdatedTime"]
    time.sleep(1.05)
    later = qbo.create("JournalEntry", journal(accounts, "QRY-LATER"))
    found = qbo.query(f"select * from JournalEntry where Metadata.LastUpdatedTime > '{since}'")
    assert later["Id"] in [e["Id"] for e in found["JournalEntry"]]
    assert query_entries[0]["Id"] not in [e["Id"] for e in found["JournalEntry"]]


def test_query_orders_by_a_field(qbo, query_entries):
    found = qbo.query("select * from JournalEntry where DocNumber in ('QRY-0','QRY-3','QRY-1') ORDERBY TxnDate")
    assert [e["DocNumber"] for e in found["JournalEntry"]] == ["QRY-0", "QRY-1", "QRY-3"]


@pytest.mark.parametrize(("statement", "code"), [
    ("select * from JournalEntry where DocNumber = 'A' or DocNumber = 'B'", "4000"),
    ("select Id, DocNumber from JournalEntry", "4000"),
    ("select * from journalentry", "4000"),
    ("select * from JournalEntry where DocNumber = ", "4000"),
    ("select * from JournalEntry where Colour = 'blue'", "4001"),
    ("select * from JournalEntry maxresults 1001", "4001"),
    ("select * from JournalEntry where TxnDate > 'yesterday'", "4001"),
])
def test_queries_outside_the_grammar_are_refused(qbo, statement, code):
    assert_fault(qbo.query_response(statement), 400, code)


def test_query_can_be_posted_as_text(qbo, query_entries):
    response = qbo.request("POST", "/query", data="select count(*) from Class",
                           headers={"Content-Type": "application/text"})
    assert response.status_code == 200 and response.json()["QueryResponse"]["totalCount"] == 5


# --- requestid --------------------------------------------------------------------------------------------

def test_requestid_replay_returns_the_original_and_creates_nothing(qbo, accounts):
    first = qbo.post("JournalEntry", journal(accounts, "JE-RID"), requestid="rid-0001")
    again = qbo.post("JournalEntry", journal(accounts, "JE-RID-OTHER"), requestid="rid-0001")
    assert again.status_code == 200 and again.json() == first.json()
    assert qbo.query("select count(*) from JournalEntry where DocNumber in ('JE-RID', 'JE-RID-OTHER')") == \
        {"totalCount": 1}
    assert requests.get(qbo.control + "/stats", timeout=5).json()["requestid_replays"] >= 1


def test_requestid_longer_than_50_characters_is_2130(qbo, accounts):
    assert_fault(qbo.post("JournalEntry", journal(accounts, "JE-RID-LONG"), requestid="r" * 51), 400, "2130")


# --- attachments ------------------------------------------------------------------------------------------

def upload(qbo: QboHttp, bill_id: str, content: bytes, content_type: str = "application/pdf",
           file_name: str = "receipt.pdf") -> requests.Response:
    metadata = {"AttachableRef": [{"EntityRef": {"type": "Bill", "value": bill_id}}], "FileName": file_name,
                "ContentType": content_type}
    files = {"file_metadata_0": (None, json.dumps(metadata), "application/json"),
             "file_content_0": (file_name, content, content_type)}
    return qbo.request("POST", "/upload", files=files)


def test_uploaded_receipt_is_linked_listed_and_downloadable(qbo, accounts, vendor_id):
    bill = qbo.create("Bill", bill_body(vendor_id, accounts, doc_number="B-RCPT"))
    response = upload(qbo, bill["Id"], b"%PDF-1.4 receipt")
    assert response.status_code == 200, response.text
    attachable = response.json()["AttachableResponse"][0]["Attachable"]
    assert (attachable["FileName"], attachable["Size"], attachable["ContentType"]) == \
        ("receipt.pdf", 16, "application/pdf")
    assert qbo.get("Attachable", attachable["Id"]).json()["Attachable"] == attachable
    listed = qbo.query(f"select * from Attachable where AttachableRef.EntityRef.Value = '{bill['Id']}'")
    assert [a["Id"] for a in listed["Attachable"]] == [attachable["Id"]]
    assert requests.get(attachable["TempDownloadUri"], timeout=5).content == b"%PDF-1.4 receipt"


def test_too_large_upload_is_6030(qbo, accounts, vendor_id):
    bill = qbo.create("Bill", bill_body(vendor_id, accounts))
    assert_fault(upload(qbo, bill["Id"], b"x" * 30_000), 400, "6030")


def test_text_file_upload_is_refused_with_6041(qbo, accounts, vendor_id):
    bill = qbo.create("Bill", bill_body(vendor_id, accounts))
    response = upload(qbo, bill["Id"], b"hello", "text/plain", "notes.txt")
    assert response.status_code == 200
    assert response.json()["AttachableResponse"][0]["Fault"]["Error"][0]["code"] == "6041"


# --- faults, stats, scale ---------------------------------------------------------------------------------

def test_lost_response_after_commit_leaves_the_entry_and_a_retry_replays_it(server, qbo, accounts):
    server.faults.force("lost_response", path_contains="/journalentry")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        qbo.post("JournalEntry", journal(accounts, "JE-LOST"), requestid="lost-0001")
    assert qbo.query("select count(*) from JournalEntry where DocNumber = 'JE-LOST'") == {"totalCount": 1}
    retry = qbo.post("JournalEntry", journal(accounts, "JE-LOST"), requestid="lost-0001")
    assert retry.status_code == 200 and retry.json()["JournalEntry"]["DocNumber"] == "JE-LOST"
    assert qbo.query("select count(*) from JournalEntry where DocNumber = 'JE-LOST'") == {"totalCount": 1}


def test_fault_middleware_answers_quickbooks_own_429(server, qbo):
    server.faults.force("rate_limited", path_contains="/preferences")
    response = qbo.request("GET", "/preferences")
    assert response.status_code == 429 and response.json()["fault"]["error"][0]["code"] == "3001"
    assert qbo.request("GET", "/preferences").status_code == 200


def test_stats_count_requests_by_endpoint(qbo):
    qbo.request("GET", "/preferences")
    stats = requests.get(qbo.control + "/stats", timeout=5).json()
    assert stats["requests"]["GET /v3/company/{realmId}/preferences"] >= 1 and stats["token_refreshes"] >= 1


def test_doc_number_lookup_stays_fast_with_many_entries(server, qbo, accounts):
    books = server.quickbooks.books
    body = journal(accounts, None)
    for n in range(20_000):
        transactions.create(books, "JournalEntry", body | {"DocNumber": f"BULK-{n:05d}"}, False)
    started = time.perf_counter()
    found = qbo.query("select * from JournalEntry where DocNumber = 'BULK-07777'")
    assert time.perf_counter() - started < 0.25
    assert [e["DocNumber"] for e in found["JournalEntry"]] == ["BULK-07777"]


# --- limits -----------------------------------------------------------------------------------------------

def test_more_than_the_concurrency_limit_in_flight_is_429():
    with start(limit_overrides={"quickbooks.concurrency": 2}) as server:
        qbo = QboHttp(server)
        requests.post(qbo.control + "/latency", json={"seconds": 0.5}, timeout=5)
        results: list[requests.Response] = []

        def call() -> None:
            results.append(requests.get(qbo.base + "/preferences", timeout=10,
                                        headers={"Authorization": f"Bearer {qbo.access_token}"}))

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(r.status_code for r in results)
        assert codes.count(200) == 2 and codes.count(429) == 3
        error = next(r for r in results if r.status_code == 429).json()["fault"]["error"][0]
        assert error["message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
        assert requests.get(qbo.control + "/stats", timeout=5).json()["rate_limited"] == 3


def test_over_the_per_minute_limit_is_429_until_reset():
    with start(limit_overrides={"quickbooks.per_minute": 5}) as server:
        qbo = QboHttp(server)
        assert [qbo.request("GET", "/preferences").status_code for _ in range(5)] == [200] * 5
        assert qbo.request("GET", "/preferences").status_code == 429
        requests.post(qbo.control + "/reset-limits", timeout=5)
        assert qbo.request("GET", "/preferences").status_code == 200


def test_rate_limits_off_disables_the_limits():
    with start(rate_limits="off", limit_overrides={"quickbooks.per_minute": 2}) as server:
        qbo = QboHttp(server)
        assert all(qbo.request("GET", "/preferences").status_code == 200 for _ in range(5))


# --- state ---------------------------------------------------------------------------------------------

def test_state_survives_a_restart(tmp_path):
    state_file = str(tmp_path / "state.json")
    with start(state_file=state_file) as first:
        qbo = QboHttp(first)
        created = qbo.create("JournalEntry", journal(qbo.accounts(), "KEEP-ME", amount=12.34))
        latest = qbo.refresh_token
    with start(state_file=state_file) as second:
        again = QboHttp(second, refresh_token=latest)
        found = again.query("select * from JournalEntry where DocNumber = 'KEEP-ME'")["JournalEntry"]
        assert found == [created]
        assert again.token_call(grant_type="refresh_token",
                                refresh_token=first.config.credentials.quickbooks_refresh_token).status_code == 400


# --- the UK company ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def uk_server():
    sandbox = start(org="uk", rate_limits="off")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def uk(uk_server) -> QboHttp:
    return QboHttp(uk_server)


@pytest.fixture(scope="module")
def uk_ref(uk) -> dict:
    codes = {c["Name"]: c["Id"] for c in uk.query("select * from TaxCode where Active in (true, false)")["TaxCode"]}
    london = uk.query("select * from Department where Name = 'London'")["Department"][0]["Id"]
    vendor = uk.query(f"select * from Vendor where DisplayName = '{MERCHANTS[0].name}'")["Vendor"][0]["Id"]
    return {"accounts": uk.accounts(), "codes": codes, "london": london, "vendor": vendor}


def test_uk_company_is_gbp_with_vat_codes(uk, uk_ref):
    assert uk.get("CompanyInfo", uk.realm).json()["CompanyInfo"]["Country"] == "GB"
    prefs = uk.request("GET", "/preferences").json()["Preferences"]
    assert prefs["CurrencyPrefs"]["HomeCurrency"] == {"value": "GBP"} and prefs["TaxPrefs"]["UsingSalesTax"]
    assert {"20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"} <= set(uk_ref["codes"])
    standard = uk.get("TaxCode", uk_ref["codes"]["20.0% S"]).json()["TaxCode"]
    rate_id = standard["PurchaseTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
    assert uk.get("TaxRate", rate_id).json()["TaxRate"]["RateValue"] == 20


def uk_journal(ref: dict, amount: object, code: str | None, tax: object = 0) -> dict:
    accounts = ref["accounts"]
    detail = {} if code is None else {"TaxCodeRef": {"value": ref["codes"][code]}, "TaxApplicableOn": "Purchase"}
    return {"TxnDate": OPEN_DAY, "DepartmentRef": {"value": ref["london"]},
            "Line": [je_line(accounts["6020"], "Debit", amount, **detail),
                     je_line(accounts["2100"], "Credit", round(amount + tax, 2))]}


def test_uk_expense_line_without_a_tax_code_is_refused(uk, uk_ref):
    assert_fault(uk.post("JournalEntry", uk_journal(uk_ref, 100, None)), 400, "6000",
                 "Make sure all your transactions have a VAT rate before you save.")


def test_uk_journal_line_with_a_tax_code_posts_with_vat_to_the_penny(uk, uk_ref):
    created = uk.create("JournalEntry", uk_journal(uk_ref, 123.45, "20.0% S", tax=24.69))
    detail = created["Line"][0]["JournalEntryLineDetail"]
    assert (detail["TaxAmount"], detail["TaxApplicableOn"]) == (24.69, "Purchase")
    assert created["TxnTaxDetail"]["TotalTax"] == 24.69
    assert created["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 123.45


def test_uk_journal_that_forgets_the_vat_does_not_balance(uk, uk_ref):
    assert_fault(uk.post("JournalEntry", uk_journal(uk_ref, 100, "20.0% S")), 400, "2300", "120")


def test_uk_bill_tax_excluded_totals_to_the_penny(uk, uk_ref):
    accounts = uk_ref["accounts"]
    lines = [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
              "AccountBasedExpenseLineDetail": {"AccountRef": {"value": accounts[code]},
                                                "TaxCodeRef": {"value": uk_ref["codes"][tax]}}}
             for amount, code, tax in ((10.01, "6050", "20.0% S"), (19.99, "6060", "20.0% S"),
                                       (7.77, "6070", "5.0% R"), (3, "6100", "Exempt"))]
    created = uk.create("Bill", {"VendorRef": {"value": uk_ref["vendor"]}, "TxnDate": OPEN_DAY,
                                 "DepartmentRef": {"value": uk_ref["london"]}, "Line": lines})
    assert created["GlobalTaxCalculation"] == "TaxExcluded"
    # 20%: 2.00 + 4.00 (per line, half up); 5%: 0.39; exempt: 0
    assert [line["AccountBasedExpenseLineDetail"]["TaxAmount"] for line in created["Line"]] == [2, 4, 0.39, 0]
    assert created["TxnTaxDetail"]["TotalTax"] == 6.39
    assert created["TotalAmt"] == 47.16 and created["Balance"] == 47.16


def test_uk_bill_tax_inclusive_splits_the_gross(uk, uk_ref):
    created = uk.create("Bill", {
        "VendorRef": {"value": uk_ref["vendor"]}, "TxnDate": OPEN_DAY, "GlobalTaxCalculation": "TaxInclusive",
        "DepartmentRef": {"value": uk_ref["london"]},
        "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 120,
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": uk_ref["accounts"]["6050"]},
                                                    "TaxCodeRef": {"value": uk_ref["codes"]["20.0% S"]}}}]})
    line = created["Line"][0]
    assert (line["Amount"], line["AccountBasedExpenseLineDetail"]["TaxInclusiveAmt"]) == (100, 120)
    assert (created["TxnTaxDetail"]["TotalTax"], created["TotalAmt"]) == (20, 120)


def test_uk_transaction_without_a_department_is_refused(uk, uk_ref):
    body = uk_journal(uk_ref, 100, "20.0% S", tax=20)
    del body["DepartmentRef"]
    assert_fault(uk.post("JournalEntry", body), 400, "6000", "Business is required")


def test_uk_inactive_tax_code_is_610(uk, uk_ref):
    assert_fault(uk.post("JournalEntry", uk_journal(uk_ref, 100, "17.5% S", tax=17.5)), 400, "610")
