"""Brex webhooks in the sandbox: subscriptions, signing secrets with rotation, and Svix-signed delivery.

Brex delivers through Svix. Each delivery carries `webhook-id`, `webhook-timestamp` and
`webhook-signature`, and the same values under `svix-id`, `svix-timestamp` and `svix-signature`: Svix
sends the `svix-` prefix unless a customer has it white-labelled to `webhook-`, and whether Brex's
deliveries carry one set or both is not documented (notes §6), so the sandbox sends both and a
verifier must accept either. The signature is `v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`,
keyed with the base64-decoded part of the `whsec_` secret; during a rotation there is one signature per
live secret (ACTIVE and PENDING_REVOKE), space-separated. Retries and the delivery log are in
brex_deliveries.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import Future

from ml_connector.sandbox.brex_deliveries import DeliveryQueue, Message
from ml_connector.sandbox.brex_params import bad_request
from ml_connector.sandbox.catalog import stable_id

EVENT_TYPES = ("REFERRAL_CREATED", "REFERRAL_ACTIVATED", "REFERRAL_APPLICATION_STATUS_CHANGED",
               "TRANSFER_PROCESSED", "TRANSFER_FAILED", "EXPENSE_PAYMENT_UPDATED", "USER_UPDATED",
               "PARTNERSHIP_INTEGRATION_CONNECTION_UPDATED", "ACCOUNTING_RECORD_READY_FOR_EXPORT")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature, exactly as Svix and the Standard Webhooks libraries compute it."""
    key = base64.b64decode(_pad(secret.removeprefix("whsec_")))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)


class BrexWebhooks:
    """Subscriptions and secrets of one sandbox company. All state is plain JSON for --state."""

    def __init__(self, seed: int, first_secret: str, retry_scale: float = 1.0) -> None:
        self.seed = seed
        self.first_secret = first_secret
        self.rotations = 0
        self.subscriptions: dict[str, dict] = {}
        self.idempotent: dict[str, dict] = {}  # Idempotency-Key of POST /v1/webhooks -> first response
        self.delivered = 0  # messages sent so far; part of each new webhook id
        self.queue = DeliveryQueue(self.signed_headers, retry_scale)

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

    # -- delivery ---------------------------------------------------------------------------------

    def signed_headers(self, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """Svix's headers for one attempt, signed with every live secret at the time of the attempt."""
        signature = self.signature_header(message_id, timestamp, body)
        return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature,
                "svix-id": message_id, "svix-timestamp": str(timestamp), "svix-signature": signature}

    def send(self, event_type: str, payload: dict, urls: list[str] | None = None, message_id: str | None = None,
             timestamp: int | None = None) -> list[Future]:
        """Queue one event for `urls` (default: every active subscriber of its type), one message id for
        all of them as Svix does. Each future holds the outcome of that endpoint's first attempt."""
        self.delivered += 1
        message_id = message_id or "msg_" + stable_id("", self.seed, "delivery", self.delivered, time.time_ns())
        body = json.dumps(payload, separators=(",", ":")).encode()
        targets = self.targets(event_type) if urls is None else urls
        return [self.queue.submit(Message(message_id, url, event_type, body, timestamp)) for url in targets]

    def dump(self) -> dict:
        return {"rotations": self.rotations, "subscriptions": self.subscriptions, "delivered": self.delivered,
                "idempotent": self.idempotent}

    def load(self, data: dict) -> None:
        self.rotations = int(data.get("rotations", 0))
        self.subscriptions = dict(data.get("subscriptions", {}))
        self.delivered = int(data.get("delivered", 0))
        self.idempotent = dict(data.get("idempotent", {}))


def subscription_body(body: dict) -> dict:
    """A create or update body checked as Brex checks it: an HTTPS url and known event types."""
    url, event_types = body.get("url"), body.get("event_types")
    if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        # Brex requires HTTPS; the sandbox also takes local http so tests can receive deliveries.
        raise bad_request("url is invalid: it must be an HTTPS URL")
    if not isinstance(event_types, list) or not event_types:
        raise bad_request("event_types must list at least one event type")
    unknown = [e for e in event_types if e not in EVENT_TYPES]
    if unknown:
        raise bad_request(f"event_types does not accept {', '.join(map(str, unknown))}")
    return body
