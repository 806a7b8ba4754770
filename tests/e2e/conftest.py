"""End-to-end harness: a sandbox of the test's own, a fresh store and Dagster instance, real runs, with the
resources built directly for the sandbox (no environment is patched)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from ml_connector.ledgers.base import Ledger
from ml_connector.month import month_bounds
from ml_connector.outcomes import month_status
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.sources.expensify import ExpensifyClient
from ml_connector.store import open_store
from pipelines.definitions import build_definitions
from pipelines.runner import prepare_home, run_month
from tests.resources import ledger_resource, sandbox_resources

MONTH = "2026-10"


@dataclass
class Harness:
    server: SandboxServer
    home: Path
    store_url: str
    ledger_system: str = "zoho_books"
    mapping: Path | None = None
    resource_options: dict = field(default_factory=dict)

    def resources(self) -> dict:
        return sandbox_resources(self.server, self.store_url, ledger_system=self.ledger_system, mapping=self.mapping,
                                 **self.resource_options)

    def run(self, month: str = MONTH, *, dry_run: bool = False, home: Path | None = None) -> dict:
        return run_month(month, dry_run=dry_run, home=home or self.home / "dagster",
                         defs=build_definitions(self.resources()))

    @property
    def engine(self):
        return open_store(self.store_url)

    def sandbox_journals(self) -> list[dict]:
        """Every journal the sandbox Zoho holds, read from the sandbox itself, not from our store."""
        return requests.get(f"{self.server.url('zoho')}/_sandbox/journals", timeout=30).json()["journals"]

    def ledger(self) -> Ledger:
        """The configured ledger on the sandbox, as the `ledger` resource hands it to assets."""
        return ledger_resource(self.server, self.store_url, self.ledger_system).ledger()

    def entries(self, month: str = MONTH) -> list:
        """Every journal and bill of the month in the sandbox's Zoho, from its list pages."""
        return self.ledger().list_entries(*month_bounds(month))

    def expensify(self) -> ExpensifyClient:
        creds = self.server.config.credentials
        return ExpensifyClient(self.server.url("expensify"), creds.expensify_partner_user_id,
                               creds.expensify_partner_user_secret)

    def status(self, month: str = MONTH) -> list[dict]:
        ledger = self.ledger()
        return month_status(self.engine, ledger.target, month)


@pytest.fixture
def harness(tmp_path):
    """Start a sandbox with the given config overrides and point resources at it."""

    @contextlib.contextmanager
    def start(store_url: str | None = None, mapping: Path | None = None, resource_options: dict | None = None,
              ledger: str = "zoho_books", **config) -> Iterator[Harness]:
        settings = dict(seed=21, last_month=MONTH, months=2, brex_expenses_per_month=24,
                        expensify_reports_per_month=4, rate_limits="off")
        settings.update(config)
        with SandboxServer(SandboxConfig(**settings)) as server:
            prepare_home(tmp_path / "dagster")
            yield Harness(server=server, home=tmp_path, store_url=store_url or f"sqlite:///{tmp_path / 'c.db'}",
                          ledger_system=ledger, mapping=mapping, resource_options=resource_options or {})

    return start
