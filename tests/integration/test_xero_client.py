"""The Xero ledger against the sandbox over HTTP: rotating tokens across processes, tenants, reference data,
exact search by key, Xero's own idempotency, the minute and day limits, receipts, and preflight.

Xero rotates refresh tokens strictly: every client of one sandbox keeps its newest token in one store, as one
deployment does, so the tests of the module's sandbox share the module's store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
import requests
import sqlalchemy as sa

from ml_connector.errors import AuthError, ConfigError, RateLimited, Uncertain
from ml_connector.ledgers.xero.auth import xero_tokens
from ml_connector.mapping.schema import MAPPED_COLUMNS, conform
from ml_connector.models import JournalDraft, JournalLine, LineTag
from ml_connector.posting_keys import posting_key_for
from ml_connector.receipts import ReceiptRefused
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import open_store
from ml_connector.store.audit import query
from ml_connector.store.schema import rate_budgets
from tests.conftest import REPO
from tests.resources import xero_ledger

DAY = date(2026, 10, 14)


@pytest.fixture(scope="module")
def xero_sandbox():
    with SandboxServer(SandboxConfig(seed=13, last_month="2026-10", months=1, brex_expenses_per_month=4,
                                     expensify_reports_per_month=1, rate_limits="off")) as server:
        yield server


@pytest.fixture(scope="module")
def store_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('xero') / 'c.db'}"


@pytest.fixture(scope="module")
def ledger(xero_sandbox, store_url):
    return xero_ledger(xero_sandbox, store_url)


def _stats(server) -> dict:
    return requests.get(f"{server.url('xero')}/_sandbox/stats", timeout=10).json()


def _tokens(server, store: str, **overrides):
    creds = server.config.credentials
    fields = dict(engine=open_store(store), token_url=server.url("xero-identity") + "/connect/token",
                  client_id=creds.xero_client_id, client_secret=creds.xero_client_secret,
                  refresh_token=creds.xero_refresh_token)
    fields.update(overrides)
    return xero_tokens(**fields)


def _in_another_process(server, store: str, body: str) -> subprocess.Popen:
    """A Python process of its own holding `tokens` for the connection on `store`; `body` runs with it."""
    creds = server.config.credentials
    script = (f"import json, time\nfrom ml_connector.ledgers.xero.auth import xero_tokens\n"
              f"from ml_connector.store import open_store\n"
              f"tokens = xero_tokens(engine=open_store({store!r}), "
              f"token_url={server.url('xero-identity') + '/connect/token'!r}, client_id={creds.xero_client_id!r}, "
              f"client_secret={creds.xero_client_secret!r}, refresh_token={creds.xero_refresh_token!r})\n{body}")
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ | {"PYTHONPATH": str(REPO)})


def _journal(reference, label: str, amount: str = "25.50", tags: tuple[LineTag, ...] = ()) -> JournalDraft:
    accounts = {a.code: a.account_id for a in reference.accounts}
    value = Decimal(amount)
    return JournalDraft(posting_key=posting_key_for("test", "record", [(label, "v1")]), source="brex",
                        source_ids=(label,), source_versions=("v1",), record_amounts=(value,), entry_date=DAY,
                        currency="USD", notes=f"integration {label}",
                        lines=(JournalLine(account_id=accounts["6050"], side="debit", amount=value, tags=tags),
                               JournalLine(account_id=accounts["2100"], side="credit", amount=value, tags=tags)))


# -- tokens ------------------------------------------------------------------------------------------------


def test_two_processes_refreshing_at_once_on_one_store_refresh_once(tmp_path):
    with SandboxServer(SandboxConfig(seed=14, last_month="2026-10", months=1)) as server:
        store = f"sqlite:///{tmp_path / 'c.db'}"
        open_store(store)  # migrated once, before the processes race for the token
        start = time.time() + 3.0
        body = (f"time.sleep(max(0, {start} - time.time()))\ntoken = tokens.token()\n"
                f"print(json.dumps({{'token': token.value, 'refreshes': tokens.refreshes}}))")
        processes = [_in_another_process(server, store, body) for _ in range(2)]
        results = [p.communicate(timeout=60) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], [err[-1500:] for _, err in results]
        answers = [json.loads(out) for out, _ in results]
        assert answers[0]["token"] == answers[1]["token"]
        assert sum(a["refreshes"] for a in answers) == 1 and _stats(server)["token_refreshes"] == 1
        assert _tokens(server, store).token().value == answers[0]["token"]  # and the chain is still usable


def test_a_refresh_token_rotated_by_another_process_costs_this_one_nothing(xero_sandbox, store_url, ledger):
    ledger.reference_data()
    before, mine = _stats(xero_sandbox)["token_refreshes"], ledger.tokens.refreshes
    # Our access token stops working; another process on the store refreshes, rotating the refresh token.
    requests.post(f"{xero_sandbox.url('xero')}/_sandbox/expire-tokens", timeout=10)
    other = _in_another_process(xero_sandbox, store_url, "tokens.invalidate(tokens.token().value)\ntokens.token()")
    _, err = other.communicate(timeout=60)
    assert other.returncode == 0, err[-1500:]
    assert ledger.reference_data().accounts  # the refused call is retried with the other process's token
    assert ledger.tokens.refreshes == mine, "this process refreshed: it did not take the stored token"
    assert _stats(xero_sandbox)["token_refreshes"] == before + 1
    assert [e for e in query(open_store(store_url), action_prefix="token.refresh") if e["outcome"] == "failed"] == []


def test_invalid_grant_says_how_to_reconnect(xero_sandbox, tmp_path):
    tokens = _tokens(xero_sandbox, f"sqlite:///{tmp_path / 'c.db'}", refresh_token="not-a-refresh-token-0000")
    with pytest.raises(AuthError) as error:
        tokens.token()
    message = str(error.value)
    assert "invalid_grant" in message and "reconnect" in message and "ML_CONNECTOR_XERO_REFRESH_TOKEN" in message
    assert "not-a-refresh-token-0000" not in message


def test_invalid_client_names_the_client_id_and_secret(xero_sandbox, tmp_path):
    tokens = _tokens(xero_sandbox, f"sqlite:///{tmp_path / 'c.db'}", client_secret="not-the-secret-0000")
    with pytest.raises(AuthError) as error:
        tokens.token()
    message = str(error.value)
    assert "ML_CONNECTOR_XERO_CLIENT_ID" in message and "ML_CONNECTOR_XERO_CLIENT_SECRET" in message
    assert "REFRESH_TOKEN" not in message and "not-the-secret-0000" not in message


def test_a_lost_refresh_answer_under_strict_rotation_asks_to_reconnect(tmp_path):
    with SandboxServer(SandboxConfig(seed=15, last_month="2026-10", months=1)) as server:
        server.faults.force("lost_response", "/connect/token", times=1)
        with pytest.raises(AuthError, match="answer was lost") as error:
            _tokens(server, f"sqlite:///{tmp_path / 'c.db'}").token()
        assert "reconnect" in str(error.value) and _stats(server)["token_refreshes"] == 1


def test_a_lost_refresh_answer_within_xeros_grace_is_retried_with_the_same_token(tmp_path):
    config = SandboxConfig(seed=15, last_month="2026-10", months=1,
                           limit_overrides={"xero.refresh_grace_seconds": 1800})
    with SandboxServer(config) as server:
        server.faults.force("lost_response", "/connect/token", times=1)
        tokens = _tokens(server, f"sqlite:///{tmp_path / 'c.db'}")
        assert tokens.token().value and tokens.refreshes == 1
        tokens.invalidate(tokens.current.value)
        assert tokens.token().value  # the successor the lost answer carried was stored, and it works


# -- tenants -----------------------------------------------------------------------------------------------


def test_a_tenant_this_connection_is_not_connected_to_is_refused_naming_the_connected_ones(xero_sandbox, store_url):
    stranger = "00000000-1111-2222-3333-444444444444"
    before = _stats(xero_sandbox)["requests"].get("GET /Organisation", 0)
    with pytest.raises(ConfigError) as error:
        xero_ledger(xero_sandbox, store_url, tenant_id=stranger).reference_data()
    message = str(error.value)
    assert stranger in message and xero_sandbox.config.credentials.xero_tenant_id in message
    assert "ML_CONNECTOR_XERO_TENANT_ID" in message
    assert _stats(xero_sandbox)["requests"].get("GET /Organisation", 0) == before  # nothing sent for it


def test_the_only_connected_tenant_is_used_when_none_is_configured(xero_sandbox, store_url):
    chosen = xero_ledger(xero_sandbox, store_url, tenant_id="")
    assert chosen.target.org == xero_sandbox.config.credentials.xero_tenant_id


# -- reference data ------------------------------------------------------------------------------------------


def test_reference_data_has_archived_accounts_inactive_and_tracking_by_category_name(ledger):
    reference = ledger.reference_data()
    by_code = {a.code: a for a in reference.accounts}
    assert not by_code["6990"].is_active and by_code["6050"].is_active
    assert {t.tag_name for t in reference.tag_options} == {"Department", "Location"}
    assert reference.base_currency == "USD" and "EUR" in {c.code for c in reference.currencies}


def test_locked_through_is_the_later_of_the_period_and_end_of_year_lock_dates(xero_sandbox, ledger):
    control = f"{xero_sandbox.url('xero')}/_sandbox/lock-dates"
    saved = requests.post(control, json={}, timeout=10).json()
    try:
        requests.post(control, json={"PeriodLockDate": "2026-09-30", "EndOfYearLockDate": "2026-10-05"}, timeout=10)
        assert ledger.reference_data().locked_through == date(2026, 10, 5)
        requests.post(control, json={"EndOfYearLockDate": "2025-12-31"}, timeout=10)
        assert ledger.reference_data().locked_through == date(2026, 9, 30)  # read fresh, never cached
    finally:
        requests.post(control, json=saved, timeout=10)


def test_contacts_are_read_incrementally_and_new_and_archived_ones_are_seen(xero_sandbox, ledger):
    ledger.reference_data()
    name = f"Incremental Contact {uuid.uuid4().hex[:8]}"
    created = ledger.create_vendor(name)
    calls = _stats(xero_sandbox)["requests"]["GET /Contacts"]
    assert created.vendor_id in {v.vendor_id for v in ledger.reference_data().vendors}
    assert _stats(xero_sandbox)["requests"]["GET /Contacts"] == calls + 1  # one call, not a page per hundred
    ledger.api.call("POST", "Contacts", json_body={"Contacts": [{"ContactID": created.vendor_id,
                                                                 "ContactStatus": "ARCHIVED"}]})
    assert created.vendor_id not in {v.vendor_id for v in ledger.reference_data().vendors}


# -- entries -----------------------------------------------------------------------------------------------


def test_a_narration_starting_with_a_longer_key_is_not_taken_for_ours(ledger):
    reference = ledger.reference_data()
    draft = _journal(reference, uuid.uuid4().hex)
    longer = {"Narration": f"{draft.posting_key}0 someone else's", "Date": DAY.isoformat(), "Status": "POSTED",
              "JournalLines": [{"LineAmount": 5, "AccountCode": "6050"}, {"LineAmount": -5, "AccountCode": "2100"}]}
    ledger.api.call("PUT", "ManualJournals", json_body={"ManualJournals": [longer]})
    assert ledger.find_posted(draft.posting_key, "journal") is None
    posted = ledger.post(draft)
    assert ledger.find_posted(draft.posting_key, "journal").ledger_entity_id == posted.ledger_entity_id


def test_a_bill_numbered_with_a_longer_key_is_not_taken_for_ours(ledger):
    reference = ledger.reference_data()
    key = posting_key_for("test", "bill", [(uuid.uuid4().hex, "v1")])
    vendor = reference.vendors[0].vendor_id
    ledger.api.call("PUT", "Invoices", json_body={"Invoices": [{
        "Type": "ACCPAY", "Contact": {"ContactID": vendor}, "Date": DAY.isoformat(), "DueDate": DAY.isoformat(),
        "InvoiceNumber": f"{key}0", "Status": "AUTHORISED",
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 3, "AccountCode": "6060"}]}]})
    assert ledger.find_posted(key, "bill") is None


def test_a_journal_resent_after_a_lost_answer_is_a_replay_not_a_second_journal(xero_sandbox, ledger):
    reference = ledger.reference_data()
    draft = _journal(reference, uuid.uuid4().hex, "31.07")
    replays = _stats(xero_sandbox)["idempotent_replays"]
    xero_sandbox.faults.force("lost_response", "/ManualJournals", times=1)
    with pytest.raises(Uncertain):
        ledger.post(draft)
    again = ledger.post(draft)  # as if a search had missed it: the same Idempotency-Key, so Xero replays
    assert _stats(xero_sandbox)["idempotent_replays"] == replays + 1
    entries = requests.get(f"{xero_sandbox.url('xero')}/_sandbox/entries", timeout=10).json()["ManualJournals"]
    carrying = [j for j in entries if j["Narration"].split()[0] == draft.posting_key]
    assert [j["ManualJournalID"] for j in carrying] == [again.ledger_entity_id]


def test_journal_lines_carry_tracking_and_come_back_signed(ledger):
    reference = ledger.reference_data()
    option = next(t for t in reference.tag_options if t.tag_name == "Department" and t.is_active)
    tag = LineTag(tag_id=option.tag_id, option_id=option.option_id, tag_name=option.tag_name,
                  option_name=option.option_name)
    posted = ledger.post(_journal(reference, uuid.uuid4().hex, "12.34", (tag,)))
    assert sorted((line.side, line.amount) for line in posted.lines) == [("credit", Decimal("12.34")),
                                                                         ("debit", Decimal("12.34"))]
    assert all(line.tag_option_ids == (option.option_id,) for line in posted.lines)
    assert posted.modified_at and posted.modified_at.endswith("+00:00")


# -- limits ------------------------------------------------------------------------------------------------


def _limited(seed: int, **limits) -> SandboxServer:
    return SandboxServer(SandboxConfig(seed=seed, last_month="2026-10", months=1, rate_limits="real",
                                       limit_overrides={"xero.per_minute": 1000, **limits}))


def test_a_used_up_day_is_waited_out_with_one_refused_call_per_day(tmp_path):
    with _limited(16, **{"xero.daily": 4, "xero.day_seconds": 3}) as server:
        ledger = xero_ledger(server, f"sqlite:///{tmp_path / 'c.db'}", quota_wait_seconds=10)
        for _ in range(4):
            ledger.reference_data()  # 2 or more calls each: more than a day holds
        stats = _stats(server)
        assert stats["day"] >= 1 and stats["rate_limited"] == {"concurrent": 0, "day": stats["day"],
                                                              "appminute": 0, "minute": 0}
        assert ledger.api.quota.days_waited == stats["day"]  # one refused call per day it ran out, no more


def test_a_day_longer_than_a_run_should_wait_stops_every_process_without_a_call(tmp_path):
    with _limited(17, **{"xero.daily": 3, "xero.day_seconds": 3600}) as server:
        store = f"sqlite:///{tmp_path / 'c.db'}"
        first = xero_ledger(server, store, quota_wait_seconds=1)
        with pytest.raises(RateLimited) as error:
            for _ in range(3):
                first.reference_data()
        assert error.value.is_daily_quota and error.value.retry_after > 3000
        assert "used up" in str(error.value) and "continues" in str(error.value)
        sent = _tenant_calls(server)
        second = xero_ledger(server, store, quota_wait_seconds=1)  # another process on the same store
        with pytest.raises(RateLimited):
            second.reference_data()
        assert _tenant_calls(server) == sent and _stats(server)["rate_limited"]["day"] == 1


def _tenant_calls(server) -> int:
    """Accounting calls (the ones a tenant's limits count), not the token endpoint or `GET /connections`."""
    requests_by = _stats(server)["requests"]
    return sum(n for endpoint, n in requests_by.items() if endpoint not in ("POST /connect/token", "GET /connections"))


def test_a_minute_limit_answer_pauses_the_budget_and_the_call_is_retried(tmp_path):
    with _limited(18) as server:
        ledger = xero_ledger(server, f"sqlite:///{tmp_path / 'c.db'}")
        ledger.reference_data()
        server.faults.force("rate_limited", "/Organisation", times=1)
        started = time.time()
        assert ledger.reference_data().base_currency == "USD"
        assert server.faults.injected["rate_limited"] == 1
        assert time.time() - started >= 1.0  # Retry-After: 1
        with open_store(f"sqlite:///{tmp_path / 'c.db'}").connect() as connection:
            paused = connection.execute(sa.select(rate_budgets.c.paused_until).where(
                rate_budgets.c.system == "xero")).scalar_one()
        assert paused >= started + 0.9  # the pause was written where every process's budget reads it


def test_posting_advice_names_the_quota_and_per_day_when_a_month_exceeds_a_day(ledger):
    reference = ledger.reference_data()
    drafts = [_journal(reference, f"advice-{i}") for i in range(ledger.api.quota.daily + 10)]
    (advice,) = ledger.posting_advice(drafts)[:1]
    assert "continues the next day" in advice and "per_day" in advice
    assert ledger.posting_advice(drafts[:10]) == []


# -- receipts and preflight --------------------------------------------------------------------------------


def test_a_receipt_xero_refuses_is_refused_for_good(tmp_path):
    config = SandboxConfig(seed=19, last_month="2026-10", months=1, rate_limits="off",
                           limit_overrides={"xero.attachment_max_bytes": 10})
    with SandboxServer(config) as server:
        ledger = xero_ledger(server, f"sqlite:///{tmp_path / 'c.db'}")
        posted = ledger.post(_journal(ledger.reference_data(), uuid.uuid4().hex))
        with pytest.raises(ReceiptRefused):
            ledger.attach_receipt("journal", posted.ledger_entity_id, "big.pdf", b"%PDF-1.4 twenty bytes",
                                  "application/pdf")
        ledger.attach_receipt("journal", posted.ledger_entity_id, "small.pdf", b"%PDF-1.4", "application/pdf")
        assert ledger.attachment_names("journal", posted.ledger_entity_id) == ["small.pdf"]


def _mapped(**row) -> pd.DataFrame:
    base = {"source": "brex", "source_id": "r1", "posting_kind": "journal", "currency": "USD", "amount": Decimal(5)}
    return conform(pd.DataFrame([{**base, **row}]), MAPPED_COLUMNS)


def test_preflight_holds_a_journal_in_another_currency(ledger):
    reference = ledger.reference_data()
    held = ledger.preflight(_mapped(currency="EUR"), reference)
    assert list(held["reason"]) == ["journal_currency_not_base"] and "USD" in held["reason_text"][0]
    assert ledger.preflight(_mapped(posting_kind="bill", currency="EUR"), reference).empty


def test_preflight_holds_a_third_tracking_category_and_two_dimensions_on_one(ledger):
    reference = ledger.reference_data()
    three = {f"{dim}_{part}": f"{dim}-{part}" for dim in ("department", "location", "project")
             for part in ("tag_id", "tag_name", "option_id", "option_name")}
    held = ledger.preflight(_mapped(**three), reference)
    assert list(held["reason"]) == ["too_many_tracking_categories"] and "at most two" in held["reason_text"][0]
    same = {**three, "project_tag_id": "department-tag_id"}
    del same["location_option_id"]
    held = ledger.preflight(_mapped(**same), reference)
    assert list(held["reason"]) == ["tracking_category_twice"]
    assert ledger.preflight(_mapped(), reference).empty


def test_preflight_holds_a_report_whose_bill_would_total_below_zero(ledger):
    reference = ledger.reference_data()
    rows = pd.concat([_mapped(source="expensify", source_id=f"e{i}", parent_id="R9", posting_kind="bill",
                              amount=Decimal(amount)) for i, amount in enumerate(("10.00", "-25.00"))])
    held = ledger.preflight(conform(rows, MAPPED_COLUMNS), reference)
    assert sorted(held["source_id"]) == ["e0", "e1"] and set(held["reason"]) == {"bill_total_negative"}
    assert ledger.preflight(_mapped(source="expensify", parent_id="R8", posting_kind="bill"), reference).empty
