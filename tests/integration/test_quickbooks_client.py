"""The QuickBooks Online ledger against the sandbox over HTTP: Intuit OAuth with rotating refresh tokens shared
through the store (by threads and by processes), the realm and minorversion, faults, reference data, journal
entries and bills on the wire, requestid, and the company settings held before anything posts.

Each test that refreshes tokens starts a refresh-token chain of its own (the sandbox's authorization-code
route), so rotation in one test never strands another.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests

from ml_connector.errors import AuthError, ConfigError, Uncertain, ValidationRejected
from ml_connector.ledgers.quickbooks import QuickBooks
from ml_connector.ledgers.quickbooks.auth import quickbooks_tokens
from ml_connector.mapping import load_rules
from ml_connector.mapping.apply import map_frame
from ml_connector.mapping.frames import records_frame
from ml_connector.models import LineTag, SpendRecord
from ml_connector.posting_keys import compact
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.store.audit import query
from ml_connector.store.rate_budget import StoreRateBudget
from tests.conftest import REPO
from tests.ledgers.conftest import MONTH_DAY, account, bill, journal
from tests.resources import QUICKBOOKS_MAPPING, quickbooks_ledger

REDIRECT = "https://app.example/callback"


@pytest.fixture(scope="module")
def qbo_sandbox():
    """A sandbox of this module's own: these tests expire tokens, count refreshes and switch settings."""
    with SandboxServer(SandboxConfig(seed=13, last_month="2026-10", months=1, brex_expenses_per_month=5,
                                     expensify_reports_per_month=1, rate_limits="off")) as server:
        yield server


def control(server: SandboxServer, route: str, body: dict | None = None) -> dict:
    url = f"{server.url('quickbooks')}/_sandbox/{route}"
    response = requests.post(url, json=body or {}, timeout=10) if body is not None else requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else {}


def refreshes(server: SandboxServer) -> int:
    return control(server, "stats")["token_refreshes"]


def own_chain(server: SandboxServer) -> str:
    """A refresh token of a chain of its own: what the app's authorization redirect gives (no consent here)."""
    creds = server.config.credentials
    code = control(server, "authorize", {"redirect_uri": REDIRECT})["code"]
    pair = base64.b64encode(f"{creds.quickbooks_client_id}:{creds.quickbooks_client_secret}".encode()).decode()
    answer = requests.post(server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", timeout=10,
                           data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
                           headers={"Authorization": f"Basic {pair}", "Accept": "application/json"})
    answer.raise_for_status()
    return answer.json()["refresh_token"]


def tokens_for(server: SandboxServer, store_url: str, refresh_token: str, **overrides):
    creds = server.config.credentials
    fields = dict(engine=open_store(store_url), token_url=server.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer",
                  client_id=creds.quickbooks_client_id, client_secret=creds.quickbooks_client_secret,
                  refresh_token=refresh_token, realm_id=creds.quickbooks_realm_id)
    fields.update(overrides)
    return quickbooks_tokens(**fields)


def entries(server: SandboxServer) -> list[dict]:
    return control(server, "entries")["entries"]


def with_doc_number(server: SandboxServer, doc_number: str) -> list[dict]:
    return [e for e in entries(server) if e["entity"].get("DocNumber") == doc_number and e["status"] == "active"]


@pytest.fixture
def ledger(qbo_sandbox, tmp_path):
    return quickbooks_ledger(qbo_sandbox, f"sqlite:///{tmp_path / 'c.db'}", refresh_token=own_chain(qbo_sandbox))


# -- OAuth: rotation shared through the store ----------------------------------------------------------


def test_a_refresh_stores_the_rotated_refresh_token_before_it_is_used(qbo_sandbox, tmp_path):
    first = own_chain(qbo_sandbox)
    store = f"sqlite:///{tmp_path / 'c.db'}"
    tokens = tokens_for(qbo_sandbox, store, first)
    tokens.token()
    tokens.invalidate(tokens.current.value)
    tokens.token()  # the second refresh must use the rotated token: the first one is dead after this
    again = tokens_for(qbo_sandbox, store, first)  # a new process with the same settings reads the store
    again.invalidate(again.token().value)
    assert again.token().value
    with pytest.raises(AuthError, match="invalid_grant"):
        tokens_for(qbo_sandbox, f"sqlite:///{tmp_path / 'other.db'}", first).token()  # first is superseded


