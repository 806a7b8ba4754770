"""Verifying a Brex webhook: Svix's signature over `id.timestamp.body`, checked with the Standard Webhooks
library against every live secret.

What is checked, in order, and what each failure raises (every error names the check, never a secret
or a signature):
1. the three headers, `webhook-id`, `webhook-timestamp`, `webhook-signature`, or the same under `svix-`
   (Svix sends `svix-` unless the prefix is white-labelled to `webhook-`; Brex does not say which it
   sends), in any letter case -> MissingHeaders (400); a timestamp that is not whole unix seconds ->
   MalformedHeaders (400);
2. the timestamp within 5 minutes of now, both ways (the reference libraries' tolerance; Brex states
   none) -> StaleTimestamp / FutureTimestamp (401);
3. one `v1,` signature in the space-separated header matching one secret (during a rotation Brex sends
   two signatures and lists two secrets), compared in constant time by the library -> BadSignature (401);
4. the body is a JSON object with an `event_type` (every Brex event has one) -> MalformedPayload (400),
   parsed only once the signature holds. A body that is not UTF-8 is refused (400) before the signature
   check: it cannot be JSON, and the library verifies text.

The library strips an optional `whsec_` prefix and pads unpadded base64, as Svix's own verifier does.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from ml_connector.errors import ConfigError, ConnectorError

TOLERANCE = timedelta(minutes=5)  # fixed in the Standard Webhooks library as well
HEADER_PREFIXES = ("webhook-", "svix-")
SECRET_SETTING = "ML_CONNECTOR_BREX_WEBHOOK_SECRET"


class WebhookRejected(ConnectorError):
    """A delivery that is not accepted. `reason` is a short stable name for metrics and logs."""

    status = 400
    reason = "rejected"


class MissingHeaders(WebhookRejected):
    reason = "missing_headers"


class MalformedHeaders(WebhookRejected):
    reason = "malformed_headers"


class StaleTimestamp(WebhookRejected):
    status = 401
    reason = "stale_timestamp"


class FutureTimestamp(WebhookRejected):
    status = 401
    reason = "future_timestamp"


class BadSignature(WebhookRejected):
    status = 401
    reason = "bad_signature"


class MalformedPayload(WebhookRejected):
    reason = "malformed_json"


@dataclass(frozen=True)
class VerifiedEvent:
    event_id: str  # the Webhook-Id: the same on every retry of one message, so the dedupe key
    timestamp: datetime  # when this attempt was signed
    payload: dict

    @property
    def event_type(self) -> str:
        return str(self.payload["event_type"])


def signed_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """(id, timestamp, signature) under either prefix; `headers` may be any case (Starlette's are not)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    values = []
    for name in ("id", "timestamp", "signature"):
        value = next((lowered[p + name] for p in HEADER_PREFIXES if lowered.get(p + name)), None)
        if value is None:
            raise MissingHeaders(f"the webhook-{name} header (or svix-{name}) is missing")
        values.append(value.strip())
    return values[0], values[1], values[2]


class WebhookVerifier:
    """Verifies deliveries against a fixed set of secrets. Build a new one when the secrets change."""

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ConfigError("no Brex webhook signing secret is available.", setting=SECRET_SETTING,
                              fix=f"set {SECRET_SETTING} (comma-separated during a rotation), or Brex credentials "
                                  "so the receiver can read GET /v1/webhooks/secrets")
        self._webhooks = []
        for position, secret in enumerate(secrets, start=1):
            try:
                self._webhooks.append(Webhook(secret.strip()))
            except (EmptyWebhookSecretError, binascii.Error, ValueError):
                raise ConfigError(f"Brex webhook secret {position} of {len(secrets)} is not a whsec_ base64 secret.",
                                  setting=SECRET_SETTING, fix="copy the secret from GET /v1/webhooks/secrets "
                                                              "exactly") from None

    @property
    def secret_count(self) -> int:
        return len(self._webhooks)

    def verify(self, body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> VerifiedEvent:
        message_id, timestamp_text, signature = signed_headers(headers)
        sent_at = _timestamp(timestamp_text)
        now = now or datetime.now(UTC)
        if sent_at < now - TOLERANCE:
            raise StaleTimestamp(f"webhook {message_id} was signed more than 5 minutes ago")
        if sent_at > now + TOLERANCE:
            raise FutureTimestamp(f"webhook {message_id} is signed more than 5 minutes in the future")
        text = _text(body, message_id)
        canonical = {"webhook-id": message_id, "webhook-timestamp": timestamp_text, "webhook-signature": signature}
        if not any(self._matches(webhook, text, canonical) for webhook in self._webhooks):
            raise BadSignature(f"webhook {message_id}: no signature matches a current secret")
        return VerifiedEvent(message_id, sent_at, _payload(text, message_id))

    @staticmethod
    def _matches(webhook: Webhook, text: str, headers: dict[str, str]) -> bool:
        try:
            webhook.verify(text, headers, json_parse=False)
            return True
        except (WebhookVerificationError, ValueError, binascii.Error):
            # ValueError / binascii.Error: a signature entry the library cannot split or decode.
            return False


def _timestamp(text: str) -> datetime:
    if not text.isdigit() or len(text) > 12:
        raise MalformedHeaders("the webhook-timestamp header must be whole unix seconds")
    return datetime.fromtimestamp(int(text), UTC)


def _text(body: bytes, message_id: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8 cannot be JSON, and Svix signs the text it sent: answer as for bad JSON.
        raise MalformedPayload(f"webhook {message_id}: the body is not UTF-8 JSON") from None


def _payload(text: str, message_id: str) -> dict:
    try:
        payload = json.loads(text)
    except ValueError:
        raise MalformedPayload(f"webhook {message_id}: the body is not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("event_type"), str) or not payload["event_type"]:
        raise MalformedPayload(f"webhook {message_id}: the body is not a JSON object with an event_type")
    return payload
