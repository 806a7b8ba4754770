"""The Zoho Books sandbox over real HTTP: OAuth, auth failures, limits, reference data, validation, state.

A small hand-written HTTP helper speaks to the sandbox, deliberately not the connector's own Zoho client:
these tests pin what the sandbox does, so the client's tests can trust it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta

import pytest
import requests

from ml_connector.sandbox.catalog import MERCHANTS, numeric_id
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer

AUTH_14 = {"code": 14, "message": "The request could not be authenticated as the authentication value you "
                                  "entered is invalid. Enter a valid authentication value and try again."}
AUTH_57 = {"code": 57, "message": "You are not authorized to perform this operation"}


class ZohoHttp:
    """Just enough client to speak to the sandbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.creds = server.config.credentials
        self.org = self.creds.zoho_organization_id
        self.token_url = server.url("zoho-accounts") + "/oauth/v2/token"
        self.control = server.url("zoho") + "/_sandbox"
        self.session = requests.Session()
        token = self.refresh()
        self.token = token["access_token"]
        self.books = token["api_domain"] + "/books/v3"

    def refresh(self, **overrides: str) -> dict:
        params = {"grant_type": "refresh_token", "client_id": self.creds.zoho_client_id,
                  "client_secret": self.creds.zoho_client_secret,
                  "refresh_token": self.creds.zoho_refresh_token, **overrides}
        response = self.session.post(self.token_url, params=params, timeout=10)
        assert response.status_code == 200
        return response.json()

    def request(self, method: str, path: str, params: dict | None = None, org: bool = True,
                token: str | None = None, **kwargs) -> requests.Response:
        query = {"organization_id": self.org} if org else {}
        query.update(params or {})
        headers = kwargs.pop("headers", {"Authorization": f"Zoho-oauthtoken {token or self.token}"})
        return self.session.request(method, self.books + path, params=query, headers=headers, timeout=10,
                                    **kwargs)

    def get(self, path: str, **params) -> requests.Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict) -> requests.Response:
        return self.request("POST", path, json=body)

    def reference(self) -> dict:
        accounts = self.get("/chartofaccounts", filter_by="AccountType.All").json()["chartofaccounts"]
        tags = {}
        for tag in self.get("/reportingtags").json()["reporting_tags"]:
            page = self.get("/reportingtags/options", tag_id=tag["tag_id"]).json()
            tags[tag["tag_name"]] = {"tag_id": tag["tag_id"],
                                     **{o["option_name"]: o["option_id"] for o in page["options"]}}
        currencies = self.get("/settings/currencies").json()["currencies"]
        return {"accounts": {a["account_code"]: a["account_id"] for a in accounts}, "tags": tags,
                "currencies": {c["currency_code"]: c["currency_id"] for c in currencies}}


def tag_list(ref: dict, tag: str = "Cost Center", option: str = "Engineering") -> list[dict]:
    return [{"tag_id": ref["tags"][tag]["tag_id"], "tag_option_id": ref["tags"][tag][option]}]


def journal_body(ref: dict, reference_number: str, journal_date: str, amount: object = 100,
                 credit_amount: object = None, debit_code: str = "6020", **extra) -> dict:
    lines = [
        {"account_id": ref["accounts"][debit_code], "debit_or_credit": "debit", "amount": amount,
         "description": "Software", "tags": tag_list(ref)},
        {"account_id": ref["accounts"]["2100"], "debit_or_credit": "credit",
         "amount": amount if credit_amount is None else credit_amount, "description": "Card",
         "tags": tag_list(ref)},
    ]
    return {"journal_date": journal_date, "reference_number": reference_number, "notes": "test",
            "line_items": lines, **extra}


def start(**config) -> SandboxServer:
    return SandboxServer(SandboxConfig(last_month="2026-10", **config)).start()


@pytest.fixture(scope="module")
def server():
    sandbox = start(rate_limits="off")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def zoho(server) -> ZohoHttp:
    return ZohoHttp(server)


@pytest.fixture(scope="module")
def ref(zoho) -> dict:
    return zoho.reference()


@pytest.fixture(scope="module")
def open_day(server) -> str:
    return f"{server.config.month_keys[-1]}-15"


