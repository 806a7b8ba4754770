"""One sandbox server: Brex, Zoho (accounts and Books) and Expensify under path prefixes on 127.0.0.1.

`SandboxServer` runs uvicorn in a background thread, so tests and `ml-connector demo` start it in-process;
`ml-connector sandbox` runs it in the foreground. `describe()` is what the command prints first: every
base URL, the credentials a client needs, and the connector's own environment pointing at this sandbox.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ml_connector.sandbox.catalog import build_company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import ALL_KINDS, FaultPlan
from ml_connector.sandbox.request_log import RequestLog

PREFIXES = ("brex", "zoho-accounts", "zoho", "expensify", "xero-identity", "xero", "quickbooks-oauth", "quickbooks")


class SandboxServer:
    """The sandbox APIs on one port. Use as a context manager, or call start() and stop()."""

    def __init__(self, config: SandboxConfig | None = None, port: int = 0, host: str = "127.0.0.1") -> None:
        # Imported here so that a missing vendor module names itself when the server starts.
        from ml_connector.sandbox.brex import BrexSandbox
        from ml_connector.sandbox.expensify import ExpensifySandbox
        from ml_connector.sandbox.quickbooks import QuickBooksSandbox
        from ml_connector.sandbox.xero import XeroSandbox
        from ml_connector.sandbox.zoho import ZohoSandbox

        self.config = config or SandboxConfig()
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.config.public_url = f"http://{host}:{self.port}"
        self.company = build_company(self.config.seed)
        self.faults = FaultPlan(rate=self.config.faults, seed=self.config.seed,
                                slow_seconds=self.config.slow_seconds)
        self.brex = BrexSandbox(self.company, self.config, self.faults)
        self.zoho = ZohoSandbox(self.company, self.config, self.faults)
        self.expensify = ExpensifySandbox(self.company, self.config, self.faults)
        self.xero = XeroSandbox(self.company, self.config, self.faults)
        self.quickbooks = QuickBooksSandbox(self.company, self.config, self.faults)
        self._vendors = (self.brex, self.zoho, self.expensify, self.xero, self.quickbooks)
        self._load_state()
        self.app = self._build_app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the sandbox did not start on {self.config.public_url}")
            time.sleep(0.02)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the `ml-connector sandbox` command)."""
        # Lifespan on: the app's shutdown saves state. uvicorn re-raises SIGTERM after shutting down, so a
        # `finally` here would never run.
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.save_state()
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need -----------------------------------------------------------------------

    def url(self, prefix: str) -> str:
        if prefix not in PREFIXES:
            raise ValueError(f"unknown sandbox prefix {prefix!r}; use one of {', '.join(PREFIXES)}")
        return f"{self.config.public_url}/{prefix}"

    def describe(self) -> dict:
        """Base URLs, credentials and the connector environment that points at this sandbox."""
        creds = self.config.credentials
        urls = {name: self.url(name) for name in PREFIXES}
        return {
            "sandbox": self.config.public_url,
            "urls": urls,
            "months": self.config.month_keys,
            "credentials": {
                "brex": {"api_token": creds.brex_token, "client_id": creds.brex_client_id,
                         "client_secret": creds.brex_client_secret, "refresh_token": creds.brex_refresh_token,
                         "webhook_secret": creds.brex_webhook_secret},
                "zoho": {"client_id": creds.zoho_client_id, "client_secret": creds.zoho_client_secret,
                         "refresh_token": creds.zoho_refresh_token,
                         "organization_id": creds.zoho_organization_id},
                "expensify": {"partner_user_id": creds.expensify_partner_user_id,
                              "partner_user_secret": creds.expensify_partner_user_secret},
                "xero": {"client_id": creds.xero_client_id, "client_secret": creds.xero_client_secret,
                         "refresh_token": creds.xero_refresh_token, "tenant_id": creds.xero_tenant_id},
                "quickbooks": {"client_id": creds.quickbooks_client_id,
                               "client_secret": creds.quickbooks_client_secret,
                               "refresh_token": creds.quickbooks_refresh_token,
                               "realm_id": creds.quickbooks_realm_id},
            },
            "env": self.connector_env(),
        }

    def connector_env(self) -> dict[str, str]:
        """The connector's own variables (names as its settings model reads them) for this sandbox."""
        creds = self.config.credentials
        return {
            "ML_CONNECTOR_BREX_BASE_URL": self.url("brex"),
            "ML_CONNECTOR_BREX_TOKEN_URL": f"{self.url('brex')}/oauth2/default/v1/token",
            "ML_CONNECTOR_BREX_API_TOKEN": creds.brex_token,
            "ML_CONNECTOR_BREX_WEBHOOK_SECRET": creds.brex_webhook_secret,
            "ML_CONNECTOR_ZOHO_ACCOUNTS_URL": self.url("zoho-accounts"),
            "ML_CONNECTOR_ZOHO_CLIENT_ID": creds.zoho_client_id,
            "ML_CONNECTOR_ZOHO_CLIENT_SECRET": creds.zoho_client_secret,
            "ML_CONNECTOR_ZOHO_REFRESH_TOKEN": creds.zoho_refresh_token,
            "ML_CONNECTOR_ZOHO_ORGANIZATION_ID": creds.zoho_organization_id,
            # The sandbox is not a Zoho data centre: the operator allows its origin explicitly.
            "ML_CONNECTOR_ZOHO_ALLOWED_API_DOMAINS": self.config.public_url,
            # Nor is it a source's receipt host: the operator trusts its origin for receipts, over plain HTTP.
            "ML_CONNECTOR_RECEIPT_SANDBOX_ORIGIN": self.config.public_url,
            "ML_CONNECTOR_EXPENSIFY_BASE_URL": self.url("expensify"),
            "ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID": creds.expensify_partner_user_id,
            "ML_CONNECTOR_EXPENSIFY_PARTNER_USER_SECRET": creds.expensify_partner_user_secret,
            "ML_CONNECTOR_XERO_API_URL": self.url("xero"),
            "ML_CONNECTOR_XERO_TOKEN_URL": self.url("xero-identity") + "/connect/token",
            "ML_CONNECTOR_XERO_CLIENT_ID": creds.xero_client_id,
            "ML_CONNECTOR_XERO_CLIENT_SECRET": creds.xero_client_secret,
            "ML_CONNECTOR_XERO_REFRESH_TOKEN": creds.xero_refresh_token,
            "ML_CONNECTOR_XERO_TENANT_ID": creds.xero_tenant_id,
            "ML_CONNECTOR_QUICKBOOKS_BASE_URL": self.url("quickbooks"),
            "ML_CONNECTOR_QUICKBOOKS_TOKEN_URL": self.url("quickbooks-oauth") + "/oauth2/v1/tokens/bearer",
            "ML_CONNECTOR_QUICKBOOKS_CLIENT_ID": creds.quickbooks_client_id,
            "ML_CONNECTOR_QUICKBOOKS_CLIENT_SECRET": creds.quickbooks_client_secret,
            "ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN": creds.quickbooks_refresh_token,
            "ML_CONNECTOR_QUICKBOOKS_REALM_ID": creds.quickbooks_realm_id,
            "ML_CONNECTOR_MAPPING_FILE": str(Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"),
        }

    # -- state across restarts -------------------------------------------------------------------

    def save_state(self) -> None:
        if not self.config.state_file:
            return
        state = {"brex": self.brex.dump(), "zoho": self.zoho.dump(), "expensify": self.expensify.dump()}
        state["xero"] = self.xero.dump()
        state["quickbooks"] = self.quickbooks.dump()
        path = Path(self.config.state_file)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)

    def _load_state(self) -> None:
        if not self.config.state_file or not Path(self.config.state_file).exists():
            return
        state = json.loads(Path(self.config.state_file).read_text())
        self.brex.load(state.get("brex", {}))
        self.zoho.load(state.get("zoho", {}))
        self.expensify.load(state.get("expensify", {}))
        self.xero.load(state.get("xero", {}))
        self.quickbooks.load(state.get("quickbooks", {}))

    # -- the app ---------------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        mounts = []
        for vendor in self._vendors:
            for prefix, app in vendor.apps.items():
                mounts.append(Mount(f"/{prefix}", app=app))
        # Longer prefixes first, so /zoho-accounts is not swallowed by /zoho.
        mounts.sort(key=lambda mount: len(mount.path), reverse=True)
        self.requests = RequestLog(None, self.config.record_requests)
        routes = [Route("/_sandbox/faults", self._faults_endpoint, methods=["GET", "POST"]),
                  Route("/_sandbox/describe", self._describe_endpoint, methods=["GET"]),
                  Route("/_sandbox/requests", self.requests.endpoint, methods=["GET", "DELETE"])]
        self.requests.app = Starlette(routes=routes + mounts, lifespan=self._lifespan)
        return self.requests

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app):
        yield
        self.save_state()

    async def _faults_endpoint(self, request: Request) -> JSONResponse:
        """GET shows faults injected so far; POST {rate?, force?: [{kind, path_contains?, times?}], clear?}."""
        if request.method == "POST":
            body = await request.json()
            if body.get("clear"):
                self.faults.clear()
            if "rate" in body:
                self.faults.rate = float(body["rate"])
            for forced in body.get("force", []):
                if forced.get("kind") not in ALL_KINDS:
                    return JSONResponse({"error": f"kind must be one of {', '.join(ALL_KINDS)}"}, 400)
                self.faults.force(forced["kind"], forced.get("path_contains"), int(forced.get("times", 1)))
        return JSONResponse({"rate": self.faults.rate, "injected": self.faults.injected})

    async def _describe_endpoint(self, request: Request) -> JSONResponse:
        return JSONResponse({"urls": {name: self.url(name) for name in PREFIXES},
                             "months": self.config.month_keys})
