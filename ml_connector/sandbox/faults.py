"""Faults on demand for the sandbox APIs: the failures a real service shows a client, chosen with a seed.

One `FaultPlan` is shared by every sandbox app of a server. At `rate`, a request draws one of the
fault kinds below (or the kinds a test forces with `force`). Each app wraps itself in `FaultMiddleware`
and gives it the vendor's own 429 response, so a throttled client sees exactly what it would in production.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

RATE_LIMITED = "rate_limited"  # 429 with the vendor's body
SERVER_ERROR = "server_error"  # 500
UNAVAILABLE = "unavailable"  # 503
SLOW = "slow"  # answers only after the client's timeout has passed
DROPPED = "dropped"  # the connection breaks before any work is done
LOST_RESPONSE = "lost_response"  # the write commits, then the response is lost

ALL_KINDS = (RATE_LIMITED, SERVER_ERROR, UNAVAILABLE, SLOW, DROPPED, LOST_RESPONSE)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _DropConnection(Exception):
    """Raised after the response has started so that uvicorn closes the socket mid-response."""


@dataclass
class FaultPlan:
    """Which requests fail, and how. Thread-safe: the server and tests may change it while running."""

    rate: float = 0.0
    seed: int = 7
    slow_seconds: float = 3.0
    kinds: tuple[str, ...] = ALL_KINDS
    _forced: list[tuple[str, str | None, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random | None = None
    injected: dict[str, int] = field(default_factory=dict)

    def force(self, kind: str, path_contains: str | None = None, times: int = 1) -> None:
        """Make the next `times` matching requests fail with `kind`, whatever the rate."""
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(ALL_KINDS)}")
        with self._lock:
            self._forced.append((kind, path_contains, times))

    def clear(self) -> None:
        with self._lock:
            self._forced.clear()
            self.rate = 0.0

    def draw(self, method: str, path: str) -> str | None:
        with self._lock:
            for index, (kind, needle, times) in enumerate(self._forced):
                if needle is None or needle in path:
                    if kind == LOST_RESPONSE and method not in WRITE_METHODS:
                        continue
                    if times <= 1:
                        del self._forced[index]
                    else:
                        self._forced[index] = (kind, needle, times - 1)
                    return self._count(kind)
            if self.rate <= 0:
                return None
            if self._rng is None:
                self._rng = random.Random(self.seed)
            if self._rng.random() >= self.rate:
                return None
            kinds = [k for k in self.kinds if k != LOST_RESPONSE or method in WRITE_METHODS]
            return self._count(self._rng.choice(kinds))

    def _count(self, kind: str) -> str:
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind


class FaultMiddleware:
    """ASGI middleware that applies a `FaultPlan` to every request of one vendor app.

    `rate_limited` builds the vendor's own 429 response; `exempt` lists path fragments that never fail
    (the sandbox's own control routes).
    """

    def __init__(self, app: ASGIApp, plan: FaultPlan, rate_limited: Callable[[], Response],
                 exempt: tuple[str, ...] = ("/_sandbox",)) -> None:
        self.app = app
        self.plan = plan
        self.rate_limited = rate_limited
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(part in scope["path"] for part in self.exempt):
            await self.app(scope, receive, send)
            return
        kind = self.plan.draw(scope["method"], scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == RATE_LIMITED:
            await self.rate_limited()(scope, receive, send)
        elif kind == SERVER_ERROR:
            await JSONResponse({"message": "Internal Server Error"}, status_code=500)(scope, receive, send)
        elif kind == UNAVAILABLE:
            await Response("Service Unavailable", status_code=503)(scope, receive, send)
        elif kind == SLOW:
            await asyncio.sleep(self.plan.slow_seconds)
            await self.app(scope, receive, send)
        elif kind == DROPPED:
            await _break_connection(send)
        elif kind == LOST_RESPONSE:
            await self.app(scope, receive, _swallow)  # the write commits...
            await _break_connection(send)  # ...and the client never hears of it


async def _swallow(message: dict) -> None:
    return None


async def _break_connection(send: Send) -> None:
    # A response that promises a body and never sends it: the client reads a broken connection.
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})
    raise _DropConnection("sandbox fault: connection dropped")
