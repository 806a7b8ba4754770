"""The Expensify client against the sandbox Integration Server over real HTTP: exports, marks, policies,
credentials and rate limits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
import requests

from ml_connector.errors import AuthError, ConfigError
from ml_connector.money import from_minor_units
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.settings import load_settings
from ml_connector.sources.expensify import ExpensifyClient, export_label, report_to_records

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))
AUGUST = (date(2026, 8, 1), date(2026, 8, 31))
UNLIMITED = ((10_000, 1.0),)  # the proactive limit for the server whose limits are off


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(seed=31, last_month="2026-10", months=3, expensify_reports_per_month=20,
                           rate_limits="off")
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> ExpensifyClient:
    return ExpensifyClient.from_settings(load_settings(sandbox.connector_env()), rate_limits=UNLIMITED)


def listed(server: SandboxServer, **params: str) -> list[dict]:
    response = requests.get(f"{server.url('expensify')}/_sandbox/reports", params=params, timeout=10)
    response.raise_for_status()
    return response.json()["reports"]


def approved_in(server: SandboxServer, month: str) -> dict[str, dict]:
    return {r["reportID"]: r for state in ("APPROVED", "REIMBURSED") for r in listed(server, month=month, state=state)}


def test_month_exports_every_approved_report_with_totals(sandbox: SandboxServer, client: ExpensifyClient) -> None:
    expected = approved_in(sandbox, "2026-10")
    reports = client.export_reports(*OCTOBER)
    assert expected and {r["reportID"] for r in reports} == set(expected)
    for report in reports:
        records = report_to_records(report)
        assert len(records) == expected[report["reportID"]]["expenseCount"]
        assert all(isinstance(r.amount, Decimal) and r.currency == report["currency"] for r in records)
        total = from_minor_units(expected[report["reportID"]]["total"], report["currency"])
        assert sum((r.amount for r in records), Decimal("0")) == total
        assert all(OCTOBER[0] <= r.record_date <= OCTOBER[1] for r in records)


def test_records_carry_coding_and_the_receipt_currency(sandbox: SandboxServer, client: ExpensifyClient) -> None:
    records = [r for report in client.export_reports(*OCTOBER) for r in report_to_records(report)]
    assert all(r.source == "expensify" and r.parent_id and r.tags["expense_date"] for r in records)
    assert any(r.gl_code for r in records) and all(r.department for r in records)
    assert any(r.receipt_urls for r in records)
    assert any(r.project for r in records) and any(r.memo for r in records)
    foreign = [r for r in records if r.original_currency]
    assert foreign, "the sandbox data should hold expenses paid in another currency"
    for record in foreign:
        assert record.original_currency != record.currency and record.exchange_rate is None
        rate = Decimal(record.tags["conversion_rate"])
        assert abs(record.original_amount * rate - record.amount) <= Decimal("0.01")


def test_submitted_and_open_reports_are_not_exported(sandbox: SandboxServer, client: ExpensifyClient) -> None:
    unapproved = {r["reportID"] for state in ("SUBMITTED", "OPEN") for r in listed(sandbox, state=state)}
    assert unapproved, "the sandbox data should hold unapproved reports"
    exported = {r["reportID"] for r in client.export_reports(AUGUST[0], OCTOBER[1])}
    assert exported and not exported & unapproved


def test_marked_reports_are_skipped_by_the_next_export(sandbox: SandboxServer, client: ExpensifyClient) -> None:
    label = export_label("zoho-books", f"test-{uuid.uuid4().hex[:8]}")
    first = client.export_reports(*AUGUST, exclude_label=label)
    posted = [r["reportID"] for r in first[:2]]
    client.mark_exported(posted, label)
    again = {r["reportID"] for r in client.export_reports(*AUGUST, exclude_label=label)}
    assert again == {r["reportID"] for r in first} - set(posted)
    for report_id in posted:
        shown = requests.get(f"{sandbox.url('expensify')}/_sandbox/reports/{report_id}", timeout=10).json()
        assert label in shown["exportedLabels"]


def test_late_approved_report_appears_in_the_next_export(sandbox: SandboxServer, client: ExpensifyClient) -> None:
    label = export_label("zoho-books", f"late-{uuid.uuid4().hex[:8]}")
    client.mark_exported([r["reportID"] for r in client.export_reports(*SEPTEMBER, exclude_label=label)], label)
    response = requests.post(f"{sandbox.url('expensify')}/_sandbox/reports", json={"approved": "2026-09-29"},
                             timeout=10)
    response.raise_for_status()
    late = client.export_reports(*SEPTEMBER, exclude_label=label)
    assert [r["reportID"] for r in late] == [response.json()["reportID"]]
    assert all(r.record_date == date(2026, 9, 29) for r in report_to_records(late[0]))


def test_policy_has_categories_with_gl_codes(client: ExpensifyClient) -> None:
    policies = client.policies()
    assert policies
    policy = client.policy(policies[0]["id"])
    assert any(c["glCode"] for c in policy["categories"])
    assert {level["name"] for level in policy["tags"]} >= {"Department", "Project"}
    assert policy["employees"]


def test_wrong_secret_is_an_auth_error_without_the_secret(sandbox: SandboxServer) -> None:
    secret = f"wrong-{uuid.uuid4().hex}"
    bad = ExpensifyClient(sandbox.url("expensify"), sandbox.config.credentials.expensify_partner_user_id, secret,
                          rate_limits=UNLIMITED)
    with pytest.raises(AuthError) as caught:
        bad.export_reports(*OCTOBER)
    assert secret not in str(caught.value) and "ML_CONNECTOR_EXPENSIFY" in str(caught.value)


def test_missing_partner_user_id_names_the_setting(sandbox: SandboxServer) -> None:
    env = {k: v for k, v in sandbox.connector_env().items() if k != "ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID"}
    with pytest.raises(ConfigError, match="ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID"):
        ExpensifyClient.from_settings(load_settings(env))


def limited_sandbox(seed: int) -> SandboxServer:
    return SandboxServer(SandboxConfig(seed=seed, last_month="2026-10", months=1, expensify_reports_per_month=8,
                                       rate_limits="real",
                                       limit_overrides={"expensify.per_10s": 2, "expensify.per_minute": 100}))


def test_proactive_limits_avoid_every_429() -> None:
    with limited_sandbox(41) as server:
        client = ExpensifyClient.from_settings(load_settings(server.connector_env()),
                                               rate_limits=((2, 10.0), (100, 60.0)))
        started = time.monotonic()
        reports = client.export_reports(*OCTOBER)  # two requests
        client.policies()
        client.policies()  # the fourth request waits for the 10 s window
        elapsed = time.monotonic() - started
    assert reports and client.rate_limited == 0 and client.calls == 4
    assert elapsed >= 10.0


def test_a_client_over_the_limit_is_slowed_by_retries_and_loses_nothing() -> None:
    with limited_sandbox(43) as server:
        client = ExpensifyClient.from_settings(load_settings(server.connector_env()),
                                               rate_limits=((10, 10.0), (100, 60.0)))
        started = time.monotonic()
        first = client.export_reports(*OCTOBER)
        second = client.export_reports(*OCTOBER)  # its export is refused with 429, then retried
        elapsed = time.monotonic() - started
    assert first and second == first
    assert client.rate_limited >= 1 and client.calls == 4 + client.rate_limited
    assert elapsed >= 10.0