def assert_error(response: requests.Response, status: int, code: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    for fragment in fragments:
        assert fragment in body["message"], body


# --- accounts server -------------------------------------------------------------------------------

def test_refresh_grant_returns_bearer_token_and_api_domain(server, zoho):
    token = zoho.refresh()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["api_domain"] == server.url("zoho")
    assert "refresh_token" not in token


def test_refresh_grant_accepts_a_form_body(zoho):
    creds = zoho.creds
    response = requests.post(zoho.token_url, timeout=10, data={
        "grant_type": "refresh_token", "client_id": creds.zoho_client_id,
        "client_secret": creds.zoho_client_secret, "refresh_token": creds.zoho_refresh_token})
    assert response.status_code == 200 and response.json()["access_token"].startswith("1000.")


@pytest.mark.parametrize(("override", "error"), [
    ({"refresh_token": "1000.nope.nope"}, "invalid_code"),
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_token_errors_come_back_as_http_200_with_error(zoho, override, error):
    assert zoho.refresh(**override) == {"error": error}


def test_refresh_token_is_blocked_after_the_cap_for_the_window():
    with SandboxServer(SandboxConfig(limit_overrides={"zoho.token_refreshes": 3})) as server:
        zoho = ZohoHttp(server)  # refresh 1
        assert "access_token" in zoho.refresh()
        assert "access_token" in zoho.refresh()
        blocked = zoho.refresh()
        assert blocked["error"] == "Access Denied"
        assert "too many requests" in blocked["error_description"]
        assert requests.get(zoho.control + "/stats", timeout=5).json()["token_refreshes"] == 3
        assert zoho.get("/organizations").status_code == 200  # tokens already minted keep working


# --- authentication and organisation ------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Zoho-oauthtoken garbage", "Bearer {token}", "Zoho-oauthtoken "])
def test_missing_or_unusable_auth_is_401_code_14(zoho, header):
    headers = {} if header is None else {"Authorization": header.format(token=zoho.token)}
    response = zoho.request("GET", "/chartofaccounts", headers=headers)
    assert response.status_code == 401 and response.json() == AUTH_14
    assert "X-Rate-Limit-Limit" not in response.headers


def test_expired_tokens_are_401_code_57():
    with SandboxServer(SandboxConfig(token_ttl_seconds=1)) as server:
        zoho = ZohoHttp(server)
        assert zoho.get("/organizations").status_code == 200
        time.sleep(1.1)
        response = zoho.get("/organizations")
        assert response.status_code == 401 and response.json() == AUTH_57
        zoho.token = zoho.refresh()["access_token"]
        assert zoho.get("/organizations").status_code == 200


def test_control_route_kills_every_token():
    with SandboxServer(SandboxConfig()) as server:
        zoho = ZohoHttp(server)
        assert requests.post(zoho.control + "/expire-tokens", timeout=5).status_code == 200
        response = zoho.get("/organizations")
        assert response.status_code == 401 and response.json() == AUTH_57


def test_organization_id_is_required_except_on_organizations(zoho):
    assert zoho.request("GET", "/organizations", org=False).status_code == 200
    assert_error(zoho.request("GET", "/journals", org=False), 400, 2, "organization_id")
    assert_error(zoho.request("GET", "/journals", org=False, params={"organization_id": "1"}), 400, 2,
                 "organization_id")


def test_authenticated_responses_carry_rate_limit_headers(zoho):
    response = zoho.get("/settings/currencies")
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["X-Rate-Limit-Limit"] == "5000"
    assert 0 <= int(response.headers["X-Rate-Limit-Remaining"]) < 5000
    assert 0 <= int(response.headers["X-Rate-Limit-Reset"]) <= 86400


def test_unknown_url_is_code_5(zoho):
    assert_error(zoho.get("/nothing-here"), 404, 5, "Invalid URL Passed")


# --- limits -------------------------------------------------------------------------------------------

def test_per_minute_limit_is_429_code_44():
    with SandboxServer(SandboxConfig(limit_overrides={"zoho.per_minute": 5})) as server:
        zoho = ZohoHttp(server)
        statuses = [zoho.get("/organizations").status_code for _ in range(5)]
        assert statuses == [200] * 5
        assert_error(zoho.get("/organizations"), 429, 44, "maximum number of requests per minute")


def test_daily_quota_is_429_code_45_naming_the_quota():
    with SandboxServer(SandboxConfig(limit_overrides={"zoho.daily": 3})) as server:
        zoho = ZohoHttp(server)
        for _ in range(3):
            assert zoho.get("/organizations").status_code == 200
        response = zoho.get("/organizations")
        assert_error(response, 429, 45, "maximum call rate limit of 3.")
        assert response.headers["X-Rate-Limit-Remaining"] == "0"


def test_concurrency_limit_is_429_code_1070():
    with SandboxServer(SandboxConfig(limit_overrides={"zoho.concurrency": 2})) as server:
        zoho = ZohoHttp(server)
        requests.post(zoho.control + "/latency", json={"seconds": 0.5}, timeout=5)
        results: list[requests.Response] = []

        def call() -> None:
            results.append(requests.get(zoho.books + "/organizations", timeout=10,
                                        headers={"Authorization": f"Zoho-oauthtoken {zoho.token}"}))

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(r.status_code for r in results)
        assert codes.count(200) == 2 and codes.count(429) == 3
        rejected = next(r for r in results if r.status_code == 429)
        assert rejected.json()["code"] == 1070 and "in process requests" in rejected.json()["message"]


def test_rate_limits_off_disables_the_limits():
    with SandboxServer(SandboxConfig(rate_limits="off", limit_overrides={"zoho.per_minute": 2,
                                                                         "zoho.daily": 2})) as server:
        zoho = ZohoHttp(server)
        assert all(zoho.get("/organizations").status_code == 200 for _ in range(5))


def test_fault_middleware_answers_with_zohos_429(server, zoho):
    server.faults.force("rate_limited", path_contains="/zoho/books/v3/journals")
    assert_error(zoho.get("/journals"), 429, 44)
    assert zoho.get("/journals").status_code == 200
    server.faults.force("server_error", path_contains="/zoho-accounts/")
    assert requests.post(zoho.token_url, timeout=5).status_code == 500


# --- reference data -----------------------------------------------------------------------------------

def test_organization_is_a_professional_usd_org_in_new_york(zoho):
    org = zoho.get("/organizations").json()["organizations"][0]
    assert org["organization_id"] == zoho.org
    assert (org["plan_name"], org["currency_code"], org["time_zone"]) == ("Professional", "USD",
                                                                         "America/New_York")
    single = zoho.request("GET", f"/organizations/{zoho.org}", org=False).json()["organization"]
    assert single == org


def test_chart_of_accounts_hides_inactive_accounts_by_default(server, zoho):
    default = zoho.get("/chartofaccounts").json()
    codes = {a["account_code"] for a in default["chartofaccounts"]}
    assert "6020" in codes and "6990" not in codes
    assert default["page_context"]["applied_filter"] == "AccountType.Active"
    everything = {a["account_code"]: a for a in
                  zoho.get("/chartofaccounts", filter_by="AccountType.All").json()["chartofaccounts"]}
    assert everything["6990"]["is_active"] is False
    assert everything["6020"]["account_id"] == numeric_id(server.config.seed, "account", "6020")
    expenses = zoho.get("/chartofaccounts", filter_by="AccountType.Expense").json()["chartofaccounts"]
    assert {a["account_type"] for a in expenses} == {"expense"}


def test_single_account_comes_under_chart_of_account(ref, zoho):
    body = zoho.get(f"/chartofaccounts/{ref['accounts']['6990']}").json()
    assert body["chart_of_account"]["account_name"] == "Gifts (retired)"
    assert body["chart_of_account"]["status"] == "inactive"
    assert_error(zoho.get("/chartofaccounts/123"), 404, 1002, "Account does not exist.")


def test_reporting_tags_cost_center_is_mandatory_with_departments(server, zoho):
    tags = {t["tag_name"]: t for t in zoho.get("/reportingtags").json()["reporting_tags"]}
    assert tags["Cost Center"]["is_mandatory"] is True and tags["Location"]["is_mandatory"] is False
    options = zoho.get("/reportingtags/options", tag_id=tags["Cost Center"]["tag_id"]).json()["options"]
    assert [o["option_name"] for o in options] == list(server.company.departments)
    everything = zoho.get(f"/reportingtags/{tags['Location']['tag_id']}/options/all").json()["results"]
    assert [o["option_name"] for o in everything] == list(server.company.locations)


def test_currencies_carry_precision_and_rates(zoho):
    currencies = {c["currency_code"]: c for c in zoho.get("/settings/currencies").json()["currencies"]}
    assert currencies["USD"]["is_base_currency"] is True
    assert currencies["JPY"]["price_precision"] == 0
    assert currencies["EUR"]["exchange_rate"] == 1.085


def test_some_merchants_exist_as_vendors_and_others_do_not(zoho):
    vendors = zoho.get("/contacts", contact_type="vendor", per_page=200).json()["contacts"]
    names = {v["contact_name"] for v in vendors}
    assert 0 < len(names & {m.name for m in MERCHANTS}) < len(MERCHANTS)
    missing = next(m.name for m in MERCHANTS if m.name not in names)
    assert zoho.get("/contacts", contact_name=missing).json()["contacts"] == []
    found = zoho.get("/contacts", contact_name=MERCHANTS[0].name.upper()).json()["contacts"]
    assert [c["contact_name"] for c in found] == [MERCHANTS[0].name]
    assert zoho.get("/contacts", contact_name_contains="oogle").json()["contacts"][0]["contact_name"] == \
        "Google Ads"


def test_created_vendor_is_found_and_a_duplicate_name_is_rejected(zoho):
    response = zoho.post("/contacts", {"contact_name": "Sandbox Vendor One", "contact_type": "vendor"})
    assert response.status_code == 201 and response.json()["message"] == "The contact has been added."
    contact = response.json()["contact"]
    assert zoho.get(f"/contacts/{contact['contact_id']}").json()["contact"]["contact_type"] == "vendor"
    assert zoho.get("/contacts", search_text="vendor one").json()["contacts"][0]["contact_id"] == \
        contact["contact_id"]
    assert zoho.post("/contacts", {"contact_name": "sandbox vendor one"}).status_code == 400
    assert_error(zoho.post("/contacts", {"contact_type": "vendor"}), 400, 2, "contact_name")


def test_default_lock_covers_the_month_before_the_first_data_month(server, zoho):
    locks = zoho.get("/transactionlocks").json()["transaction_locks"]
    first = date.fromisoformat(f"{server.config.month_keys[0]}-01")
    assert {lock["transaction_lock_module"] for lock in locks} == {"accountant", "purchase"}
    assert {lock["transaction_lock_date"] for lock in locks} == {(first - timedelta(days=1)).isoformat()}


# --- journals -----------------------------------------------------------------------------------------

def test_journal_create_get_list_and_delete(zoho, ref, open_day):
    response = zoho.post("/journals", journal_body(ref, "JNL-LIFE-1", open_day, amount="123.45"))
    assert response.status_code == 201, response.text
    assert response.json()["message"] == "The journal entry has been created."
    journal = response.json()["journal"]
    assert response.headers["location"] == f"/api/v3/journals/{journal['journal_id']}"
    assert journal["status"] == "published" and journal["total"] == 123.45
    assert journal["custom_fields"] == ""
    assert journal["line_items"][0]["tags"][0]["tag_name"] == "Cost Center"
    assert zoho.get(f"/journals/{journal['journal_id']}").json()["journal"] == journal
    listed = zoho.get("/journals", reference_number="JNL-LIFE-1").json()
    assert [j["journal_id"] for j in listed["journals"]] == [journal["journal_id"]]
    deleted = zoho.request("DELETE", f"/journals/{journal['journal_id']}")
    assert deleted.json() == {"code": 0, "message": "The selected journal entry has been deleted."}
    assert_error(zoho.get(f"/journals/{journal['journal_id']}"), 404, 1002)
    assert zoho.get("/journals", reference_number="JNL-LIFE-1").json()["journals"] == []


def test_journal_list_filters_and_pages(zoho, ref, open_day):
    for n in range(5):
        assert zoho.post("/journals", journal_body(ref, f"PAGE-{n}", open_day)).status_code == 201
    first = zoho.get("/journals", reference_number_startswith="PAGE-", per_page=2).json()
    assert len(first["journals"]) == 2 and first["page_context"]["has_more_page"] is True
    last = zoho.get("/journals", reference_number_startswith="PAGE-", per_page=2, page=3).json()
    assert len(last["journals"]) == 1 and last["page_context"]["has_more_page"] is False
    assert len(zoho.get("/journals", reference_number_contains="AGE-3").json()["journals"]) == 1
    same_day = zoho.get("/journals", date_start=open_day, date_end=open_day,
                        reference_number_startswith="PAGE-")
    assert len(same_day.json()["journals"]) == 5
    assert zoho.get("/journals", date_end="2000-01-01").json()["journals"] == []
    assert_error(zoho.get("/bills", date_start="01/10/2026"), 400, 2, "date_start")


def test_unbalanced_journal_is_rejected(zoho, ref, open_day):
    response = zoho.post("/journals", journal_body(ref, "UNBAL", open_day, amount="100.00",
                                                   credit_amount="99.99"))
    assert_error(response, 400, 4, "not balanced", "100.00", "99.99")


def test_unknown_account_is_rejected(zoho, ref, open_day):
    body = journal_body(ref, "BADACCT", open_day)
    body["line_items"][0]["account_id"] = "999999999999999999"
    assert_error(zoho.post("/journals", body), 400, 1002, "Account does not exist.")


def test_inactive_account_is_rejected(zoho, ref, open_day):
    assert_error(zoho.post("/journals", journal_body(ref, "INACT", open_day, debit_code="6990")), 400, 2,
                 "inactive", "Gifts (retired)")


def test_cost_center_is_mandatory_on_every_line(zoho, ref, open_day):
    body = journal_body(ref, "NOTAG", open_day)
    body["line_items"][1]["tags"] = tag_list(ref, "Location", "London")
    assert_error(zoho.post("/journals", body), 400, 2, "Cost Center", "line item 2")
    body = journal_body(ref, "HEADERTAG", open_day, tags=tag_list(ref))
    for line in body["line_items"]:
        line.pop("tags")
    assert_error(zoho.post("/journals", body), 400, 2, "Cost Center", "line item 1")


def test_unknown_tag_option_is_rejected(zoho, ref, open_day):
    body = journal_body(ref, "BADOPT", open_day)
    body["line_items"][0]["tags"][0]["tag_option_id"] = "1"
    assert_error(zoho.post("/journals", body), 400, 1002, "Cost Center")


def test_amounts_beyond_currency_precision_are_rejected(zoho, ref, open_day):
    assert_error(zoho.post("/journals", journal_body(ref, "PREC", open_day, amount="10.005")), 400, 4,
                 "2 decimal places")
    yen = journal_body(ref, "YEN", open_day, amount="1500.5", currency_id=ref["currencies"]["JPY"])
    assert_error(zoho.post("/journals", yen), 400, 4, "JPY", "0 decimal places")
    whole_yen = journal_body(ref, "YEN-OK", open_day, amount=1500, currency_id=ref["currencies"]["JPY"])
    journal = zoho.post("/journals", whole_yen).json()["journal"]
    assert journal["currency_code"] == "JPY" and journal["exchange_rate"] == 0.0067
    assert journal["bcy_total"] == 10.05


def test_unknown_currency_and_contact_are_rejected(zoho, ref, open_day):
    assert_error(zoho.post("/journals", journal_body(ref, "CUR", open_day, currency_id="42")), 400, 1002,
                 "Currency does not exist.")
    body = journal_body(ref, "CUST", open_day)
    body["line_items"][0]["customer_id"] = "42"
    assert_error(zoho.post("/journals", body), 400, 1002, "Contact does not exist.")


def test_malformed_json_is_code_1038(zoho):
    response = zoho.request("POST", "/journals", data=b"{not json",
                            headers={"Authorization": f"Zoho-oauthtoken {zoho.token}",
                                     "Content-Type": "application/json"})
    assert_error(response, 400, 1038, "JSON is not well formed")


def test_locked_period_rejects_journals_until_unlocked(server, zoho, ref):
    locked_day = f"{server.config.month_keys[0]}-20"
    lock = zoho.request("PUT", "/transactionlock", json={
        "transaction_lock_module": "accountant", "transaction_lock_status": "enabled",
        "transaction_lock_date": locked_day, "reason": "October close"})
    assert lock.status_code == 200 and lock.json()["message"] == "Transaction lock has been updated."
    lock_id = lock.json()["transaction_lock"]["transaction_lock_id"]
    before = len(requests.get(zoho.control + "/journals", timeout=5).json()["journals"])
    rejected = zoho.post("/journals", journal_body(ref, "LOCKED", locked_day))
    assert_error(rejected, 400, 2, locked_day, "locked")
    assert len(requests.get(zoho.control + "/journals", timeout=5).json()["journals"]) == before
    later = (date.fromisoformat(locked_day) + timedelta(days=1)).isoformat()
    assert zoho.post("/journals", journal_body(ref, "AFTER-LOCK", later)).status_code == 201
    deleted = zoho.request("DELETE", "/transactionlock", params={"transaction_lock_id": lock_id})
    assert deleted.json()["message"] == "The transaction lock has been deleted."
    assert zoho.post("/journals", journal_body(ref, "UNLOCKED", locked_day)).status_code == 201


# --- bills --------------------------------------------------------------------------------------------

def bill_body(ref: dict, vendor_id: str, bill_number: str, bill_date: str, rate: object = "250.00") -> dict:
    return {"vendor_id": vendor_id, "bill_number": bill_number, "date": bill_date, "payment_terms": 30,
            "reference_number": f"REF-{bill_number}",
            "line_items": [{"account_id": ref["accounts"]["6050"], "name": "Meals", "rate": rate,
                            "quantity": 1, "tags": tag_list(ref)}]}


@pytest.fixture(scope="module")
def vendor_id(zoho) -> str:
    return zoho.get("/contacts", contact_name=MERCHANTS[0].name).json()["contacts"][0]["contact_id"]


def test_bill_create_attach_get_list_delete(zoho, ref, vendor_id, open_day):
    response = zoho.post("/bills", bill_body(ref, vendor_id, "EXP-1", open_day))
    assert response.status_code == 201 and response.json()["message"] == "The bill has been created."
    bill = response.json()["bill"]
    assert (bill["total"], bill["balance"], bill["status"]) == (250, 250, "open")
    assert bill["due_date"] == (date.fromisoformat(open_day) + timedelta(days=30)).isoformat()
    upload = zoho.request("POST", f"/bills/{bill['bill_id']}/attachment",
                          files={"attachment": ("receipt.pdf", b"%PDF-1.4 receipt", "application/pdf")})
    assert upload.status_code == 201 and upload.json()["message"] == "The document has been attached."
    documents = zoho.get(f"/bills/{bill['bill_id']}").json()["bill"]["documents"]
    assert [d["file_name"] for d in documents] == ["receipt.pdf"]
    assert zoho.get(f"/bills/{bill['bill_id']}/attachment").content == b"%PDF-1.4 receipt"
    listed = zoho.get("/bills", bill_number="EXP-1").json()["bills"]
    assert [b["bill_id"] for b in listed] == [bill["bill_id"]] and listed[0]["has_attachment"] is True
    assert zoho.get("/bills", vendor_id=vendor_id, reference_number="REF-EXP-1").json()["bills"]
    deleted = zoho.request("DELETE", f"/bills/{bill['bill_id']}")
    assert deleted.json()["message"] == "The bill has been deleted."
    assert zoho.get("/bills", bill_number="EXP-1").json()["bills"] == []


def test_attachment_type_is_checked(zoho, ref, vendor_id, open_day):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "EXP-EXE", open_day)).json()["bill"]
    upload = zoho.request("POST", f"/bills/{bill['bill_id']}/attachment",
                          files={"attachment": ("run.exe", b"MZ", "application/octet-stream")})
    assert_error(upload, 400, 2, "attachment")


def test_duplicate_bill_number_is_rejected(zoho, ref, vendor_id, open_day):
    assert zoho.post("/bills", bill_body(ref, vendor_id, "EXP-DUP", open_day)).status_code == 201
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "EXP-DUP", open_day)), 400, 2, "EXP-DUP")


