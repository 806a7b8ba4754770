"""`QuickBooksSandbox`: Intuit's token server and the Accounting API for one sandbox company, as two apps."""

from __future__ import annotations

import threading
from collections import Counter

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp

from ml_connector.sandbox.catalog import Company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import FaultMiddleware, FaultPlan
from ml_connector.sandbox.quickbooks.api import AccountingApi
from ml_connector.sandbox.quickbooks.control import control_routes
from ml_connector.sandbox.quickbooks.errors import throttled_body
from ml_connector.sandbox.quickbooks.idempotency import RequestLog
from ml_connector.sandbox.quickbooks.limits import RealmLimits
from ml_connector.sandbox.quickbooks.oauth import TokenRegistry, build_oauth_app
from ml_connector.sandbox.quickbooks.reference import build_profile
from ml_connector.sandbox.quickbooks.store import RealmBooks
from ml_connector.sandbox.quickbooks.wire import qbo_response


def throttled_response() -> Response:
    """QuickBooks' own 429, for the fault middleware's injected rate limits."""
    return qbo_response(throttled_body(), 429)


class QuickBooksSandbox:
    """Mounted by the sandbox server at `/quickbooks-oauth` (token server) and `/quickbooks` (API)."""

    def __init__(self, company: Company, config: SandboxConfig, faults: FaultPlan) -> None:
        self.config = config
        self.profile = build_profile(company, config)
        self.realms: dict[str, RealmBooks] = {self.profile.realm_id: RealmBooks(self.profile)}
        self.tokens = TokenRegistry(config, self.profile.realm_id)
        self.limits = RealmLimits(config)
        self.requests = RequestLog(config)
        self.latency_seconds = 0.0
        self.request_counts: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        api = AccountingApi(self)
        api_app = Starlette(routes=api.routes() + control_routes(self))
        api_app.add_exception_handler(404, api.unknown_route)
        api_app.add_exception_handler(405, api.unknown_route)
        oauth_app = build_oauth_app(config, self.tokens, self.count_request)
        self.apps: dict[str, ASGIApp] = {
            "quickbooks-oauth": FaultMiddleware(oauth_app, faults, throttled_response),
            "quickbooks": FaultMiddleware(api_app, faults, throttled_response),
        }

    @property
    def books(self) -> RealmBooks:
        """The configured company's books (the only realm the sandbox seeds)."""
        return self.realms[self.profile.realm_id]

    def count_request(self, endpoint: str) -> None:
        with self._stats_lock:
            self.request_counts[endpoint] += 1

    def stats(self) -> dict:
        with self._stats_lock:
            counts = dict(self.request_counts)
        return {"requests": counts, "token_refreshes": self.tokens.refresh_count,
                "rate_limited": self.limits.throttled, "requestid_replays": self.requests.replayed,
                "in_flight": dict(self.limits.in_flight)}

    # --- state for --state FILE ------------------------------------------------------------------

    def dump(self) -> dict:
        return {"realms": {realm: books.dump() for realm, books in self.realms.items()},
                "tokens": self.tokens.dump(), "requests": self.requests.dump()}

    def load(self, data: dict) -> None:
        """Restore what `dump` returned; parts absent from `data` keep their fresh, seeded state."""
        for realm, books_data in data.get("realms", {}).items():
            if realm in self.realms:
                self.realms[realm].load(books_data)
        if "tokens" in data:
            self.tokens.load(data["tokens"])
        if "requests" in data:
            self.requests.load(data["requests"])
