"""The `requestid` query parameter: a write repeated with the same id is answered, not executed, again.

Intuit (blog "Request ID update", notes section 6): a requestid is unique per request per company, at most
50 characters, and a repeat gets "the same response as it did for the original request". The sandbox keeps
every answer the service gave a write carrying a requestid (success or Fault; not gateway answers such as
401 or 429, which never reached the service) for `config.limit("quickbooks.requestid_window", 86400)`
seconds: the retention window is UNCONFIRMED, 24 hours is chosen. A repeat with a different body replays
the original too (notes: unconfirmed). A repeat that arrives while the original is still running answers
600 "Duplicate Request ID" (code from Intuit's table; when QuickBooks uses it is UNCONFIRMED). An id longer
than 50 characters or with characters other than letters, digits, '-' and '_' is 2130.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.quickbooks import errors

REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


class RequestLog:
    def __init__(self, config: SandboxConfig, clock=time.time) -> None:
        self.window = float(config.limit("quickbooks.requestid_window", 86400))
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, dict] = OrderedDict()  # "realm|id" -> {at, status, body, type}
        self._running: set[str] = set()
        self.replayed = 0

    @staticmethod
    def check(request_id: str) -> None:
        if not REQUEST_ID.match(request_id):
            raise errors.invalid_request_id(request_id)

    def _forget_old(self) -> None:
        horizon = self._clock() - self.window
        while self._answers and next(iter(self._answers.values()))["at"] < horizon:
            self._answers.popitem(last=False)

    def begin(self, realm: str, request_id: str) -> dict | None:
        """The recorded answer to replay, or None after marking the request as running."""
        key = f"{realm}|{request_id}"
        with self._lock:
            self._forget_old()
            if key in self._answers:
                self.replayed += 1
                return self._answers[key]
            if key in self._running:
                raise errors.duplicate_request_id(request_id)
            self._running.add(key)
            return None

    def finish(self, realm: str, request_id: str, answer: dict | None) -> None:
        """Record the service's answer ({status, body, type}); None forgets the attempt (not answered)."""
        key = f"{realm}|{request_id}"
        with self._lock:
            self._running.discard(key)
            if answer is not None:
                self._answers[key] = {"at": self._clock(), **answer}

    def dump(self) -> dict:
        with self._lock:
            self._forget_old()
            return {"answers": [[key, dict(value)] for key, value in self._answers.items()]}

    def load(self, data: dict) -> None:
        with self._lock:
            self._answers = OrderedDict((key, dict(value)) for key, value in data.get("answers", []))
            self._forget_old()