def test_bill_validation(server, zoho, ref, vendor_id, open_day):
    assert_error(zoho.post("/bills", bill_body(ref, "42", "EXP-V", open_day)), 400, 1002,
                 "Vendor does not exist.")
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "EXP-P", open_day, rate="1.234")), 400, 4)
    locked = f"{server.config.month_keys[0]}-01"
    zoho.request("PUT", "/transactionlock", json={"transaction_lock_module": "purchase",
                                                  "transaction_lock_date": locked})
    assert_error(zoho.post("/bills", bill_body(ref, vendor_id, "EXP-L", locked)), 400, 2, "locked")
    no_number = bill_body(ref, vendor_id, "", open_day)
    assert_error(zoho.post("/bills", no_number), 400, 2, "bill_number")


# --- control routes, state and scale ------------------------------------------------------------------

def test_stats_count_requests_by_endpoint(zoho):
    zoho.get("/settings/currencies")
    stats = requests.get(zoho.control + "/stats", timeout=5).json()
    assert stats["requests"]["GET /settings/currencies"] >= 1
    assert stats["token_refreshes"] >= 1


def test_state_survives_a_restart(tmp_path):
    state_file = str(tmp_path / "state.json")
    with SandboxServer(SandboxConfig(last_month="2026-10", state_file=state_file)) as first:
        zoho = ZohoHttp(first)
        ref = zoho.reference()
        journal = zoho.post("/journals", journal_body(ref, "KEEP-ME", "2026-10-10")).json()["journal"]
        contact = zoho.post("/contacts", {"contact_name": "Kept Vendor", "contact_type": "vendor"}).json()
        old_token = zoho.token
    assert json.loads(open(state_file).read())["zoho"]["store"]["journals"]
    with SandboxServer(SandboxConfig(last_month="2026-10", state_file=state_file)) as second:
        zoho = ZohoHttp(second)
        found = zoho.get("/journals", reference_number="KEEP-ME").json()["journals"]
        assert [j["journal_id"] for j in found] == [journal["journal_id"]]
        assert zoho.get(f"/contacts/{contact['contact']['contact_id']}").status_code == 200
        assert zoho.request("GET", "/organizations", token=old_token).status_code == 200
        again = zoho.post("/journals", journal_body(ref, "NEW", "2026-10-11")).json()["journal"]
        assert int(again["entry_number"]) == int(journal["entry_number"]) + 1


