"""One HTTP layer for every client: timeouts, a proactive rate limiter, retries, and the error taxonomy.

- Every call has a timeout (connect, read).
- A `RateLimiter` per (system, organisation) keeps us under the documented limit instead of waiting
  for 429s; it is shared by every client of that key in the process.
- Reads (and writes the server deduplicates, e.g. Brex `Idempotency-Key`) are retried with exponential
  backoff and full jitter, honouring `Retry-After` and the vendors' reset headers.
- A write that may have reached the server (timeout after sending, dropped connection, 5xx) raises
  `Uncertain` and is never resent here: the posting protocol searches for it first.
- A 429 on any request is retried: the server refused it before doing anything.

Logs carry method, path, status and timing only: never query strings, headers or bodies, which may hold
secrets (Zoho's token endpoint takes the refresh token as a query parameter).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import requests
import urllib3

from ml_connector.errors import (
    AuthError,
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    Uncertain,
    ValidationRejected,
)
from ml_connector.redact import guard_library_logs

log = logging.getLogger("ml_connector.http")
guard_library_logs()  # urllib3's DEBUG request lines would carry query strings (Zoho's refresh token)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimiter:
    """At most `limit` requests in any `window_seconds`, blocking the caller until there is room."""

    def __init__(self, limit: int, window_seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        if limit < 1:
            raise ValueError("a rate limit allows at least one request")
        self.limit = limit
        self.window_seconds = window_seconds
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._sleep = sleep
        self.waited_seconds = 0.0  # how long callers were held back, for benchmarks and metadata

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.window_seconds:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self._sent[0] + self.window_seconds - now
            self.waited_seconds += wait
            self._sleep(max(wait, 0.001))

    def pause(self, seconds: float) -> None:
        """The server told us to wait: hold every caller of this limiter back for `seconds`."""
        with self._lock:
            until = time.monotonic() + seconds - self.window_seconds
            self._sent = deque([until] * self.limit)


_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(system: str, key: str, limit: int, window_seconds: float) -> RateLimiter:
    """The process-wide limiter for one (system, organisation): clients of the same org share it."""
    with _limiters_lock:
        limiter = _limiters.get((system, key))
        if limiter is None or (limiter.limit, limiter.window_seconds) != (limit, window_seconds):
            limiter = RateLimiter(limit, window_seconds)
            _limiters[(system, key)] = limiter
        return limiter


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter over an exponential ceiling; a server's Retry-After is a floor."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        delay = random.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


# A vendor hook: look at a response and return the error it means (or None when it is a success).
Classifier = Callable[[requests.Response], ConnectorError | None]


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def default_classifier(system: str) -> Classifier:
    def classify(response: requests.Response) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        text = response.text[:300]
        if status == 429:
            return RateLimited(f"{system} throttled the request (429)", system=system,
                               retry_after=retry_after_seconds(response))
        if status in (401, 403):
            return AuthError(f"{system} refused the credentials ({status}): {text}", system=system, status=status)
        if status == 404:
            return NotFound(f"{system} has no such resource ({status})", system=system)
        if status >= 500:
            return RetryableError(f"{system} failed on its side ({status})", system=system, status=status)
        return ValidationRejected(f"{system} rejected the request ({status}): {text}", system=system,
                                  status=status, vendor_message=text)
    return classify


class HttpClient:
    """Requests to one system, with timeouts, rate limiting, retries and typed errors."""

    def __init__(self, system: str, base_url: str, *, limiter: RateLimiter | None = None,
                 classify: Classifier | None = None, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0), session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.classify = classify or default_classifier(system)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.session = session or requests.Session()
        self._sleep = sleep
        self.calls = 0  # requests actually sent, for benchmarks ("calls per posted record")

    def request(self, method: str, path: str, *, params: dict | list | None = None, json: object = None,
                data: dict | None = None, files: dict | None = None, headers: dict | None = None,
                is_idempotent: bool | None = None, base_url: str | None = None) -> requests.Response:
        """Send one request, retrying what is safe to retry. `is_idempotent` defaults to True for reads."""
        method = method.upper()
        idempotent = method in READ_METHODS if is_idempotent is None else is_idempotent
        if path.startswith(("http://", "https://")):
            url = path  # a link the service gave us (a receipt download)
        else:
            url = f"{(base_url or self.base_url).rstrip('/')}/{path.lstrip('/')}"
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None:
                self.limiter.acquire()
            started = time.monotonic()
            try:
                self.calls += 1
                response = self.session.request(method, url, params=params, json=json, data=data, files=files,
                                                headers=headers, timeout=self.timeout)
            except requests.exceptions.ConnectionError as exc:
                # Refused before anything was sent: safe to retry even for writes.
                sent = not _is_connect_failure(exc)
                error: ConnectorError = self._transport_error(method, path, idempotent, sent, exc)
            except requests.exceptions.Timeout as exc:
                sent = not isinstance(exc, requests.exceptions.ConnectTimeout)
                error = self._transport_error(method, path, idempotent, sent, exc)
            except requests.exceptions.RequestException as exc:  # broken body, too many redirects...
                error = self._transport_error(method, path, idempotent, True, exc)
            else:
                log.debug("%s %s %s -> %s in %.0f ms", self.system, method, path, response.status_code,
                          (time.monotonic() - started) * 1000)
                error = self.classify(response)
                if error is None:
                    return response
                if isinstance(error, RetryableError) and not isinstance(error, RateLimited) and not idempotent:
                    # A 5xx on a write: it may have committed before failing.
                    error = Uncertain(f"{self.system} answered {response.status_code} to {method} {path}; "
                                      f"the write may have landed", system=self.system, method=method, path=path)
            if isinstance(error, RateLimited) and self.limiter is not None and error.retry_after:
                self.limiter.pause(error.retry_after)
            if not self._should_retry(error, attempt):
                raise error
            delay = self.retry.delay(attempt, getattr(error, "retry_after", None))
            log.info("%s %s %s: %s; retry %d in %.1fs", self.system, method, path, type(error).__name__,
                     attempt, delay)
            self._sleep(delay)

    def _transport_error(self, method: str, path: str, idempotent: bool, sent: bool,
                         exc: Exception) -> ConnectorError:
        kind = type(exc).__name__
        if sent and not idempotent:
            return Uncertain(f"{self.system} {method} {path}: {kind} after sending; the write may have landed",
                             system=self.system, method=method, path=path)
        return RetryableError(f"{self.system} {method} {path}: {kind}", system=self.system)

    def _should_retry(self, error: ConnectorError, attempt: int) -> bool:
        if attempt >= self.retry.max_attempts:
            return False
        if isinstance(error, RateLimited):
            return not error.is_daily_quota
        return isinstance(error, RetryableError)


def _is_connect_failure(exc: BaseException) -> bool:
    """Whether the connection never opened (refused, unknown host): then nothing was sent. Decided from the
    exception types urllib3 wraps (its NewConnectionError covers refusals and failed name lookups)."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        stack.extend([*current.args, current.__cause__, current.__context__,
                      getattr(current, "reason", None)])
    return False
