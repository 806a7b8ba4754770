"""Brex webhooks in the sandbox: subscriptions, signing secrets with rotation, and Svix-signed delivery.

Brex delivers through Svix. Each delivery carries `webhook-id`, `webhook-timestamp` and
`webhook-signature` (and the same values under `svix-*`, which Svix sends unless white-labelled; whether
Brex sends both is not documented, so a verifier must accept either). The signature is
`v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`, keyed with the base64-decoded part of the
`whsec_` secret; during a rotation there is one signature per live secret, space-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import requests

from ml_connector.sandbox.catalog import stable_id

EVENT_TYPES = ("REFERRAL_CREATED", "REFERRAL_ACTIVATED", "REFERRAL_APPLICATION_STATUS_CHANGED",
               "TRANSFER_PROCESSED", "TRANSFER_FAILED", "EXPENSE_PAYMENT_UPDATED", "USER_UPDATED",
               "PARTNERSHIP_INTEGRATION_CONNECTION_UPDATED", "ACCOUNTING_RECORD_READY_FOR_EXPORT")
DELIVERY_TIMEOUT_SECONDS = 15  # Svix counts a 2xx within 15 s as delivered


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature, exactly as Svix and the Standard Webhooks libraries compute it."""
    key = base64.b64decode(_pad(secret.removeprefix("whsec_")))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)


class BrexWebhooks:
    """Subscriptions and secrets of one sandbox company. All state is plain JSON for --state."""

    def __init__(self, seed: int, first_secret: str) -> None:
        self.seed = seed
        self.first_secret = first_secret
        self.rotations = 0
        self.subscriptions: dict[str, dict] = {}
        self.idempotent: dict[str, dict] = {}  # Idempotency-Key of POST /v1/webhooks -> first response
        self.delivered = 0

    # -- secrets -----------------------------------------------------------------------------------

    def _secret(self, generation: int) -> str:
        if generation == 0:
            return self.first_secret
        key = hashlib.sha256(f"{self.seed}:svix:{generation}".encode()).digest()[:24]
        return "whsec_" + base64.b64encode(key).decode()

    def secrets(self) -> list[dict]:
        """What GET /v1/webhooks/secrets returns: the new key first, then the one about to be revoked."""
        current = [{"secret": self._secret(self.rotations), "status": "ACTIVE"}]
        if self.rotations:
            current.append({"secret": self._secret(self.rotations - 1), "status": "PENDING_REVOKE"})
        return current

    def rotate(self) -> list[dict]:
        self.rotations += 1
        return self.secrets()

    def signature_header(self, message_id: str, timestamp: int, body: bytes) -> str:
        return " ".join(sign(s["secret"], message_id, timestamp, body) for s in self.secrets())

    # -- subscriptions -----------------------------------------------------------------------------

    def create(self, body: dict) -> dict:
        subscription_id = stable_id("wsub_", self.seed, "subscription", len(self.subscriptions))
        subscription = {"id": subscription_id, "group_id": body.get("group_id"), "url": body["url"],
                        "event_types": list(body["event_types"]), "status": "ACTIVE"}
        self.subscriptions[subscription_id] = subscription
        return subscription

    def targets(self, event_type: str) -> list[str]:
        return [s["url"] for s in self.subscriptions.values()
                if s["status"] == "ACTIVE" and event_type in s["event_types"]]

    # -- delivery ----------------------------------------------------------------------------------

    def deliver(self, url: str, payload: dict, message_id: str | None = None,
                timestamp: int | None = None) -> dict:
        """POST one signed event to `url` now; report what the receiver answered. One attempt, no retry."""
        self.delivered += 1
        message_id = message_id or "msg_" + stable_id("", self.seed, "delivery", self.delivered, time.time_ns())
        timestamp = int(time.time()) if timestamp is None else timestamp
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = self.signature_header(message_id, timestamp, body)
        headers = {"content-type": "application/json",
                   "webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature,
                   "svix-id": message_id, "svix-timestamp": str(timestamp), "svix-signature": signature}
        outcome = {"url": url, "webhook_id": message_id, "timestamp": timestamp, "status_code": None,
                   "delivered": False, "error": None}
        try:
            response = requests.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS,
                                     allow_redirects=False)
            outcome["status_code"] = response.status_code
            outcome["delivered"] = 200 <= response.status_code < 300  # Svix: 3xx counts as a failure
        except requests.RequestException as error:
            outcome["error"] = type(error).__name__
        return outcome

    def dump(self) -> dict:
        return {"rotations": self.rotations, "subscriptions": self.subscriptions, "delivered": self.delivered,
                "idempotent": self.idempotent}

    def load(self, data: dict) -> None:
        self.rotations = int(data.get("rotations", 0))
        self.subscriptions = dict(data.get("subscriptions", {}))
        self.delivered = int(data.get("delivered", 0))
        self.idempotent = dict(data.get("idempotent", {}))
