"""Several processes against one store and one sandbox, as a team runs the connector: CLI runs in processes of
their own (each with its own Dagster home, as on several machines), killed with SIGKILL at random, counted in
the sandbox's ledger rather than in our store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.store import open_store
from ml_connector.store.schema import audit_events
from tests.conftest import REPO
from tests.resources import zoho_ledger

MONTH = "2026-10"


@dataclass
class Fleet:
    """A sandbox, one shared store, and a way to start `ml-connector run` processes against them."""

    server: SandboxServer
    store_url: str
    root: Path
    extra_env: dict

    def env(self, name: str) -> dict[str, str]:
        home = self.root / name
        (home / "dagster").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dagster.yaml", home / "dagster" / "dagster.yaml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")}
        env.update(self.server.connector_env())
        env.update({"ML_CONNECTOR_DATABASE_URL": self.store_url, "ML_CONNECTOR_HOME": str(home),
                    "DAGSTER_HOME": str(home / "dagster"), "ML_CONNECTOR_MONTH_LEASE_WAIT_SECONDS": "600"})
        if not self.server.config.enforce_rate_limits:
            env["ML_CONNECTOR_ZOHO_REQUESTS_PER_MINUTE"] = "100000"
        env.update(self.extra_env)
        return env

    def start(self, name: str, month: str = MONTH, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "ml_connector", "run", "--month", month, "--json", *args],
                                cwd=REPO, env=self.env(name), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def run(self, name: str, month: str = MONTH, timeout: float = 600) -> tuple[int, dict | None, str]:
        process = self.start(name, month)
        out, err = process.communicate(timeout=timeout)
        return process.returncode, _summary(out), err

    # -- what landed in the sandbox's Zoho ------------------------------------------------------------

    def journals(self) -> list[dict]:
        return requests.get(f"{self.server.url('zoho')}/_sandbox/journals", timeout=30).json()["journals"]

    def ledger(self):
        return zoho_ledger(self.server, self.store_url)

    def references(self, month: str = MONTH) -> Counter:
        """How many entries (journals and bills) of the month carry each posting key, in the sandbox's Zoho."""
        from ml_connector.month import month_bounds

        return Counter(e.posting_key for e in self.ledger().list_entries(*month_bounds(month)) if e.posting_key)

    def vendor_names(self) -> Counter:
        ledger = self.ledger()
        return Counter(v.name.casefold() for v in ledger.reference_data().vendors)

    def post_attempts(self) -> int:
        with open_store(self.store_url).connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(audit_events).where(
                audit_events.c.action == "post.attempt")).scalar_one()


def _summary(out: str) -> dict | None:
    try:
        return json.loads(out)
    except ValueError:
        return None


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def fleet(tmp_path):
    """Start a sandbox (config overrides as keyword arguments) and a store (`store_url`, default SQLite)."""
    servers: list[SandboxServer] = []

    def start(store_url: str | None = None, extra_env: dict | None = None, **config) -> Fleet:
        settings = dict(seed=41, last_month=MONTH, months=2, brex_expenses_per_month=30,
                        expensify_reports_per_month=4, rate_limits="off")
        settings.update(config)
        server = SandboxServer(SandboxConfig(**settings)).start()
        servers.append(server)
        return Fleet(server, store_url or f"sqlite:///{tmp_path / 'shared.db'}", tmp_path, extra_env or {})

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        yield request.getfixturevalue("postgres_schema_url")
