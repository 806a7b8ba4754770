"""`ml-connector sandbox` as a user starts it: the first line says where everything is and how to connect."""

import json
import subprocess
import sys
import time
from datetime import date

import pytest
import requests

from ml_connector.settings import load_settings
from ml_connector.sources.brex import BrexClient


@pytest.fixture
def sandbox_process(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "ml_connector", "sandbox", "--port", "0", "--last-month",
                                "2026-10", "--months", "1", "--brex-expenses", "12", "--state",
                                str(tmp_path / "state.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        yield process, json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_first_line_is_json_with_urls_credentials_and_a_working_env(sandbox_process):
    _, described = sandbox_process
    assert {"brex", "zoho-accounts", "zoho", "expensify", "quickbooks", "xero"} <= set(described["urls"])
    assert described["credentials"]["zoho"]["organization_id"]
    env = described["env"]
    assert all(name.startswith("ML_CONNECTOR_") for name in env)
    # Exporting `env` points the connector at this sandbox and nothing else.
    settings = load_settings(env)
    assert settings.brex_base_url == described["urls"]["brex"]
    transactions = BrexClient.from_settings(settings).card_transactions(date(2026, 10, 1), date(2026, 10, 31))
    assert len([t for t in transactions if t["type"] in ("PURCHASE", "REFUND")]) == 12


def test_state_file_is_written_when_the_sandbox_stops(sandbox_process, tmp_path):
    process, described = sandbox_process
    deadline = time.monotonic() + 30
    while True:  # the first line comes before the server listens: wait until it answers
        try:
            requests.get(f"{described['sandbox']}/_sandbox/describe", timeout=2).raise_for_status()
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the sandbox never started listening"
            time.sleep(0.1)
    process.terminate()
    process.wait(timeout=30)
    state = json.loads((tmp_path / "state.json").read_text())
    assert {"brex", "zoho", "expensify", "quickbooks", "xero"} <= set(state)
