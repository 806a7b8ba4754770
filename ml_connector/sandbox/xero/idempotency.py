"""`Idempotency-Key` on PUT and POST: a repeat returns the first answer and changes nothing.

The OAS documents only the header ("safely retry requests without the risk of duplicate processing. 128
character max."); retention, replay and a same-key-different-request answer are unconfirmed (notes §7), so the
sandbox CHOOSES, per tenant:
- a key is remembered for `xero.idempotency_seconds` (default 86,400: 24 hours) from its first use;
- a repeat with the same method, path, query and body within that window gets the first answer again (status
  and body, byte for byte, including the envelope's `Id`) and creates nothing, whether the first answer was a
  success or a 400/404 refusal (any answer the handler gave);
- the same key with a different method, path, query or body is refused with 400 ValidationException
  "The Idempotency-Key '<key>' was already used for a different request." and creates nothing;
- a key longer than 128 characters is refused with 400 ValidationException;
- answers the gate gives before a handler runs (401, 403, 429) are not remembered, so a retry after them runs.
"""

from __future__ import annotations

import hashlib
import threading
import time

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.xero.errors import invalid_request

MAX_KEY_LENGTH = 128


class IdempotencyCache:
    def __init__(self, config: SandboxConfig, clock=time.time) -> None:
        self.window = float(config.limit("xero.idempotency_seconds", 86_400))
        self._clock = clock
        self._lock = threading.Lock()
        self.entries: dict[str, dict] = {}  # "<tenant>|<key>" -> {fingerprint, status, body, at}
        self.replays = 0

    @staticmethod
    def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
        return hashlib.sha256(f"{method} {path.lower()}?{query}\n".encode() + body).hexdigest()

    def check(self, tenant: str, key: str, fingerprint: str) -> tuple[int, str, str] | None:
        """The remembered (status, body text, media type) for a repeat, None for a first use; raises on misuse."""
        if len(key) > MAX_KEY_LENGTH:
            raise invalid_request(f"The Idempotency-Key must be {MAX_KEY_LENGTH} characters or fewer.")
        with self._lock:
            entry = self.entries.get(f"{tenant}|{key}")
            if entry is None or self._clock() >= entry["at"] + self.window:
                return None
            if entry["fingerprint"] != fingerprint:
                raise invalid_request(f"The Idempotency-Key '{key}' was already used for a different request.")
            self.replays += 1
            return entry["status"], entry["body"], entry["media_type"]

    def remember(self, tenant: str, key: str, fingerprint: str, status: int, body: str, media_type: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self.entries) > 10_000:  # forget what has aged out, now and then
                self.entries = {k: e for k, e in self.entries.items() if now < e["at"] + self.window}
            self.entries[f"{tenant}|{key}"] = {"fingerprint": fingerprint, "status": status, "body": body,
                                               "media_type": media_type, "at": now}

    def dump(self) -> dict:
        with self._lock:
            return {"entries": {k: dict(e) for k, e in self.entries.items()}}

    def load(self, data: dict) -> None:
        with self._lock:
            self.entries = {k: dict(e) for k, e in data.get("entries", {}).items()}