def test_reference_search_stays_fast_with_many_journals(server, zoho, ref, open_day):
    store = server.zoho.store
    body = journal_body(ref, "", open_day)
    for n in range(10_000):
        body["reference_number"] = f"BULK-{n:05d}"
        store.create_journal(body)
    started = time.perf_counter()
    found = zoho.get("/journals", reference_number="BULK-07777").json()["journals"]
    assert time.perf_counter() - started < 0.25
    assert [j["reference_number"] for j in found] == ["BULK-07777"]
    started = time.perf_counter()
    page = zoho.get("/journals", per_page=200).json()
    assert time.perf_counter() - started < 1.0 and page["page_context"]["has_more_page"] is True


# --- a ledger a person edits ----------------------------------------------------------------------------

def test_put_journal_changes_amounts_and_moves_last_modified_time(zoho, ref, open_day):
    created = zoho.post("/journals", journal_body(ref, "EDIT-J1", open_day, amount="100.00")).json()["journal"]
    time.sleep(1.05)  # Zoho stamps to the second
    lines = journal_body(ref, "EDIT-J1", open_day, amount="150.25", debit_code="6030")["line_items"]
    lines[0]["line_id"] = created["line_items"][0]["line_id"]
    response = zoho.request("PUT", f"/journals/{created['journal_id']}",
                            json={"journal_date": open_day, "notes": "corrected", "line_items": lines})
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "The journal entry has been updated."
    updated = response.json()["journal"]
    assert (updated["total"], updated["notes"], updated["entry_number"]) == \
        (150.25, "corrected", created["entry_number"])
    assert updated["line_items"][0]["account_id"] == ref["accounts"]["6030"]
    assert updated["line_items"][0]["line_id"] == created["line_items"][0]["line_id"]
    assert updated["line_items"][1]["line_id"] != created["line_items"][1]["line_id"]
    assert updated["last_modified_time"] > created["last_modified_time"]
    assert updated["created_time"] == created["created_time"]
    assert [c["description"] for c in updated["comments"]] == ["Journal updated.", "Journal created for $100.00"]
    assert zoho.get(f"/journals/{created['journal_id']}").json()["journal"] == updated


