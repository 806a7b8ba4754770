"""`XeroSandbox`: Xero's identity server and Accounting API for one sandbox organisation, as two ASGI apps."""

from __future__ import annotations

import threading
from collections import Counter

from starlette.responses import Response
from starlette.types import ASGIApp

from ml_connector.sandbox.catalog import Company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.faults import FaultMiddleware, FaultPlan
from ml_connector.sandbox.xero.api import XeroApi, rate_limited
from ml_connector.sandbox.xero.attachments import Attachments
from ml_connector.sandbox.xero.control import control_routes
from ml_connector.sandbox.xero.idempotency import IdempotencyCache
from ml_connector.sandbox.xero.identity import TokenRegistry, build_identity_app
from ml_connector.sandbox.xero.limits import XeroLimits
from ml_connector.sandbox.xero.reference import XeroReference
from ml_connector.sandbox.xero.store import XeroStore
from ml_connector.sandbox.xero.wire import correlation_id


def fault_rate_limited() -> Response:
    """An injected 429, shaped like Xero's own minute-limit answer (Retry-After kept short: it is synthetic)."""
    return rate_limited("minute", 1, {"Xero-Correlation-Id": correlation_id(), "X-MinLimit-Remaining": "0"})


class XeroSandbox:
    def __init__(self, company: Company, config: SandboxConfig, faults: FaultPlan) -> None:
        self.config = config
        self.ref = XeroReference(company, config)
        self.store = XeroStore(self.ref)
        self.tokens = TokenRegistry(config)
        self.limits = XeroLimits(config)
        self.idempotency = IdempotencyCache(config)
        self.attachments = Attachments(self.store, config)
        self.latency_seconds = 0.0
        self.request_counts: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        api = XeroApi(self, control_routes(self))
        identity = build_identity_app(config, self.tokens, self.count_request)
        self.apps: dict[str, ASGIApp] = {
            "xero-identity": FaultMiddleware(identity, faults, fault_rate_limited),
            "xero": FaultMiddleware(api.app, faults, fault_rate_limited),
        }

    def count_request(self, endpoint: str) -> None:
        with self._stats_lock:
            self.request_counts[endpoint] += 1

    def request_counts_snapshot(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self.request_counts)

    # --- state for --state FILE ------------------------------------------------------------------

    def dump(self) -> dict:
        return {"store": self.store.dump(), "tokens": self.tokens.dump(), "limits": self.limits.dump(),
                "idempotency": self.idempotency.dump()}

    def load(self, data: dict) -> None:
        """Restore what `dump` returned; parts absent from `data` keep their fresh, seeded state."""
        for part in ("store", "tokens", "limits", "idempotency"):
            if part in data:
                getattr(self, part).load(data[part])
