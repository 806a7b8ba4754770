"""The Xero sandbox over real HTTP: identity, tenants, validation, queries, attachments, limits, state, scale.

A small hand-written HTTP helper speaks to the sandbox, deliberately not the connector's own Xero client:
these tests pin what the sandbox does, so the client's tests can trust it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime

import pytest
import requests

from ml_connector.sandbox.catalog import MERCHANTS
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer

LOCKED_PERIOD = "The document date cannot be before the period lock date, currently set at 31-Jul-2026"
LOCKED_YEAR = "The document date cannot be before the end of year lock date, currently set at 31-Dec-2025"


class XeroHttp:
    """Just enough client to speak to the sandbox; it keeps the newest refresh token of its chain."""

    def __init__(self, server: SandboxServer, refresh_token: str | None = None) -> None:
        self.server = server
        self.creds = server.config.credentials
        self.token_url = server.url("xero-identity") + "/connect/token"
        self.base = server.url("xero")
        self.api = self.base + "/api.xro/2.0"
        self.control = self.base + "/_sandbox"
        self.session = requests.Session()
        self.refresh_token = refresh_token or self.creds.xero_refresh_token
        self.access_token = self.refresh()["access_token"]

    def token(self, refresh_token: str, **form: str) -> requests.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **form}
        return self.session.post(self.token_url, data=data, timeout=10,
                                 auth=(self.creds.xero_client_id, self.creds.xero_client_secret))

    def refresh(self) -> dict:
        response = self.token(self.refresh_token)
        assert response.status_code == 200, response.text
        body = response.json()
        self.refresh_token = body["refresh_token"]
        return body

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "xero-tenant-id": self.creds.xero_tenant_id,
                "Accept": "application/json", **extra}

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
        return self.session.request(method, self.api + path, headers=self.headers() if headers is None else headers,
                                    timeout=10, **kwargs)

    def get(self, path: str, headers: dict | None = None, **params) -> requests.Response:
        return self.call("GET", path, headers, params=params)

    def put(self, path: str, body: dict, **params) -> requests.Response:
        return self.call("PUT", path, params=params, json=body)

    def post(self, path: str, body: dict, **params) -> requests.Response:
        return self.call("POST", path, params=params, json=body)

    def entries(self) -> dict:
        return requests.get(self.control + "/entries", timeout=30).json()


def start(**config) -> SandboxServer:
    return SandboxServer(SandboxConfig(last_month="2026-10", **config)).start()


@pytest.fixture(scope="module")
def server():
    sandbox = start(rate_limits="off")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def xero(server) -> XeroHttp:
    return XeroHttp(server)


@pytest.fixture(scope="module")
def uk():
    sandbox = start(rate_limits="off", org="uk")
    yield XeroHttp(sandbox)
    sandbox.stop()


@pytest.fixture(scope="module")
def supplier(xero) -> str:
    return xero.get("/Contacts", where=f'Name=="{MERCHANTS[0].name}"').json()["Contacts"][0]["ContactID"]


DAY = "2026-10-15"


def journal(narration: str, day: str = DAY, amount: float = 100, credit: float | None = None,
            debit_code: str = "6020", **extra) -> dict:
    return {"Narration": narration, "Date": day, "Status": "POSTED", "JournalLines": [
        {"LineAmount": amount, "AccountCode": debit_code, "Description": "Software",
         "Tracking": [{"Name": "Department", "Option": "Engineering"}]},
        {"LineAmount": -(amount if credit is None else credit), "AccountCode": "2100", "Description": "Card"}],
        **extra}


def bill(number: str, contact_id: str, day: str = DAY, amount: float = 250, **extra) -> dict:
    return {"Type": "ACCPAY", "Contact": {"ContactID": contact_id}, "Date": day, "DueDate": "2026-11-15",
            "InvoiceNumber": number, "Status": "AUTHORISED",
            "LineItems": [{"Description": "Team dinner", "Quantity": 1, "UnitAmount": amount, "AccountCode": "6050"}],
            **extra}


def one(response: requests.Response, key: str) -> dict:
    assert response.status_code == 200, response.text
    return response.json()[key][0]


def messages(response: requests.Response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (10, "ValidationException",
                                                                    "A validation exception occurred")
    return [error["Message"] for element in body["Elements"] for error in element["ValidationErrors"]]


def ms_of(stamp: str) -> int:
    return int(re.fullmatch(r"/Date\((\d+)(\+0000)?\)/", stamp).group(1))


# --- identity --------------------------------------------------------------------------------------------

def test_refresh_rotates_and_the_previous_refresh_token_is_refused(xero):
    previous = xero.refresh_token
    body = xero.refresh()
    assert body["refresh_token"] != previous and body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert "offline_access" in body["scope"].split()
    again = xero.token(previous)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
    successor = xero.token(xero.refresh_token)
    assert successor.status_code == 200
    xero.refresh_token = successor.json()["refresh_token"]


def test_refresh_accepts_client_credentials_in_the_form(xero):
    creds = xero.creds
    response = requests.post(xero.token_url, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": xero.refresh_token, "client_id": creds.xero_client_id,
        "client_secret": creds.xero_client_secret})
    assert response.status_code == 200 and response.json()["refresh_token"] != xero.refresh_token
    xero.refresh_token = response.json()["refresh_token"]


@pytest.mark.parametrize(("form", "auth", "error"), [
    ({"refresh_token": "not-a-token"}, True, "invalid_grant"),
    ({"grant_type": "authorization_code", "code": "x"}, True, "invalid_grant"),
    ({"grant_type": "password"}, True, "unsupported_grant_type"),
    ({"refresh_token": "x"}, False, "invalid_client"),
])
def test_token_errors_are_400_with_an_oauth_error(xero, form, auth, error):
    data = {"grant_type": "refresh_token", **form}
    response = requests.post(xero.token_url, data=data, timeout=10,
                             auth=(xero.creds.xero_client_id, xero.creds.xero_client_secret) if auth else
                             (xero.creds.xero_client_id, "wrong"))
    assert response.status_code == 400 and response.json() == {"error": error}


def test_grace_window_answers_the_old_token_with_the_same_successor_when_configured():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.refresh_grace_seconds": 1800})) as server:
        xero = XeroHttp(server)
        previous, successor = xero.creds.xero_refresh_token, xero.refresh_token
        retried = xero.token(previous)
        assert retried.status_code == 200 and retried.json()["refresh_token"] == successor
        xero.refresh()  # the successor is used: now the old token is dead even within the grace
        assert xero.token(previous).json() == {"error": "invalid_grant"}


def test_access_tokens_expire_after_their_ttl():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.access_token_ttl": 1})) as server:
        xero = XeroHttp(server)
        assert xero.get("/Organisation").status_code == 200
        time.sleep(1.1)
        expired = xero.get("/Organisation")
        assert expired.status_code == 401
        assert expired.json()["detail"] == "AuthenticationUnsuccessful"
        assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        xero.access_token = xero.refresh()["access_token"]
        assert xero.get("/Organisation").status_code == 200


def test_expire_tokens_control_route_kills_every_access_token():
    with SandboxServer(SandboxConfig()) as server:
        xero = XeroHttp(server)
        assert requests.post(xero.control + "/expire-tokens", timeout=5).json() == {"expired": 1}
        assert xero.get("/Organisation").status_code == 401


# --- tenants and the gate ----------------------------------------------------------------------------------

def test_connections_list_the_tenant_without_a_tenant_header(xero):
    response = xero.session.get(xero.base + "/connections", headers={"Authorization": f"Bearer {xero.access_token}"},
                                timeout=10)
    assert response.status_code == 200
    [connection] = response.json()
    assert connection["tenantId"] == xero.creds.xero_tenant_id and connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == "Acme Robotics Inc."
    assert "X-AppMinLimit-Remaining" in response.headers and "X-DayLimit-Remaining" not in response.headers
    assert xero.session.get(xero.base + "/Connections", headers=xero.headers(), timeout=10).status_code == 200


@pytest.mark.parametrize("tenant", [None, "00000000-0000-0000-0000-000000000000", "not-a-guid"])
def test_missing_or_unknown_tenant_is_403(xero, tenant):
    headers = xero.headers()
    headers.pop("xero-tenant-id")
    if tenant is not None:
        headers["xero-tenant-id"] = tenant
    response = xero.get("/Invoices", headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert (body["Title"], body["Status"], body["Detail"]) == ("Forbidden", 403, "AuthenticationUnsuccessful")
    assert body["Instance"] == response.headers["Xero-Correlation-Id"]


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc"])
def test_missing_or_unusable_bearer_is_401(xero, authorization):
    headers = xero.headers()
    headers.pop("Authorization")
    if authorization:
        headers["Authorization"] = authorization
    response = xero.get("/Organisation", headers=headers)
    assert response.status_code == 401 and response.json()["title"] == "Unauthorized"
    assert "X-MinLimit-Remaining" not in response.headers


def test_unknown_ids_and_paths_answer_xeros_404_text(xero):
    for path in ("/Invoices/00000000-0000-0000-0000-000000000000", "/ManualJournals/nope", "/Nothing"):
        response = xero.get(path)
        assert response.status_code == 404, path
        assert response.text == "The resource you're looking for cannot be found"
        assert response.headers["content-type"].startswith("text/plain")


def test_every_tenant_answer_carries_correlation_id_and_remaining_calls(xero):
    requests.post(xero.control + "/reset-limits", timeout=5)  # earlier tests may have used this minute up
    first, second = xero.get("/Currencies"), xero.get("/Currencies")
    assert first.json()["Id"] == first.headers["Xero-Correlation-Id"] and first.json()["Status"] == "OK"
    assert re.fullmatch(r"/Date\(\d+\)/", first.json()["DateTimeUTC"])
    for name in ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"):
        assert int(first.headers[name]) - int(second.headers[name]) == 1, name
    assert first.headers["content-type"] == "application/json; charset=utf-8"


def test_paths_match_case_insensitively(xero):
    assert xero.get("/manualjournals").status_code == 200
    assert xero.get("/organisation").json()["Organisations"][0]["BaseCurrency"] == "USD"


# --- reference data ---------------------------------------------------------------------------------------

def test_us_organisation_has_lock_dates_before_the_first_month(xero):
    org = one(xero.get("/Organisation"), "Organisations")
    assert (org["BaseCurrency"], org["CountryCode"], org["Version"], org["PaysTax"]) == ("USD", "US", "US", False)
    assert org["OrganisationID"] == xero.creds.xero_tenant_id
    assert org["PeriodLockDate"] == "/Date(1785456000000+0000)/"  # 2026-07-31, the month before 2026-08
    assert org["EndOfYearLockDate"] == "/Date(1767139200000+0000)/"  # 2025-12-31


def test_accounts_map_the_catalog_chart(xero):
    body = xero.get("/Accounts").json()
    assert "pagination" not in body
    accounts = {a["Code"]: a for a in body["Accounts"]}
    assert (accounts["6020"]["Type"], accounts["6020"]["Class"], accounts["6020"]["TaxType"]) == \
        ("EXPENSE", "EXPENSE", "NONE")
    assert (accounts["2100"]["Type"], accounts["2100"]["Class"]) == ("CURRLIAB", "LIABILITY")
    assert (accounts["2000"]["Type"], accounts["2000"]["SystemAccount"]) == ("CURRLIAB", "CREDITORS")
    assert accounts["1000"]["BankAccountType"] == "BANK" and accounts["6990"]["Status"] == "ARCHIVED"
    archived = xero.get("/Accounts", where='Status=="ARCHIVED"').json()["Accounts"]
    assert [a["Code"] for a in archived] == ["6990"]
    single = one(xero.get(f"/Accounts/{accounts['6020']['AccountID']}"), "Accounts")
    assert single["Attachments"] == [] and single["Name"] == "Software and Subscriptions"


def test_tracking_categories_are_department_and_location(server, xero):
    categories = {c["Name"]: c for c in xero.get("/TrackingCategories").json()["TrackingCategories"]}
    assert set(categories) == {"Department", "Location"}
    assert [o["Name"] for o in categories["Department"]["Options"]] == list(server.company.departments)
    assert [o["Name"] for o in categories["Location"]["Options"]] == list(server.company.locations)


def test_us_currencies_and_tax_rates(xero):
    codes = [c["Code"] for c in xero.get("/Currencies").json()["Currencies"]]
    assert codes[0] == "USD" and set(codes) == {"USD", "EUR", "GBP", "JPY"}
    assert [r["TaxType"] for r in xero.get("/TaxRates").json()["TaxRates"]] == ["NONE"]


def test_some_merchants_are_contacts_already(xero):
    names = {c["Name"] for c in xero.get("/Contacts").json()["Contacts"]}
    merchant_names = {m.name for m in MERCHANTS}
    assert 0 < len(names & merchant_names) < len(merchant_names)
    assert [c["Name"] for c in xero.get("/Contacts", where='Name=="Slack"').json()["Contacts"]] == ["Slack"]
    assert xero.get("/Contacts", where='Name=="slack"').json()["Contacts"] == []  # == is case-sensitive
    assert [c["Name"] for c in xero.get("/Contacts", searchTerm="SLAC").json()["Contacts"]] == ["Slack"]


# --- manual journals ----------------------------------------------------------------------------------------

def test_manual_journal_is_created_and_read_back(xero):
    created = one(xero.put("/ManualJournals", journal("MLC-create-1", Url="https://example.com/r/1")),
                  "ManualJournals")
    assert created["Status"] == "POSTED" and created["ShowOnCashBasisReports"] is True
    assert created["Date"] == "/Date(1792022400000+0000)/" and created["Url"] == "https://example.com/r/1"
    lines = created["JournalLines"]
    assert [line["LineAmount"] for line in lines] == [100, -100] and lines[0]["TaxType"] == "NONE"
    assert (lines[0]["Tracking"][0]["Name"], lines[0]["Tracking"][0]["Option"]) == ("Department", "Engineering")
    assert one(xero.get(f"/ManualJournals/{created['ManualJournalID']}"), "ManualJournals") == created


def test_manual_journal_defaults_to_draft(xero):
    body = journal("MLC-draft-1")
    del body["Status"]
    assert one(xero.put("/ManualJournals", body), "ManualJournals")["Status"] == "DRAFT"


def test_journal_that_does_not_sum_to_zero_is_refused(xero):
    response = xero.put("/ManualJournals", journal("MLC-unbalanced", amount=100, credit=10))
    assert messages(response) == ["The total debits (100.00) must equal total credits (-10.00)"]
    assert response.json()["Elements"][0]["Narration"] == "MLC-unbalanced"  # the object is echoed


def test_narration_is_required(xero):
    body = journal("")
    assert messages(xero.put("/ManualJournals", body)) == ["Narration must be supplied"]


def test_archived_account_is_refused(xero):
    assert messages(xero.put("/ManualJournals", journal("MLC-archived", debit_code="6990"))) == [
        "Account code '6990' has been archived, or has been deleted. Each line item must reference a valid account."]


def test_unknown_and_payable_accounts_are_refused(xero):
    for code in ("9999", "2000"):
        assert messages(xero.put("/ManualJournals", journal("MLC-bad-code", debit_code=code))) == [
            f"Account code '{code}' is not a valid code for this document."]


def test_posting_on_or_before_the_lock_dates_is_refused(xero):
    assert messages(xero.put("/ManualJournals", journal("MLC-locked", day="2026-07-31"))) == [LOCKED_PERIOD]
    assert messages(xero.put("/ManualJournals", journal("MLC-locked", day="2025-12-31"))) == [LOCKED_YEAR]
    assert xero.put("/ManualJournals", journal("MLC-after-lock", day="2026-08-01")).status_code == 200


def test_lock_dates_control_route_moves_the_period_lock(xero):
    control = xero.control + "/lock-dates"
    try:
        moved = requests.post(control, json={"PeriodLockDate": "2026-09-30"}, timeout=5).json()
        assert moved == {"PeriodLockDate": "2026-09-30", "EndOfYearLockDate": "2025-12-31"}
        assert messages(xero.put("/ManualJournals", journal("MLC-moved", day="2026-09-30"))) == [
            "The document date cannot be before the period lock date, currently set at 30-Sep-2026"]
        assert one(xero.get("/Organisation"), "Organisations")["PeriodLockDate"] == "/Date(1790726400000+0000)/"
    finally:
        requests.post(control, json={"PeriodLockDate": "2026-07-31"}, timeout=5)


def test_tracking_is_checked_on_lines(xero):
    body = journal("MLC-tracking")
    body["JournalLines"][0]["Tracking"] = [{"Name": "Department", "Option": "Legal"}]
    assert messages(xero.put("/ManualJournals", body)) == [
        "The tracking option 'Legal' does not exist or is not active in the tracking category 'Department'."]
    body["JournalLines"][0]["Tracking"] = [{"Name": "Department", "Option": "Sales"}] * 2
    assert messages(xero.put("/ManualJournals", body)) == [
        "The tracking category 'Department' can only be used once per line."]
    body["JournalLines"][0]["Tracking"] = [{"Name": "Department", "Option": "Sales"},
                                           {"Name": "Location", "Option": "London"}, {"Name": "X", "Option": "Y"}]
    assert messages(xero.put("/ManualJournals", body)) == ["A line can have a maximum of 2 tracking categories."]


def test_a_third_active_tracking_category_is_refused():
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        xero = XeroHttp(server)
        assert messages(xero.put("/TrackingCategories", {"Name": "Project"})) == [
            "You can have a maximum of 2 active tracking categories. Archive one before adding another."]
        location = xero.get("/TrackingCategories", where='Name=="Location"').json()["TrackingCategories"][0]
        archived = one(xero.post(f"/TrackingCategories/{location['TrackingCategoryID']}", {"Status": "ARCHIVED"}),
                       "TrackingCategories")
        assert archived["Status"] == "ARCHIVED"
        project = one(xero.put("/TrackingCategories", {"name": "Project"}), "TrackingCategories")
        option = one(xero.put(f"/TrackingCategories/{project['TrackingCategoryID']}/Options", {"Name": "Atlas"}),
                     "Options")
        assert option["Status"] == "ACTIVE"
        assert messages(xero.post(f"/TrackingCategories/{location['TrackingCategoryID']}", {"Status": "ACTIVE"}))
        body = journal("MLC-archived-category")
        body["JournalLines"][0]["Tracking"] = [{"Name": "Location", "Option": "London"}]
        assert messages(xero.put("/ManualJournals", body)) == [
            "The tracking category 'Location' does not exist or is not active."]


def test_an_account_archived_through_the_api_refuses_new_lines():
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        xero = XeroHttp(server)
        created = one(xero.put("/Accounts", {"Code": "6200", "Name": "Team Events", "Type": "EXPENSE"}), "Accounts")
        assert (created["Class"], created["Status"], created["TaxType"]) == ("EXPENSE", "ACTIVE", "NONE")
        assert messages(xero.put("/Accounts", {"Code": "6201", "Name": "team events", "Type": "EXPENSE"})) == [
            "Please enter a unique Name."]
        assert messages(xero.put("/Accounts", {"Code": "62000000000", "Name": "Long", "Type": "EXPENSE"})) == [
            "Account Code is too long. Maximum of 10 characters allowed"]
        assert xero.put("/ManualJournals", journal("MLC-events", debit_code="6200")).status_code == 200
        archived = one(xero.post(f"/Accounts/{created['AccountID']}", {"Status": "ARCHIVED"}), "Accounts")
        assert archived["Status"] == "ARCHIVED" and ms_of(archived["UpdatedDateUTC"]) > ms_of(
            created["UpdatedDateUTC"])
        assert messages(xero.put("/ManualJournals", journal("MLC-events-2", debit_code="6200")))[0].startswith(
            "Account code '6200' has been archived")
        payable = xero.get("/Accounts", where='Code=="2000"').json()["Accounts"][0]
        assert messages(xero.post(f"/Accounts/{payable['AccountID']}", {"Status": "ARCHIVED"})) == [
            "A system account cannot be archived."]


def test_a_currency_added_through_the_api_needs_a_rate_on_bills():
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        xero = XeroHttp(server)
        supplier = xero.get("/Contacts", where='Name=="Slack"').json()["Contacts"][0]["ContactID"]
        assert one(xero.put("/Currencies", {"Code": "CAD", "Description": "Canadian Dollar"}), "Currencies") == {
            "Code": "CAD", "Description": "Canadian Dollar"}
        assert messages(xero.put("/Currencies", {"Code": "CAD"})) == [
            "The currency CAD has already been added to this organisation."]
        assert messages(xero.put("/Invoices", bill("CAD-1", supplier, CurrencyCode="CAD"))) == [
            "Send a CurrencyRate for CAD: no day rate is available."]
        created = one(xero.put("/Invoices", bill("CAD-2", supplier, CurrencyCode="CAD", CurrencyRate=1.36)),
                      "Invoices")
        assert (created["CurrencyCode"], created["CurrencyRate"]) == ("CAD", 1.36)


# --- contacts and bills -----------------------------------------------------------------------------------------

def test_duplicate_contact_name_is_refused(xero):
    created = one(xero.put("/Contacts", {"Contacts": [{"Name": "Sandbox Supplier One"}]}), "Contacts")
    assert (created["IsSupplier"], created["ContactStatus"]) == (False, "ACTIVE")
    assert messages(xero.put("/Contacts", {"Contacts": [{"Name": "sandbox supplier ONE"}]})) == [
        "The contact name sandbox supplier ONE is already assigned to another contact. The contact name must be "
        "unique across all active contacts."]
    archived = one(xero.post(f"/Contacts/{created['ContactID']}", {"ContactStatus": "ARCHIVED"}), "Contacts")
    assert archived["ContactStatus"] == "ARCHIVED"
    assert xero.put("/Contacts", {"Contacts": [{"Name": "Sandbox Supplier One"}]}).status_code == 200


def test_duplicate_bill_number_is_accepted(xero, supplier):
    first = one(xero.put("/Invoices", {"Invoices": [bill("DUP-7", supplier)]}), "Invoices")
    second = one(xero.put("/Invoices", {"Invoices": [bill("DUP-7", supplier)]}), "Invoices")
    assert first["InvoiceID"] != second["InvoiceID"]
    assert len(xero.get("/Invoices", where='InvoiceNumber=="DUP-7"').json()["Invoices"]) == 2


def test_bill_totals_contact_and_dropped_reference(xero, supplier):
    created = one(xero.put("/Invoices", {"Invoices": [bill("TOT-1", supplier, amount=99.99, Reference="ignored")]}),
                  "Invoices")
    assert (created["SubTotal"], created["TotalTax"], created["Total"], created["AmountDue"]) == (99.99, 0, 99.99,
                                                                                                   99.99)
    assert created["Reference"] == "" and created["Contact"]["IsSupplier"] is True
    assert (created["DateString"], created["DueDateString"]) == ("2026-10-15T00:00:00", "2026-11-15T00:00:00")
    assert created["LineItems"][0]["TaxType"] == "NONE" and created["CurrencyCode"] == "USD"


def test_bill_naming_an_unknown_contact_creates_it(xero):
    body = bill("NEW-CONTACT-1", "x")
    body["Contact"] = {"Name": "Brand New Supplier"}
    created = one(xero.put("/Invoices", body), "Invoices")
    found = xero.get("/Contacts", where='Name=="Brand New Supplier"').json()["Contacts"]
    assert [c["ContactID"] for c in found] == [created["Contact"]["ContactID"]] and found[0]["IsSupplier"] is True


def test_bill_lines_must_agree_and_name_an_account(xero, supplier):
    body = bill("BAD-LINES", supplier)
    body["LineItems"] = [{"Description": "x", "Quantity": 2, "UnitAmount": 10, "LineAmount": 25,
                          "AccountCode": "6050"}, {"Description": "", "UnitAmount": 1.005}]
    assert messages(xero.put("/Invoices", body)) == [
        "LineAmount 25 must equal Quantity x UnitAmount (20.00).", "Description must be at least 1 character long.",
        "UnitAmount must have no more than 2 decimal places.", "Account code must be specified"]


def test_foreign_currency_bill_uses_the_day_rate_unless_given(xero, supplier):
    euro = one(xero.put("/Invoices", bill("EUR-1", supplier, CurrencyCode="EUR")), "Invoices")
    assert (euro["CurrencyCode"], euro["CurrencyRate"]) == ("EUR", 0.921659)
    given = one(xero.put("/Invoices", bill("EUR-2", supplier, CurrencyCode="EUR", CurrencyRate=0.9)), "Invoices")
    assert given["CurrencyRate"] == 0.9
    assert messages(xero.put("/Invoices", bill("XYZ-1", supplier, CurrencyCode="XYZ"))) == [
        "The currency code 'XYZ' is not set up for this organisation."]


def test_other_invoice_types_are_refused(xero, supplier):
    assert messages(xero.put("/Invoices", bill("AR-1", supplier, Type="ACCREC"))) == [
        "Type must be ACCPAY: the sandbox implements bills (ACCPAY) only."]


def test_summarize_errors_false_keeps_the_good_objects(xero):
    body = {"ManualJournals": [journal("MLC-partial-good"), journal("MLC-partial-bad", credit=1)]}
    answered = xero.put("/ManualJournals", body, summarizeErrors="false").json()["ManualJournals"]
    assert [j["StatusAttributeString"] for j in answered] == ["OK", "ERROR"]
    assert answered[1]["ValidationErrors"][0]["Message"].startswith("The total debits (100.00)")
    narrations = [j["Narration"] for j in xero.entries()["ManualJournals"]]
    assert "MLC-partial-good" in narrations and "MLC-partial-bad" not in narrations
    assert xero.put("/ManualJournals", {"ManualJournals": [journal("MLC-batch-good"),
                                                           journal("MLC-batch-bad", credit=1)]}).status_code == 400
    assert "MLC-batch-good" not in [j["Narration"] for j in xero.entries()["ManualJournals"]]  # all or nothing


# --- idempotency ----------------------------------------------------------------------------------------------

def test_idempotency_key_replays_the_first_answer_and_creates_nothing_twice(xero):
    headers = xero.headers(**{"Idempotency-Key": "key-replay-1"})
    first = xero.call("PUT", "/ManualJournals", headers=headers, json=journal("MLC-idem-1"))
    again = xero.call("PUT", "/ManualJournals", headers=headers, json=journal("MLC-idem-1"))
    assert first.status_code == again.status_code == 200 and first.text == again.text
    assert [j["Narration"] for j in xero.entries()["ManualJournals"]].count("MLC-idem-1") == 1
    refused = xero.call("PUT", "/ManualJournals", headers=headers, json=journal("MLC-idem-other"))
    assert messages(refused) == ["The Idempotency-Key 'key-replay-1' was already used for a different request."]
    assert "MLC-idem-other" not in [j["Narration"] for j in xero.entries()["ManualJournals"]]


def test_idempotency_key_over_128_characters_is_refused(xero):
    headers = xero.headers(**{"Idempotency-Key": "k" * 129})
    assert messages(xero.call("PUT", "/ManualJournals", headers=headers, json=journal("MLC-long-key"))) == [
        "The Idempotency-Key must be 128 characters or fewer."]


def test_lost_response_after_commit_leaves_the_journal_and_a_retry_replays(server, xero):
    server.faults.force("lost_response", path_contains="/xero/api.xro/2.0/ManualJournals")
    headers = xero.headers(**{"Idempotency-Key": "lost-1"})
    with pytest.raises(requests.RequestException):
        xero.call("PUT", "/ManualJournals", headers=headers, json=journal("MLC-lost-1"))
    stored = [j for j in xero.entries()["ManualJournals"] if j["Narration"] == "MLC-lost-1"]
    assert len(stored) == 1 and stored[0]["Status"] == "POSTED"
    retried = one(xero.call("PUT", "/ManualJournals", headers=headers, json=journal("MLC-lost-1")), "ManualJournals")
    assert retried["ManualJournalID"] == stored[0]["ManualJournalID"]
    assert [j["Narration"] for j in xero.entries()["ManualJournals"]].count("MLC-lost-1") == 1


# --- queries --------------------------------------------------------------------------------------------------

def test_where_on_narration_contains_and_startswith(xero):
    xero.put("/ManualJournals", {"ManualJournals": [journal("MLC-abc1 Brex card"), journal("MLC-abc12 Brex card"),
                                                    journal("Reversal of MLC-abc1")]})
    def narrations(where: str) -> list[str]:
        return sorted(j["Narration"] for j in xero.get("/ManualJournals", where=where).json()["ManualJournals"])

    assert narrations('Narration.Contains("MLC-abc1")') == ["MLC-abc1 Brex card", "MLC-abc12 Brex card",
                                                            "Reversal of MLC-abc1"]
    assert narrations('Narration.StartsWith("MLC-abc1 ")') == ["MLC-abc1 Brex card"]
    assert narrations('narration.startswith("MLC-abc1") && Status != "DELETED"') == [
        "MLC-abc1 Brex card", "MLC-abc12 Brex card"]
    assert narrations('Narration=="MLC-abc12 Brex card" || Narration=="Reversal of MLC-abc1"') == [
        "MLC-abc12 Brex card", "Reversal of MLC-abc1"]


def test_where_on_invoices_combines_number_type_status_and_dates(xero, supplier):
    ids = [one(xero.put("/Invoices", bill(number, supplier, day=day)), "Invoices")["InvoiceID"]
           for number, day in (("W-1", "2026-10-01"), ("W-2", "2026-10-31"), ("W-2", "2026-10-20"),
                               ("W-3", "2026-11-02"))]
    xero.post(f"/Invoices/{ids[2]}", {"Status": "VOIDED"})

    def numbers(**params) -> list[str]:
        return sorted(i["InvoiceNumber"] for i in xero.get("/Invoices", **params).json()["Invoices"])

    assert numbers(where='InvoiceNumber=="W-2"') == ["W-2", "W-2"]
    assert numbers(where='InvoiceNumber=="W-2"&&Status!="VOIDED"') == ["W-2"]
    october = 'Type=="ACCPAY"&&Date>=DateTime(2026,10,01)&&Date<=DateTime(2026,10,31)&&InvoiceNumber.StartsWith("W-")'
    assert numbers(where=october) == ["W-1", "W-2", "W-2"]
    assert numbers(where='InvoiceNumber=="W-1"||InvoiceNumber=="W-3"') == ["W-1", "W-3"]
    assert numbers(where='Reference==""&&InvoiceNumber=="W-1"') == ["W-1"]
    assert numbers(where=f'Contact.ContactID==Guid("{supplier}")&&InvoiceNumber=="W-3"') == ["W-3"]
    assert numbers(InvoiceNumbers="W-1,W-3") == ["W-1", "W-3"]
    assert numbers(IDs=ids[0]) == ["W-1"]
    assert numbers(Statuses="VOIDED", where='InvoiceNumber.StartsWith("W-")') == ["W-2"]


@pytest.mark.parametrize(("where", "message"), [
    ('Narration.Contains("x"', "')' expected"),
    ('Narration=="x" AND', "Expression expected"),
    ('Foo=="x"', "No property or field 'Foo' exists in type 'ManualJournal'"),
    ('ManualJournalID=="abc"', "Operator '==' incompatible with operand types 'Guid' and 'String'"),
    ('HasAttachments=="true"', "Operator '==' incompatible with operand types 'Boolean' and 'String'"),
    ('Date>"2026-10-01"', "Operator '>' incompatible with operand types 'DateTime' and 'String'"),
    ('Narration', "Expression of type 'Boolean' expected"),
])
def test_where_the_sandbox_cannot_parse_is_a_query_parse_exception(xero, where, message):
    response = xero.get("/ManualJournals", where=where)
    assert response.status_code == 400
    assert response.json() == {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}


def test_lists_page_by_100_with_a_pagination_object(xero):
    body = {"ManualJournals": [journal(f"PAGE-{n:03d}", day=f"2026-10-{1 + n % 28:02d}") for n in range(120)]}
    assert xero.put("/ManualJournals", body).status_code == 200
    first = xero.get("/ManualJournals", where='Narration.StartsWith("PAGE-")').json()
    assert len(first["ManualJournals"]) == 100
    assert first["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 2, "itemCount": 120}
    second = xero.get("/ManualJournals", where='Narration.StartsWith("PAGE-")', page=2).json()
    assert [j["Narration"] for j in second["ManualJournals"]] == [f"PAGE-{n:03d}" for n in range(100, 120)]
    assert "Attachments" not in second["ManualJournals"][0]
    clamped = xero.get("/ManualJournals", where='Narration.StartsWith("PAGE-")', pageSize=500).json()
    assert clamped["pagination"]["pageSize"] == 100
    ordered = xero.get("/ManualJournals", where='Narration.StartsWith("PAGE-")', order="Date DESC, Narration ASC")
    assert [j["Narration"] for j in ordered.json()["ManualJournals"][:2]] == ["PAGE-027", "PAGE-055"]


def test_if_modified_since_returns_what_changed_at_or_after_it(xero):
    older = one(xero.put("/ManualJournals", journal("IMS-older")), "ManualJournals")
    newer = one(xero.put("/ManualJournals", journal("IMS-newer")), "ManualJournals")
    since = datetime.fromtimestamp(ms_of(newer["UpdatedDateUTC"]) / 1000, UTC).isoformat()
    headers = xero.headers(**{"If-Modified-Since": since})
    listed = xero.get("/ManualJournals", headers=headers, where='Narration.StartsWith("IMS-")').json()
    assert [j["Narration"] for j in listed["ManualJournals"]] == ["IMS-newer"]
    edited = one(xero.post(f"/ManualJournals/{older['ManualJournalID']}", {"Narration": "IMS-older edited"}),
                 "ManualJournals")
    assert ms_of(edited["UpdatedDateUTC"]) > ms_of(newer["UpdatedDateUTC"])
    listed = xero.get("/ManualJournals", headers=headers, where='Narration.StartsWith("IMS-")').json()
    assert sorted(j["Narration"] for j in listed["ManualJournals"]) == ["IMS-newer", "IMS-older edited"]


def test_unimplemented_list_options_are_refused(xero):
    assert messages(xero.get("/Invoices", summaryOnly="true")) == [
        "summaryOnly=true is not implemented by the sandbox; leave it out."]
    bad_since = xero.get("/Invoices", headers=xero.headers(**{"If-Modified-Since": "yesterday"}))
    assert messages(bad_since)[0].startswith("If-Modified-Since must be")


# --- attachments ---------------------------------------------------------------------------------------------

def test_attachment_upload_list_and_download(xero, supplier):
    invoice = one(xero.put("/Invoices", bill("ATT-1", supplier)), "Invoices")
    path = f"/Invoices/{invoice['InvoiceID']}/Attachments"
    uploaded = xero.call("PUT", path + "/receipt 1.pdf", params={"IncludeOnline": "True"}, data=b"%PDF-1.4 one",
                         headers=xero.headers(**{"Content-Type": "application/octet-stream"}))
    attachment = one(uploaded, "Attachments")
    assert (attachment["FileName"], attachment["MimeType"], attachment["ContentLength"]) == ("receipt 1.pdf",
                                                                                           "application/pdf", 12)
    assert attachment["IncludeOnline"] is True and attachment["Url"].endswith("/Attachments/receipt%201.pdf")
    assert [a["FileName"] for a in xero.get(path).json()["Attachments"]] == ["receipt 1.pdf"]
    assert xero.get(f"{path}/{attachment['AttachmentID']}").content == b"%PDF-1.4 one"
    assert xero.get(path + "/receipt 1.pdf").headers["content-type"] == "application/pdf"
    reread = one(xero.get(f"/Invoices/{invoice['InvoiceID']}"), "Invoices")
    assert reread["HasAttachments"] is True and [a["FileName"] for a in reread["Attachments"]] == ["receipt 1.pdf"]
    assert ms_of(reread["UpdatedDateUTC"]) > ms_of(invoice["UpdatedDateUTC"])


def test_attachments_over_the_size_or_count_limit_are_refused():
    overrides = {"xero.attachment_max_bytes": 10, "xero.attachments_per_record": 2}
    with SandboxServer(SandboxConfig(rate_limits="off", limit_overrides=overrides)) as server:
        xero = XeroHttp(server)
        created = one(xero.put("/ManualJournals", journal("ATT-LIMIT")), "ManualJournals")
        path = f"/ManualJournals/{created['ManualJournalID']}/Attachments/"
        assert messages(xero.call("PUT", path + "big.png", data=b"x" * 11)) == [
            "The file is too large. The maximum size of an attachment is 10 bytes."]
        assert xero.call("PUT", path + "a.png", data=b"a").status_code == 200
        assert xero.call("PUT", path + "b.png", data=b"b").status_code == 200
        assert xero.call("POST", path + "a.png", data=b"a2").status_code == 200  # same name: replaced
        assert messages(xero.call("PUT", path + "c.png", data=b"c")) == ["A document can have at most 2 attachments."]
        listed = xero.get(f"/ManualJournals/{created['ManualJournalID']}/Attachments").json()["Attachments"]
        assert sorted(a["FileName"] for a in listed) == ["a.png", "b.png"]


# --- limits --------------------------------------------------------------------------------------------------

def test_minute_limit_is_429_with_retry_after():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.per_minute": 3})) as server:
        xero = XeroHttp(server)
        assert [xero.get("/Organisation").headers["X-MinLimit-Remaining"] for _ in range(3)] == ["2", "1", "0"]
        refused = xero.get("/Organisation")
        assert refused.status_code == 429 and refused.content == b""
        assert refused.headers["X-Rate-Limit-Problem"] == "minute"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-MinLimit-Remaining"] == "0"
        stats = requests.get(xero.control + "/stats", timeout=5).json()
        assert stats["rate_limited"]["minute"] == 1 and stats["day_used"] == 3
        assert requests.post(xero.control + "/reset-limits", timeout=5).json() == {"reset": True}
        assert xero.get("/Organisation").status_code == 200


def test_in_flight_limit_is_429_concurrent():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.concurrency": 2})) as server:
        xero = XeroHttp(server)
        requests.post(xero.control + "/latency", json={"seconds": 0.5}, timeout=5)
        results: list[requests.Response] = []

        def call() -> None:
            results.append(requests.get(xero.api + "/Organisation", headers=xero.headers(), timeout=10))

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status_code for r in results) == [200, 200, 429, 429, 429]
        refused = next(r for r in results if r.status_code == 429)
        assert refused.headers["X-Rate-Limit-Problem"] == "concurrent" and refused.headers["Retry-After"] == "1"


def test_daily_limit_is_429_until_the_sandbox_day_rolls_over():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.daily": 3, "xero.day_seconds": 2})) as server:
        xero = XeroHttp(server)
        assert [xero.get("/Organisation").status_code for _ in range(3)] == [200, 200, 200]
        refused = xero.get("/Organisation")
        assert refused.status_code == 429 and refused.headers["X-Rate-Limit-Problem"] == "day"
        assert refused.headers["X-DayLimit-Remaining"] == "0"
        wait = int(refused.headers["Retry-After"])
        assert 1 <= wait <= 2
        time.sleep(wait + 0.1)
        after = xero.get("/Organisation")
        assert after.status_code == 200 and after.headers["X-DayLimit-Remaining"] == "2"


def test_next_day_control_route_starts_a_new_daily_count():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.daily": 2})) as server:
        xero = XeroHttp(server)
        assert [xero.get("/Organisation").status_code for _ in range(3)] == [200, 200, 429]
        assert requests.post(xero.control + "/next-day", timeout=5).json() == {"day": 1}
        assert xero.get("/Organisation").status_code == 200


def test_app_minute_limit_is_429_appminute_and_counts_connections():
    with SandboxServer(SandboxConfig(limit_overrides={"xero.app_per_minute": 3})) as server:
        xero = XeroHttp(server)
        connections = xero.session.get(xero.base + "/connections", headers=xero.headers(), timeout=10)
        assert connections.headers["X-AppMinLimit-Remaining"] == "2"
        assert [xero.get("/Organisation").status_code for _ in range(3)] == [200, 200, 429]
        assert xero.get("/Organisation").headers["X-Rate-Limit-Problem"] == "appminute"


def test_rate_limits_off_disables_the_refusals():
    with SandboxServer(SandboxConfig(rate_limits="off", limit_overrides={"xero.per_minute": 1,
                                                                         "xero.daily": 1})) as server:
        xero = XeroHttp(server)
        assert all(xero.get("/Organisation").status_code == 200 for _ in range(4))


def test_fault_middleware_answers_with_xeros_429(server, xero):
    server.faults.force("rate_limited", path_contains="/xero/api.xro/2.0/Invoices")
    refused = xero.get("/Invoices")
    assert refused.status_code == 429 and refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["Retry-After"] == "1"
    assert xero.get("/Invoices").status_code == 200
    server.faults.force("server_error", path_contains="/xero-identity/")
    assert xero.token(xero.refresh_token).status_code == 500


# --- changes a person makes, seen through the API and the control route ---------------------------------------

def test_void_delete_and_edit_show_in_entries(xero, supplier):
    posted = one(xero.put("/ManualJournals", journal("DRIFT-void")), "ManualJournals")
    draft = one(xero.put("/ManualJournals", journal("DRIFT-delete", Status="DRAFT")), "ManualJournals")
    edited = one(xero.put("/ManualJournals", journal("DRIFT-edit")), "ManualJournals")
    voided = one(xero.post(f"/ManualJournals/{posted['ManualJournalID']}", {"Status": "VOIDED"}), "ManualJournals")
    assert voided["Status"] == "VOIDED" and ms_of(voided["UpdatedDateUTC"]) > ms_of(posted["UpdatedDateUTC"])
    xero.post("/ManualJournals", {"ManualJournals": [{"ManualJournalID": draft["ManualJournalID"],
                                                      "Status": "DELETED"}]})
    new_lines = journal("DRIFT-edit", amount=150)["JournalLines"]
    xero.post(f"/ManualJournals/{edited['ManualJournalID']}", {"ManualJournals": [{"JournalLines": new_lines}]})
    paid = one(xero.put("/Invoices", bill("DRIFT-B1", supplier)), "Invoices")
    draft_bill = one(xero.put("/Invoices", bill("DRIFT-B2", supplier, Status="DRAFT")), "Invoices")
    xero.post(f"/Invoices/{paid['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})
    xero.post(f"/Invoices/{draft_bill['InvoiceID']}", {"Status": "DELETED"})
    entries = xero.entries()
    journals = {j["Narration"]: j for j in entries["ManualJournals"]}
    bills = {b["InvoiceNumber"]: b for b in entries["Invoices"]}
    assert (journals["DRIFT-void"]["Status"], journals["DRIFT-delete"]["Status"]) == ("VOIDED", "DELETED")
    assert [line["LineAmount"] for line in journals["DRIFT-edit"]["JournalLines"]] == [150, -150]
    assert (bills["DRIFT-B1"]["Status"], bills["DRIFT-B1"]["AmountDue"]) == ("VOIDED", 0)
    assert bills["DRIFT-B2"]["Status"] == "DELETED"
    listed = xero.get("/ManualJournals", where='Narration.StartsWith("DRIFT-")').json()["ManualJournals"]
    assert {j["Status"] for j in listed} == {"VOIDED", "DELETED", "POSTED"}


def test_status_changes_xero_forbids_are_refused(xero, supplier):
    posted = one(xero.put("/ManualJournals", journal("FORBID-1")), "ManualJournals")
    path = f"/ManualJournals/{posted['ManualJournalID']}"
    assert messages(xero.post(path, {"Status": "DELETED"})) == [
        "A POSTED manual journal cannot be deleted. Set its Status to VOIDED instead."]
    xero.post(path, {"Status": "VOIDED"})
    assert messages(xero.post(path, {"Narration": "again"})) == [
        "This manual journal cannot be modified because its Status is VOIDED."]
    authorised = one(xero.put("/Invoices", bill("FORBID-B", supplier)), "Invoices")
    assert messages(xero.post(f"/Invoices/{authorised['InvoiceID']}", {"Status": "DELETED"}))[0].startswith(
        "Invoice not of valid status for modification")
    edited = one(xero.post(f"/Invoices/{authorised['InvoiceID']}", {"LineItems": [
        {"Description": "Team dinner", "Quantity": 2, "UnitAmount": 150, "AccountCode": "6050"}]}), "Invoices")
    assert (edited["Status"], edited["Total"]) == ("AUTHORISED", 300)


def test_put_with_an_existing_id_is_refused(xero):
    created = one(xero.put("/ManualJournals", journal("PUT-ID")), "ManualJournals")
    body = journal("PUT-ID-again", ManualJournalID=created["ManualJournalID"])
    assert messages(xero.put("/ManualJournals", body)) == [
        "ManualJournals are created with PUT; send changes to an existing one with POST."]


# --- the UK organisation --------------------------------------------------------------------------------------

def uk_bill(uk: XeroHttp, lines: list[dict], types: str = "Exclusive") -> requests.Response:
    return uk.put("/Invoices", {"Invoices": [{"Type": "ACCPAY", "Contact": {"Name": "UK Supplier"},
                                              "Date": DAY, "LineAmountTypes": types, "Status": "AUTHORISED",
                                              "LineItems": lines}]})


def uk_line(amount: float, tax_type: str | None, code: str = "6050") -> dict:
    line = {"Description": "Supplies", "Quantity": 1, "UnitAmount": amount, "AccountCode": code}
    if tax_type:
        line["TaxType"] = tax_type
    return line


def test_uk_organisation_has_vat(uk):
    org = one(uk.get("/Organisation"), "Organisations")
    assert (org["BaseCurrency"], org["CountryCode"], org["Version"], org["PaysTax"]) == ("GBP", "GB", "UK", True)
    assert (org["FinancialYearEndDay"], org["FinancialYearEndMonth"]) == (31, 3)  # the year starts in April
    assert org["EndOfYearLockDate"] == "/Date(1774915200000+0000)/"  # 2026-03-31
    rates = {r["TaxType"]: r for r in uk.get("/TaxRates").json()["TaxRates"]}
    assert {"INPUT2", "RRINPUT", "ZERORATEDINPUT", "EXEMPTINPUT", "NONE"} <= set(rates)
    assert (rates["INPUT2"]["EffectiveRate"], rates["RRINPUT"]["EffectiveRate"]) == (20, 5)
    assert (rates["TAX001"]["EffectiveRate"], rates["TAX001"]["Status"]) == (17.5, "ARCHIVED")
    currencies = [c["Code"] for c in uk.get("/Currencies").json()["Currencies"]]
    assert currencies[0] == "GBP"


def test_uk_archived_tax_rate_is_refused(uk):
    assert messages(uk_bill(uk, [uk_line(10, "TAX001")])) == [
        "The TaxType code TAX001 does not exist or cannot be used for this type of transaction."]


def test_uk_foreign_bill_uses_the_rate_to_gbp(uk):
    body = {"Invoices": [{"Type": "ACCPAY", "Contact": {"Name": "UK Supplier"}, "Date": DAY, "CurrencyCode": "EUR",
                          "LineItems": [uk_line(10, "INPUT2")]}]}
    assert one(uk.put("/Invoices", body), "Invoices")["CurrencyRate"] == 1.170507  # 1 / 0.854331 GBP per EUR


def test_uk_expense_line_without_tax_type_is_refused(uk):
    assert messages(uk_bill(uk, [uk_line(10, None)])) == [
        "TaxType must be specified for line items on account code '6050'."]


def test_uk_sales_tax_type_on_a_bill_is_refused(uk):
    assert messages(uk_bill(uk, [uk_line(10, "OUTPUT2")])) == [
        "The TaxType code OUTPUT2 does not exist or cannot be used for this type of transaction."]


def test_uk_exclusive_totals_are_right_to_the_penny(uk):
    created = one(uk_bill(uk, [uk_line(100, "INPUT2"), uk_line(33.33, "RRINPUT"), uk_line(12.5, "ZERORATEDINPUT")]),
                  "Invoices")
    assert [line["TaxAmount"] for line in created["LineItems"]] == [20, 1.67, 0]
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (145.83, 21.67, 167.5)


def test_uk_inclusive_totals_are_right_to_the_penny(uk):
    created = one(uk_bill(uk, [uk_line(120, "INPUT2"), uk_line(10, "INPUT2"), uk_line(21, "RRINPUT")],
                          "Inclusive"), "Invoices")
    assert [line["TaxAmount"] for line in created["LineItems"]] == [20, 1.67, 1]
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (128.33, 22.67, 151)


def test_uk_journal_balances_on_amounts_with_vat(uk):
    def vat_journal(credit: float) -> dict:
        return {"Narration": "UK-VAT", "Date": DAY, "Status": "POSTED", "JournalLines": [
            {"LineAmount": 100, "AccountCode": "6020", "TaxType": "INPUT2"},
            {"LineAmount": -credit, "AccountCode": "2100"}]}

    assert messages(uk.put("/ManualJournals", vat_journal(100))) == [
        "The total debits (120.00) must equal total credits (-100.00)"]
    created = one(uk.put("/ManualJournals", vat_journal(120)), "ManualJournals")
    assert [line["TaxAmount"] for line in created["JournalLines"]] == [20, 0]


# --- state and scale ------------------------------------------------------------------------------------------

def test_state_survives_a_restart(tmp_path):
    state_file = str(tmp_path / "state.json")
    with SandboxServer(SandboxConfig(last_month="2026-10", state_file=state_file)) as first:
        xero = XeroHttp(first)
        created = one(xero.put("/ManualJournals", journal("KEEP-ME")), "ManualJournals")
        contact = one(xero.put("/Contacts", {"Name": "Kept Supplier"}), "Contacts")
        rotated = xero.refresh_token
    assert json.loads(open(state_file).read())["xero"]["store"]["journals"]
    with SandboxServer(SandboxConfig(last_month="2026-10", state_file=state_file)) as second:
        again = XeroHttp(second, refresh_token=rotated)
        assert again.token(second.config.credentials.xero_refresh_token).json() == {"error": "invalid_grant"}
        assert one(again.get(f"/ManualJournals/{created['ManualJournalID']}"), "ManualJournals")["Narration"] == \
            "KEEP-ME"
        assert one(again.get(f"/Contacts/{contact['ContactID']}"), "Contacts")["Name"] == "Kept Supplier"


def test_lookups_cost_the_same_with_50000_journals():
    from ml_connector.sandbox.xero.journals import commit_journal, prepare_journal

    with SandboxServer(SandboxConfig(last_month="2026-10", rate_limits="off")) as server:
        xero = XeroHttp(server)
        store = server.xero.store
        for n in range(50_000):
            commit_journal(store, prepare_journal(store, journal(f"MLC-{n:06d} card spend"), None))
        wanted = next(j for j in store.journals.values() if j["Narration"] == "MLC-031337 card spend")
        lookups = {
            "id": (f"/ManualJournals/{wanted['ManualJournalID']}", {}),
            "narration": ("/ManualJournals", {"where": 'Narration=="MLC-031337 card spend"'}),
            "contains": ("/ManualJournals", {"where": 'Narration.Contains("MLC-031337")'}),
            "contact": ("/Contacts", {"where": 'Name=="Slack"'}),
        }
        for name, (path, params) in lookups.items():
            started = time.perf_counter()
            response = xero.get(path, **params)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200 and elapsed < 0.25, (name, elapsed)
        found = xero.get("/ManualJournals", where='Narration.Contains("MLC-031337")').json()["ManualJournals"]
        assert [j["ManualJournalID"] for j in found] == [wanted["ManualJournalID"]]
        started = time.perf_counter()
        page = xero.get("/ManualJournals", page=400).json()
        assert time.perf_counter() - started < 0.5 and page["pagination"]["pageCount"] == 500