def test_put_journal_with_date_and_notes_keeps_its_lines(zoho, ref, open_day):
    created = zoho.post("/journals", journal_body(ref, "EDIT-J2", open_day)).json()["journal"]
    later = (date.fromisoformat(open_day) + timedelta(days=1)).isoformat()
    updated = zoho.request("PUT", f"/journals/{created['journal_id']}",
                           json={"journal_date": later, "notes": "moved"}).json()["journal"]
    assert updated["journal_date"] == later
    assert [line["line_id"] for line in updated["line_items"]] == [line["line_id"] for line in created["line_items"]]
    assert updated["reference_number"] == "EDIT-J2" and updated["total"] == created["total"]


def test_put_journal_needs_a_journal_date_and_balance(zoho, ref, open_day):
    created = zoho.post("/journals", journal_body(ref, "EDIT-J3", open_day)).json()["journal"]
    assert_error(zoho.request("PUT", f"/journals/{created['journal_id']}", json={"notes": "x"}), 400, 2,
                 "journal_date")
    lines = journal_body(ref, "EDIT-J3", open_day, amount="10.00", credit_amount="9.00")["line_items"]
    assert_error(zoho.request("PUT", f"/journals/{created['journal_id']}",
                              json={"journal_date": open_day, "line_items": lines}), 400, 4, "not balanced")
    assert zoho.get(f"/journals/{created['journal_id']}").json()["journal"]["total"] == created["total"]
    assert_error(zoho.request("PUT", "/journals/1", json={"journal_date": open_day}), 404, 1002)


