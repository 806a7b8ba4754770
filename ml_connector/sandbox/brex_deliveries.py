"""Svix-style delivery for the Brex sandbox: every message to every endpoint, retried in the background.

Svix attempts a message immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failed
attempt (docs.svix.com/retries); a 2xx within 15 s is a success, any other status (3xx included), a
timeout or a refused connection is a failure. Each attempt is signed anew at its own time, with every live
secret (two signatures during a rotation), and keeps the message's webhook-id, so a receiver deduplicates
retries by that id. Tests compress the schedule with `limit_overrides["brex.webhook_retry_scale"]`
(0.001 turns 5 s into 5 ms and 10 h into 36 s). Svix also disables an endpoint after 5 days of failures;
the sandbox does not model that.

Deliveries run on a few daemon threads, so the sandbox request that caused an event is not held while a
receiver answers (the receiver may be served by the same process). `GET /_sandbox/webhooks/deliveries`
shows the log: every message, its attempts and their status codes.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

RETRY_DELAYS_SECONDS = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
DELIVERY_TIMEOUT_SECONDS = 15  # Svix counts a 2xx within 15 s as delivered
WORKERS = 4
LOG_SIZE = 2000  # messages kept in the delivery log, newest last

# (webhook id, timestamp, body) -> the signed headers of one attempt
Signer = Callable[[str, int, bytes], dict[str, str]]


@dataclass
class Message:
    """One event on its way to one endpoint."""

    webhook_id: str
    url: str
    event_type: str
    body: bytes
    first_timestamp: int | None = None  # a test may sign the first attempt with a chosen timestamp
    attempts: list[dict] = field(default_factory=list)
    status: str = "pending"  # pending, delivered, failed
    next_attempt_at: float | None = None  # unix seconds
    first_attempt: Future = field(default_factory=Future)

    def view(self) -> dict:
        return {"webhook_id": self.webhook_id, "url": self.url, "event_type": self.event_type,
                "status": self.status, "attempts": list(self.attempts),
                "next_attempt_at": _iso(self.next_attempt_at) if self.next_attempt_at else None}


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")


class DeliveryQueue:
    """Messages due for an attempt, worked by daemon threads started on first use."""

    def __init__(self, sign: Signer, retry_scale: float = 1.0, workers: int = WORKERS) -> None:
        if retry_scale < 0:
            raise ValueError("brex.webhook_retry_scale must not be negative")
        self.sign = sign
        self.delays = tuple(d * retry_scale for d in RETRY_DELAYS_SECONDS)
        self._workers = workers
        self._due: list[tuple[float, int, Message]] = []  # (monotonic due time, sequence, message)
        self._sequence = itertools.count()
        self._log: OrderedDict[tuple[str, str], Message] = OrderedDict()
        self._condition = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, message: Message) -> Future:
        """Queue the first attempt now; the future holds that attempt's outcome."""
        with self._condition:
            self._start_workers()
            self._log[(message.webhook_id, message.url)] = message
            while len(self._log) > LOG_SIZE:
                self._log.popitem(last=False)
            self._schedule(message, 0.0)
        return message.first_attempt

    def log(self, webhook_id: str | None = None) -> list[dict]:
        with self._condition:
            return [m.view() for m in self._log.values() if webhook_id is None or m.webhook_id == webhook_id]

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    # -- workers -----------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        if self._threads:
            return
        for index in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"brex-webhooks-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _schedule(self, message: Message, delay: float) -> None:
        message.next_attempt_at = time.time() + delay
        heapq.heappush(self._due, (time.monotonic() + delay, next(self._sequence), message))
        self._condition.notify()

    def _next(self) -> Message | None:
        with self._condition:
            while not self._closed:
                if self._due:
                    wait = self._due[0][0] - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._due)[2]
                    self._condition.wait(wait)
                else:
                    self._condition.wait()
            return None

    def _work(self) -> None:
        while (message := self._next()) is not None:
            outcome = self._attempt(message)
            with self._condition:
                message.attempts.append(outcome)
                if outcome["delivered"]:
                    message.status, message.next_attempt_at = "delivered", None
                elif len(message.attempts) < len(self.delays):
                    self._schedule(message, self.delays[len(message.attempts)])
                else:
                    message.status, message.next_attempt_at = "failed", None
            if len(message.attempts) == 1:
                message.first_attempt.set_result(outcome)

    def _attempt(self, message: Message) -> dict:
        is_first = not message.attempts
        timestamp = message.first_timestamp if is_first and message.first_timestamp is not None else int(time.time())
        headers = {"content-type": "application/json", **self.sign(message.webhook_id, timestamp, message.body)}
        outcome = {"attempt": len(message.attempts) + 1, "at": _iso(time.time()), "url": message.url,
                   "webhook_id": message.webhook_id, "timestamp": timestamp, "status_code": None,
                   "delivered": False, "error": None, "duration_ms": None}
        started = time.monotonic()
        try:
            response = requests.post(message.url, data=message.body, headers=headers,
                                     timeout=DELIVERY_TIMEOUT_SECONDS, allow_redirects=False)
            outcome["status_code"] = response.status_code
            outcome["delivered"] = 200 <= response.status_code < 300  # Svix: 3xx counts as a failure
        except requests.RequestException as error:
            outcome["error"] = type(error).__name__
        outcome["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        return outcome
