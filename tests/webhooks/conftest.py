"""Webhook test harness: receivers served over real HTTP, events signed with Svix's own library, a Brex
sandbox whose retry schedule is compressed, and the CLI as a subprocess."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
import uvicorn
from svix.webhooks import Webhook

from ml_connector.sandbox.brex_standalone import StandaloneBrex
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.store import open_store
from ml_connector.store.db import create_store_engine
from ml_connector.store.schema import webhook_inbox

RETRY_SCALE = 0.001  # Svix's 5 s, 5 min, 30 min ... become 5 ms, 0.3 s, 1.8 s ...


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signed(secret: str, body: bytes, *, msg_id: str | None = None, at: datetime | None = None,
           prefix: str = "webhook-") -> dict[str, str]:
    """Headers as Svix sends them, signed by `svix.webhooks.Webhook`, not by anything of ours."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {"content-type": "application/json", f"{prefix}id": msg_id,
            f"{prefix}timestamp": str(int(at.timestamp())), f"{prefix}signature": signature}


def event_body(event_type: str = "EXPENSE_PAYMENT_UPDATED", **fields) -> bytes:
    payload = {"event_type": event_type, "expense_id": "expense_test", "company_id": "cuacc_test", **fields}
    return json.dumps(payload).encode()


def inbox_rows(store_url: str) -> list[dict]:
    with open_store(store_url).connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(webhook_inbox).order_by(webhook_inbox.c.id))]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s")


class ServedApp:
    """An ASGI app on 127.0.0.1 in a background thread, over real HTTP."""

    def __init__(self, app) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.url = f"{self.base}/webhooks/brex"
        self.app = app
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        wait_for(lambda: self._server.started, timeout=15)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def metrics(self) -> dict[str, float]:
        """The Prometheus text as {sample name with labels: value}."""
        text = requests.get(f"{self.base}/metrics", timeout=10).text
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line and not line.startswith("#")}


@pytest.fixture(scope="module")
def brex() -> Iterator[StandaloneBrex]:
    """A Brex sandbox of this module's own (tests rotate its secret and add subscriptions)."""
    config = SandboxConfig(seed=11, last_month="2026-10", months=2, brex_expenses_per_month=40, rate_limits="off",
                           limit_overrides={"brex.webhook_retry_scale": RETRY_SCALE})
    with StandaloneBrex(config) as server:
        yield server


def brex_env(brex: StandaloneBrex) -> dict[str, str]:
    creds = brex.config.credentials
    return {"ML_CONNECTOR_BREX_BASE_URL": brex.url("brex"), "ML_CONNECTOR_BREX_API_TOKEN": creds.brex_token}


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")} | env
    return subprocess.run([sys.executable, "-m", "ml_connector", *args], capture_output=True, text=True, env=full,
                          timeout=timeout)


class ServeProcess:
    """`ml-connector webhooks serve --port 0` as an operator starts it; `.url` from its first line."""

    def __init__(self, env: dict[str, str]) -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")} | env
        self.process = subprocess.Popen([sys.executable, "-m", "ml_connector", "webhooks", "serve", "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"webhooks serve did not start: {self.process.stderr.read()}")
        self.described = json.loads(line)
        self.url = self.described["url"]
        self.base = self.url.removesuffix("/webhooks/brex")
        wait_for(self._healthy, timeout=30)
        self.stderr = ""

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> str:
        """Stop it and return what it wrote to stderr (its log)."""
        self.process.terminate()
        _, self.stderr = self.process.communicate(timeout=30)
        return self.stderr


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_store_url(request, tmp_path_factory) -> Iterator[str]:
    """A store of this module's own, on SQLite and on the real PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('webhooks') / 'connector.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_store_engine(server_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{server_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