def test_put_journal_into_a_locked_period_is_refused(server, zoho, ref, open_day):
    created = zoho.post("/journals", journal_body(ref, "EDIT-J4", open_day)).json()["journal"]
    locked_day = f"{server.config.month_keys[0]}-03"
    lock = zoho.request("PUT", "/transactionlock", json={
        "transaction_lock_module": "accountant", "transaction_lock_date": locked_day}).json()["transaction_lock"]
    try:
        assert_error(zoho.request("PUT", f"/journals/{created['journal_id']}",
                                  json={"journal_date": locked_day}), 400, 2, "locked")
    finally:
        zoho.request("DELETE", "/transactionlock", params={"transaction_lock_id": lock["transaction_lock_id"]})


def test_deleted_journal_leaves_the_month_list(zoho, ref, open_day):
    journal = zoho.post("/journals", journal_body(ref, "EDIT-DEL", open_day)).json()["journal"]
    month = open_day[:7]
    listed = zoho.get("/journals", date_start=f"{month}-01", date_end=f"{month}-31", per_page=200,
                      reference_number="EDIT-DEL").json()["journals"]
    assert [j["journal_id"] for j in listed] == [journal["journal_id"]]
    assert zoho.request("DELETE", f"/journals/{journal['journal_id']}").status_code == 200
    assert zoho.get("/journals", date_start=f"{month}-01", date_end=f"{month}-31",
                    reference_number="EDIT-DEL").json()["journals"] == []
    assert_error(zoho.get(f"/journals/{journal['journal_id']}"), 404, 1002, "Journal does not exist.")