def test_two_threads_refreshing_at_once_refresh_once(qbo_sandbox, tmp_path):
    store = f"sqlite:///{tmp_path / 'c.db'}"
    chain = own_chain(qbo_sandbox)
    before = refreshes(qbo_sandbox)
    barrier, values = threading.Barrier(4), []

    def refresh() -> None:
        tokens = tokens_for(qbo_sandbox, store, chain)
        barrier.wait()
        values.append(tokens.token().value)

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(values) == 4 and len(set(values)) == 1
    assert refreshes(qbo_sandbox) - before == 1


PROCESS = """
import sys, time
from ml_connector.ledgers.quickbooks import QuickBooks
from ml_connector.ledgers.quickbooks.auth import quickbooks_tokens
from ml_connector.store import open_store
store, token_url, client_id, secret, realm, refresh_token, at = sys.argv[1:8]
tokens = quickbooks_tokens(engine=open_store(store), token_url=token_url, client_id=client_id, client_secret=secret,
                           refresh_token=refresh_token, realm_id=realm)
time.sleep(max(0.0, float(at) - time.time()))
first = tokens.token().value
tokens.invalidate(first)  # the API refused it: each process forces a second refresh, at the same moment
print(first, tokens.token().value, tokens.refreshes)
"""


def test_two_processes_refreshing_at_once_keep_one_chain(qbo_sandbox, tmp_path):
    creds = qbo_sandbox.config.credentials
    store = f"sqlite:///{tmp_path / 'shared.db'}"
    open_store(store)  # migrated once, before the processes race for it
    chain = own_chain(qbo_sandbox)
    before = refreshes(qbo_sandbox)
    at = str(time.time() + 4.0)
    args = [store, qbo_sandbox.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer", creds.quickbooks_client_id,
            creds.quickbooks_client_secret, creds.quickbooks_realm_id, chain, at]
    processes = [subprocess.Popen([sys.executable, "-c", PROCESS, *args], cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err[-2000:] for _, err in outputs]
    minted = sum(int(out.split()[2]) for out, _ in outputs)
    # Each refresh happened once, under the lease, and the other process took its result from the store.
    assert refreshes(qbo_sandbox) - before == minted and 1 <= minted <= 3
    # The chain is whole: the store's newest refresh token still refreshes, in a third process of sorts.
    later = tokens_for(qbo_sandbox, store, chain)
    later.invalidate(later.token().value)
    assert later.token().value


def test_another_process_rotating_the_refresh_token_mid_run_costs_nothing(qbo_sandbox, tmp_path):
    store = f"sqlite:///{tmp_path / 'c.db'}"
    chain = own_chain(qbo_sandbox)
    ours = quickbooks_ledger(qbo_sandbox, store, refresh_token=chain)
    reference = ours.reference_data()
    before, ours_before = refreshes(qbo_sandbox), ours.tokens.refreshes
    control(qbo_sandbox, "expire-tokens", {})  # our access token dies
    other = tokens_for(qbo_sandbox, store, chain)  # another process of the same connection
    other.invalidate(other.token().value)  # it was refused the token both share, too
    for _ in range(2):  # and rotates twice: the refresh token we started from is dead now
        other.token()
        other.invalidate(other.current.value) if _ == 0 else None
    assert ours.post(journal(reference, "rotated-mid-run")).ledger_entity_id
    assert refreshes(qbo_sandbox) - before == 2  # ours took the other process's token: no refresh of its own
    assert ours.tokens.refreshes == ours_before
    failed = [e for e in query(open_store(store), action_prefix="token.refresh") if e["outcome"] == "failed"]
    assert failed == []


def test_an_expired_access_token_is_refreshed_once_and_the_call_sent_again(ledger, qbo_sandbox):
    ledger.reference_data()
    before = refreshes(qbo_sandbox)
    control(qbo_sandbox, "expire-tokens", {})
    assert ledger.find_vendor("Nobody By This Name") is None
    assert refreshes(qbo_sandbox) - before == 1


def test_invalid_grant_says_to_reconnect_and_set_the_refresh_token(qbo_sandbox, tmp_path):
    tokens = tokens_for(qbo_sandbox, f"sqlite:///{tmp_path / 'c.db'}", "RT1-never-issued-by-intuit")
    with pytest.raises(AuthError) as error:
        tokens.token()
    text = str(error.value)
    assert error.value.vendor_code == "invalid_grant"
    assert "reconnect the app" in text and "ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN" in text
    assert "RT1-never-issued-by-intuit" not in text


def test_invalid_client_names_the_client_id_and_secret_not_their_values(qbo_sandbox, tmp_path):
    tokens = tokens_for(qbo_sandbox, f"sqlite:///{tmp_path / 'c.db'}", own_chain(qbo_sandbox),
                        client_secret="not-the-right-secret")
    with pytest.raises(AuthError) as error:
        tokens.token()
    text = str(error.value)
    assert "ML_CONNECTOR_QUICKBOOKS_CLIENT_ID" in text and "ML_CONNECTOR_QUICKBOOKS_CLIENT_SECRET" in text
    assert "not-the-right-secret" not in text and qbo_sandbox.config.credentials.quickbooks_client_id not in text


def test_a_missing_realm_is_a_config_error_naming_the_setting(qbo_sandbox, tmp_path):
    with pytest.raises(ConfigError, match="ML_CONNECTOR_QUICKBOOKS_REALM_ID"):
        quickbooks_ledger(qbo_sandbox, f"sqlite:///{tmp_path / 'c.db'}", realm_id="")


def test_every_call_names_the_realm_and_the_minor_version(ledger, qbo_sandbox):
    urls: list[str] = []
    ledger.api.http.session.hooks["response"].append(lambda response, *a, **k: urls.append(response.request.url))
    reference = ledger.reference_data()
    ledger.post(journal(reference, "minorversion"))
    assert urls and all(f"/v3/company/{qbo_sandbox.config.credentials.quickbooks_realm_id}/" in u for u in urls)
    assert all("minorversion=75" in u for u in urls)
    assert all("requestid=" in u for u in urls if "/journalentry" in u)


# -- reference data ------------------------------------------------------------------------------------


def test_reference_data_names_accounts_by_acctnum_and_classes_and_departments_as_dimensions(ledger):
    reference = ledger.reference_data()
    by_code = {a.code: a for a in reference.accounts}
    assert by_code["2100"].name == "Brex Card Payable" and by_code["6990"].is_active is False
    classes = {o.option_name for o in reference.tag_options if o.tag_name == "Class"}
    departments = {o.option_name for o in reference.tag_options if o.tag_name == "Department"}
    assert "Engineering" in classes and "San Francisco" in departments
    assert reference.base_currency == "USD" and {"USD", "EUR"} <= {c.code for c in reference.currencies}
    assert reference.locked_through == date(2026, 9, 30)  # the sandbox closes the month before its data
    assert any(v.name == "Amazon Web Services" for v in reference.vendors)


def test_accounts_and_dimensions_are_cached_but_vendors_and_the_closing_date_are_read_every_time(ledger, qbo_sandbox):
    ledger.reference_data()
    calls = ledger.calls
    control(qbo_sandbox, "preferences", {"book_close_date": "2026-10-05"})
    try:
        again = ledger.reference_data()
    finally:
        control(qbo_sandbox, "preferences", {"book_close_date": "2026-09-30"})
    assert again.locked_through == date(2026, 10, 5)
    assert ledger.calls - calls == 2  # Preferences and one vendor page


def test_query_pages_are_followed_to_the_end(qbo_sandbox, tmp_path):
    ledger = quickbooks_ledger(qbo_sandbox, f"sqlite:///{tmp_path / 'c.db'}", refresh_token=own_chain(qbo_sandbox))
    ledger.api.page_size = 3
    reference = ledger.reference_data()
    posted = {ledger.post(journal(reference, f"paged-{n}", amount=f"1.0{n}")).ledger_entity_id for n in range(7)}
    listed = {e.ledger_entity_id for e in ledger.list_entries(date(2026, 10, 1), date(2026, 10, 31))}
    assert posted <= listed


# -- entries on the wire ---------------------------------------------------------------------------------


def test_a_journal_carries_vendor_class_and_department_per_line_and_the_compact_key(ledger, qbo_sandbox):
    reference = ledger.reference_data()
    engineering = next(o for o in reference.tag_options if o.option_name == "Engineering")
    london = next(o for o in reference.tag_options if o.option_name == "London")
    vendor = next(v for v in reference.vendors if v.name == "Amazon Web Services")
    draft = journal(reference, "dimensions")
    tags = tuple(_tag(o) for o in (engineering, london))
    lines = (draft.lines[0].model_copy(update={"vendor_id": vendor.vendor_id, "tags": tags}),
             draft.lines[1].model_copy(update={"tags": tags}))
    posted = ledger.post(draft.model_copy(update={"lines": lines}))
    (saved,) = with_doc_number(qbo_sandbox, compact(draft.posting_key))
    debit = saved["entity"]["Line"][0]["JournalEntryLineDetail"]
    assert debit["Entity"] == {"Type": "Vendor", "EntityRef": {"value": vendor.vendor_id,
                                                              "name": "Amazon Web Services"}}
    assert debit["ClassRef"]["name"] == "Engineering" and debit["DepartmentRef"]["name"] == "London"
    assert len(saved["entity"]["DocNumber"]) <= 21 and posted.posting_key == draft.posting_key
    assert {tuple(sorted(line.tag_option_ids)) for line in posted.lines} == {
        tuple(sorted((engineering.option_id, london.option_id)))}


def test_a_refund_credits_the_expense_and_debits_the_card(ledger, qbo_sandbox):
    reference = ledger.reference_data()
    draft = journal(reference, "refund")
    lines = tuple(line.model_copy(update={"side": "credit" if line.side == "debit" else "debit"})
                  for line in draft.lines)
    ledger.post(draft.model_copy(update={"lines": lines, "record_amounts": (-draft.amount,)}))
    (saved,) = with_doc_number(qbo_sandbox, compact(draft.posting_key))
    sides = {line["JournalEntryLineDetail"]["AccountRef"]["value"]: line["JournalEntryLineDetail"]["PostingType"]
             for line in saved["entity"]["Line"]}
    assert sides == {account(reference, "6050"): "Credit", account(reference, "2100"): "Debit"}


def test_a_foreign_journal_carries_its_currency_and_exchange_rate(ledger, qbo_sandbox):
    reference = ledger.reference_data()
    draft = journal(reference, "in-euros").model_copy(update={"currency": "EUR", "exchange_rate": Decimal("1.0912")})
    posted = ledger.post(draft)
    (saved,) = with_doc_number(qbo_sandbox, compact(draft.posting_key))
    assert saved["entity"]["CurrencyRef"]["value"] == "EUR" and saved["entity"]["ExchangeRate"] == 1.0912
    assert {line.currency for line in posted.lines} == {"EUR"}


def test_a_bill_carries_vendor_class_per_line_one_department_due_date_and_the_report_number(ledger, qbo_sandbox):
    reference = ledger.reference_data()
    marketing = next(o for o in reference.tag_options if o.option_name == "Marketing")
    toronto = next(o for o in reference.tag_options if o.option_name == "Toronto")
    vendor = ledger.create_vendor("Bill Vendor Employee")
    draft = bill(reference, "billed", vendor.vendor_id)
    line = draft.lines[0].model_copy(update={"tags": (_tag(marketing), _tag(toronto))})
    draft = draft.model_copy(update={"lines": (line,), "due_date": MONTH_DAY + timedelta(days=30)})
    ledger.post(draft)
    (saved,) = with_doc_number(qbo_sandbox, compact(draft.posting_key))
    entity = saved["entity"]
    assert entity["VendorRef"]["value"] == vendor.vendor_id and entity["DueDate"] == "2026-11-13"
    assert entity["DepartmentRef"]["name"] == "Toronto"
    assert entity["Line"][0]["AccountBasedExpenseLineDetail"]["ClassRef"]["name"] == "Marketing"
    assert entity["PrivateNote"].startswith(draft.bill_number)


def test_a_bill_with_lines_in_two_departments_is_refused_before_it_is_sent(ledger):
    reference = ledger.reference_data()
    toronto, london = (next(o for o in reference.tag_options if o.option_name == name)
                       for name in ("Toronto", "London"))
    draft = bill(reference, "two-departments", ledger.create_vendor("Two Department Employee").vendor_id)
    lines = (draft.lines[0].model_copy(update={"tags": (_tag(toronto),)}),
             draft.lines[0].model_copy(update={"tags": (_tag(london),)}))
    calls = ledger.calls
    with pytest.raises(ValidationRejected, match="one department"):
        ledger.post(draft.model_copy(update={"lines": lines}))
    assert ledger.calls == calls


def test_a_rejection_names_quickbooks_code_and_message(ledger):
    reference = ledger.reference_data()
    draft = journal(reference, "inactive-account")
    retired = account(reference, "6990")
    draft = draft.model_copy(update={"lines": (draft.lines[0].model_copy(update={"account_id": retired}),
                                               draft.lines[1])})
    with pytest.raises(ValidationRejected) as error:
        ledger.post(draft)
    assert error.value.vendor_code == "610" and "inactive" in (error.value.vendor_message or "")


def test_a_deleted_entry_reads_as_none(ledger, qbo_sandbox):
    reference = ledger.reference_data()
    posted = ledger.post(journal(reference, "to-delete"))
    entity = ledger.api.call("GET", f"journalentry/{posted.ledger_entity_id}")["JournalEntry"]
    ledger.api.call("POST", "journalentry", params={"operation": "delete"},
                    json={"Id": entity["Id"], "SyncToken": entity["SyncToken"]})
    assert ledger.read_entry("journal", posted.ledger_entity_id) is None


def test_a_receipt_refused_by_quickbooks_is_a_validation_error(ledger):
    reference = ledger.reference_data()
    posted = ledger.post(bill(reference, "text-receipt", ledger.create_vendor("Text Receipt Employee").vendor_id))
    with pytest.raises(ValidationRejected) as error:
        ledger.attach_receipt("bill", posted.ledger_entity_id, "notes.txt", b"hello", "text/plain")
    assert error.value.vendor_code == "6041"
    assert ledger.attachment_names("bill", posted.ledger_entity_id) == []


# -- requestid -------------------------------------------------------------------------------------------


def test_a_resend_after_a_lost_answer_is_answered_by_intuit_not_made_twice(ledger, qbo_sandbox):
    draft = journal(ledger.reference_data(), "lost-then-resent")
    qbo_sandbox.faults.force("lost_response", "/journalentry", times=1)
    try:
        with pytest.raises(Uncertain):
            ledger.post(draft)
    finally:
        qbo_sandbox.faults.clear()
    replays = control(qbo_sandbox, "stats")["requestid_replays"]
    again = ledger.post(draft)  # as if the search had missed it: the same requestid goes out
    assert control(qbo_sandbox, "stats")["requestid_replays"] == replays + 1
    (saved,) = with_doc_number(qbo_sandbox, compact(draft.posting_key))
    assert again.ledger_entity_id == saved["entity"]["Id"]


def test_a_rejected_entry_is_evaluated_afresh_once_its_cause_is_fixed(ledger, qbo_sandbox):
    draft = journal(ledger.reference_data(), "closed-then-reopened")
    control(qbo_sandbox, "preferences", {"book_close_date": MONTH_DAY.isoformat()})
    try:
        with pytest.raises(ValidationRejected) as error:
            ledger.post(draft)
        assert error.value.vendor_code == "6200"
    finally:
        control(qbo_sandbox, "preferences", {"book_close_date": "2026-09-30"})
    assert ledger.post(draft).ledger_entity_id  # not the first answer replayed
    assert len(with_doc_number(qbo_sandbox, compact(draft.posting_key))) == 1


def test_an_entry_already_in_quickbooks_is_found_not_posted_twice(ledger, qbo_sandbox, tmp_path):
    draft = journal(ledger.reference_data(), "made-by-a-lost-store")
    first = ledger.post(draft)
    # Another deployment (or this one after losing its store) posts the same entry: DocNumber is taken (6140).
    elsewhere = quickbooks_ledger(qbo_sandbox, f"sqlite:///{tmp_path / 'elsewhere.db'}",
                                  refresh_token=own_chain(qbo_sandbox))
    found = elsewhere.post(draft.model_copy(update={"notes": "described another way"}))  # not a requestid replay
    assert found.was_already_there and found.ledger_entity_id == first.ledger_entity_id
    assert len(with_doc_number(qbo_sandbox, compact(draft.posting_key))) == 1


# -- preflight: what the company's settings refuse --------------------------------------------------------


def _tag(option) -> LineTag:
    return LineTag(tag_id=option.tag_id, option_id=option.option_id, tag_name=option.tag_name,
                   option_name=option.option_name)


def _record(source_id: str, amount: str, *, currency: str = "USD", location: str | None = "London",
            report: str | None = None, department: str | None = "Engineering") -> SpendRecord:
    if report is None:
        return SpendRecord(source="brex", source_id=source_id, record_date=MONTH_DAY, merchant="Staples",
                           amount=Decimal(amount), currency=currency, category="OFFICE_SUPPLIES",
                           department=department, location=location, card_account="card-1")
    return SpendRecord(source="expensify", source_id=source_id, parent_id=report, record_date=MONTH_DAY,
                       merchant="Staples", amount=Decimal(amount), currency=currency, category="Office Supplies",
                       gl_code="6060", department=department, location=location, employee_name="Pat Lee",
                       status="APPROVED")


def _preflight(ledger, records: list[SpendRecord]) -> dict[str, tuple[str, str]]:
    reference = ledger.reference_data()
    mapped = map_frame(records_frame(records), load_rules(QUICKBOOKS_MAPPING), reference).mapped
    assert len(mapped) == len(records), "every record maps; only preflight may hold them"
    held = ledger.preflight(mapped, reference)
    return {row.source_id: (row.reason, row.reason_text) for row in held.itertuples()}


@pytest.mark.parametrize(("switch", "reason", "setting"), [
    ({"class_tracking": False}, "class_tracking_off", "Track classes"),
    ({"department_tracking": False}, "department_tracking_off", "Track locations"),
])
def test_a_dimension_the_company_does_not_track_is_held_with_the_setting_to_change(ledger, qbo_sandbox, switch,
                                                                                    reason, setting):
    control(qbo_sandbox, "preferences", switch)
    try:
        held = _preflight(ledger, [_record("b-1", "12.00"), _record("b-2", "5.00", department=None, location=None)])
    finally:
        control(qbo_sandbox, "preferences", {key: True for key in switch})
    assert set(held) == {"b-1"}
    assert held["b-1"][0] == reason and setting in held["b-1"][1] and "mapping file" in held["b-1"][1]


def test_a_foreign_record_without_multicurrency_is_held_with_the_setting_to_change(ledger, qbo_sandbox):
    control(qbo_sandbox, "preferences", {"multicurrency": False})
    try:
        held = _preflight(ledger, [_record("b-eur", "12.00", currency="EUR"), _record("b-usd", "5.00")])
    finally:
        control(qbo_sandbox, "preferences", {"multicurrency": True})
    assert set(held) == {"b-eur"}
    assert held["b-eur"][0] == "multicurrency_off" and "Multicurrency" in held["b-eur"][1]


def test_a_report_in_two_departments_or_with_a_negative_line_is_held_whole(ledger):
    held = _preflight(ledger, [
        _record("e-1", "10.00", report="r-1", location="London"), _record("e-2", "4.00", report="r-1",
                                                                          location="Toronto"),
        _record("e-3", "10.00", report="r-2"), _record("e-4", "-15.00", report="r-2"),
        _record("e-5", "10.00", report="r-3"), _record("e-6", "-3.00", report="r-3")])
    assert {k: v[0] for k, v in held.items()} == {"e-1": "bill_departments_differ", "e-2": "bill_departments_differ",
                                                  "e-3": "negative_bill_line", "e-4": "negative_bill_line"}


def test_a_foreign_report_is_held_unless_its_vendor_keeps_that_currency(ledger):
    ledger.api.call("POST", "vendor", json={"DisplayName": "Euro Employee", "CurrencyRef": {"value": "EUR"}})
    in_euros = [_record("e-new", "10.00", currency="EUR", report="r-new"),
                _record("e-kept", "12.00", currency="EUR", report="r-kept").model_copy(
                    update={"employee_name": "Euro Employee"})]
    held = _preflight(ledger, in_euros)
    assert set(held) == {"e-new"} and held["e-new"][0] == "vendor_currency_differs"
    assert "is in USD" in held["e-new"][1] and "Fix:" in held["e-new"][1]


def test_a_home_currency_report_is_held_when_its_vendor_keeps_another_currency(ledger):
    ledger.api.call("POST", "vendor", json={"DisplayName": "Dollar Employee Abroad", "CurrencyRef": {"value": "EUR"}})
    in_dollars = [_record("e-home", "10.00", report="r-home").model_copy(
        update={"employee_name": "Dollar Employee Abroad"})]
    held = _preflight(ledger, in_dollars)
    assert set(held) == {"e-home"} and held["e-home"][0] == "vendor_currency_differs"
    assert "is in EUR" in held["e-home"][1]


def test_preflight_holds_nothing_in_a_company_that_takes_everything(ledger):
    assert _preflight(ledger, [_record("b-1", "12.00"), _record("e-1", "10.00", report="r-9")]) == {}


def test_posting_advice_speaks_when_a_month_takes_long_at_500_a_minute(qbo_sandbox, tmp_path):
    ledger = quickbooks_ledger(qbo_sandbox, f"sqlite:///{tmp_path / 'c.db'}", refresh_token=own_chain(qbo_sandbox),
                               requests_per_minute=500)
    reference = ledger.reference_data()
    drafts = [journal(reference, f"advice-{n}") for n in range(6000)]
    (advice,) = ledger.posting_advice(drafts)
    assert "500 a minute" in advice and "per_day" in advice
    assert ledger.posting_advice(drafts[:50]) == []


def test_the_ledger_spends_one_budget_per_company_shared_through_the_store(qbo_sandbox, tmp_path):
    store = f"sqlite:///{tmp_path / 'c.db'}"
    chain = own_chain(qbo_sandbox)
    first, second = (quickbooks_ledger(qbo_sandbox, store, refresh_token=chain, requests_per_minute=500)
                     for _ in range(2))
    budgets = [ledger.api.http.limiter for ledger in (first, second)]
    assert all(isinstance(b, StoreRateBudget) for b in budgets)
    assert {(b.system, b.key, b.limit, b.window_seconds) for b in budgets} == {
        ("quickbooks", qbo_sandbox.config.credentials.quickbooks_realm_id, 500, 60.0)}


def test_the_ledger_is_built_from_the_connectors_settings(qbo_sandbox, tmp_path):
    environ = qbo_sandbox.connector_env() | {"ML_CONNECTOR_LEDGER": "quickbooks",
                                             "ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN": own_chain(qbo_sandbox)}
    ledger = QuickBooks.from_settings(load_settings(environ), open_store(f"sqlite:///{tmp_path / 'c.db'}"))
    assert ledger.target.org == qbo_sandbox.config.credentials.quickbooks_realm_id
    assert ledger.reference_data().base_currency == "USD"
