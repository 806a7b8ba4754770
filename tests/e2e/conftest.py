"""End-to-end harness: a sandbox of the test's own, a fresh store and Dagster instance, real runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ml_connector.ledgers.zoho_books import ZohoBooks
from ml_connector.month import month_status
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.settings import load_settings
from ml_connector.store import open_store
from pipelines.runner import prepare_home, run_month

MONTH = "2026-10"


@dataclass
class Harness:
    server: SandboxServer
    home: Path

    def run(self, month: str = MONTH, *, dry_run: bool = False, home: Path | None = None) -> dict:
        return run_month(month, dry_run=dry_run, home=home or self.home / "dagster")

    def sandbox_journals(self) -> list[dict]:
        """Every journal the sandbox Zoho holds, read from the sandbox itself, not from our store."""
        return requests.get(f"{self.server.url('zoho')}/_sandbox/journals", timeout=30).json()["journals"]

    def ledger(self) -> ZohoBooks:
        settings = load_settings()
        return ZohoBooks.from_settings(settings, open_store(settings.store_url))

    def status(self, month: str = MONTH) -> list[dict]:
        return month_status(open_store(load_settings().store_url), month)


@pytest.fixture
def harness(tmp_path, monkeypatch):
    """Start a sandbox with the given config overrides and point the connector at it."""

    @contextlib.contextmanager
    def start(store_url: str | None = None, connector_env: dict | None = None, **config) -> Iterator[Harness]:
        settings = dict(seed=21, last_month=MONTH, months=2, brex_expenses_per_month=24,
                        expensify_reports_per_month=4, rate_limits="off")
        settings.update(config)
        with SandboxServer(SandboxConfig(**settings)) as server:
            for name, value in server.connector_env().items():
                monkeypatch.setenv(name, value)
            monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path / "home"))
            # The sandbox runs without limits here, so the connector need not hold itself to 100 a minute.
            monkeypatch.setenv("ML_CONNECTOR_ZOHO_REQUESTS_PER_MINUTE", "100000")
            if store_url:
                monkeypatch.setenv("ML_CONNECTOR_DATABASE_URL", store_url)
            for name, value in (connector_env or {}).items():
                monkeypatch.setenv(name, value)
            prepare_home(tmp_path / "dagster")
            yield Harness(server=server, home=tmp_path)

    return start