def test_journal_list_rows_carry_last_modified_time_and_total(zoho, ref, open_day):
    journal = zoho.post("/journals", journal_body(ref, "ROW-J", open_day, amount="42.50")).json()["journal"]
    row = zoho.get("/journals", reference_number="ROW-J").json()["journals"][0]
    assert (row["total"], row["last_modified_time"], row["entry_number"], row["status"]) == \
        (42.5, journal["last_modified_time"], journal["entry_number"], "published")


def test_journals_modified_since_a_time_include_edited_ones(zoho, ref, open_day):
    old = zoho.post("/journals", journal_body(ref, "SINCE-OLD", open_day)).json()["journal"]
    untouched = zoho.post("/journals", journal_body(ref, "SINCE-KEPT", open_day)).json()["journal"]
    time.sleep(1.05)  # Zoho stamps to the second
    edited = zoho.request("PUT", f"/journals/{old['journal_id']}",
                          json={"journal_date": open_day, "notes": "touched"}).json()["journal"]
    since = zoho.get("/journals", last_modified_time=edited["last_modified_time"],
                     sort_column="last_modified_time", sort_order="A").json()["journals"]
    assert old["journal_id"] in {r["journal_id"] for r in since}
    assert untouched["journal_id"] not in {r["journal_id"] for r in since}
    assert all(r["last_modified_time"] >= edited["last_modified_time"] for r in since)
    assert_error(zoho.get("/journals", last_modified_time="yesterday"), 400, 2, "last_modified_time")


def test_put_bill_with_notes_only_keeps_everything_else(zoho, ref, vendor_id, open_day):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "EDIT-B1", open_day)).json()["bill"]
    response = zoho.request("PUT", f"/bills/{bill['bill_id']}", json={"notes": "Updated via API"})
    assert response.status_code == 200 and response.json()["message"] == "Bill information has been updated."
    updated = response.json()["bill"]
    assert updated["notes"] == "Updated via API" and updated["total"] == bill["total"]
    assert [li["line_item_id"] for li in updated["line_items"]] == [li["line_item_id"] for li in bill["line_items"]]
    assert updated["created_time"] == bill["created_time"]


def test_put_bill_changes_lines_amounts_and_number(zoho, ref, vendor_id, open_day):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "EDIT-B2", open_day)).json()["bill"]
    lines = [{"account_id": ref["accounts"]["6060"], "name": "Paper", "rate": "12.34", "quantity": 2}]
    updated = zoho.request("PUT", f"/bills/{bill['bill_id']}",
                           json={"bill_number": "EDIT-B2-R", "line_items": lines}).json()["bill"]
    assert (updated["bill_number"], updated["total"], updated["balance"]) == ("EDIT-B2-R", 24.68, 24.68)
    assert zoho.get("/bills", bill_number="EDIT-B2").json()["bills"] == []
    assert [b["bill_id"] for b in zoho.get("/bills", bill_number="EDIT-B2-R").json()["bills"]] == [bill["bill_id"]]
    taken = zoho.post("/bills", bill_body(ref, vendor_id, "EDIT-B3", open_day)).json()["bill"]
    assert_error(zoho.request("PUT", f"/bills/{taken['bill_id']}", json={"bill_number": "EDIT-B2-R"}), 400, 2,
                 "EDIT-B2-R")


def test_void_bill_stays_listed_with_status_void_until_opened(zoho, ref, vendor_id, open_day):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "EDIT-VOID", open_day)).json()["bill"]
    time.sleep(1.05)  # Zoho stamps to the second
    voided = zoho.request("POST", f"/bills/{bill['bill_id']}/status/void")
    assert voided.status_code == 201 and voided.json() == {"code": 0, "message": "The bill has been marked as void."}
    single = zoho.get(f"/bills/{bill['bill_id']}").json()["bill"]
    assert (single["status"], single["total"], single["balance"]) == ("void", 250, 0)
    assert single["last_modified_time"] > bill["last_modified_time"]
    row = zoho.get("/bills", bill_number="EDIT-VOID").json()["bills"][0]
    assert (row["status"], row["total"]) == ("void", 250)
    assert bill["bill_id"] in {b["bill_id"] for b in zoho.get("/bills", filter_by="Status.Void").json()["bills"]}
    assert bill["bill_id"] not in {b["bill_id"] for b in
                                   zoho.get("/bills", filter_by="Status.Open", per_page=200).json()["bills"]}
    assert_error(zoho.request("PUT", f"/bills/{bill['bill_id']}", json={"notes": "x"}), 400, 2, "void")
    assert_error(zoho.request("POST", f"/bills/{bill['bill_id']}/status/void"), 400, 2, "already void")
    opened = zoho.request("POST", f"/bills/{bill['bill_id']}/status/open")
    assert opened.status_code == 201
    assert zoho.get(f"/bills/{bill['bill_id']}").json()["bill"]["status"] == "open"
    assert_error(zoho.request("POST", f"/bills/{bill['bill_id']}/status/open"), 400, 2, "void")


def test_deleted_bill_leaves_the_list_and_answers_404(zoho, ref, vendor_id, open_day):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "EDIT-DELB", open_day)).json()["bill"]
    assert zoho.request("DELETE", f"/bills/{bill['bill_id']}").status_code == 200
    assert_error(zoho.get(f"/bills/{bill['bill_id']}"), 404, 1002, "Bill does not exist.")
    assert bill["bill_id"] not in {b["bill_id"] for b in zoho.get("/bills", per_page=200).json()["bills"]}
    assert_error(zoho.request("PUT", f"/bills/{bill['bill_id']}", json={"notes": "x"}), 404, 1002)


def test_bill_list_rows_carry_last_modified_time_and_total(zoho, ref, vendor_id, open_day):
    bill = zoho.post("/bills", bill_body(ref, vendor_id, "ROW-B", open_day, rate="19.99")).json()["bill"]
    row = zoho.get("/bills", bill_number="ROW-B").json()["bills"][0]
    assert (row["total"], row["last_modified_time"], row["reference_number"], row["status"]) == \
        (19.99, bill["last_modified_time"], "REF-ROW-B", "open")
    newest = zoho.get("/bills", sort_column="last_modified_time", sort_order="D", per_page=1).json()
    assert newest["bills"][0]["last_modified_time"] >= bill["last_modified_time"]
    assert newest["page_context"]["has_more_page"] is True


def test_us_org_has_no_taxes_and_no_locations(zoho):
    taxes = zoho.get("/settings/taxes").json()
    assert taxes["taxes"] == [] and taxes["page_context"]["applied_filter"] == "Taxes.Active"
    assert zoho.get("/locations").json()["locations"] == []
