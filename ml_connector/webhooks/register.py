"""Registering the receiver with Brex: one subscription per URL, for the event types the connector uses.

An existing subscription for the URL is updated in place (`PUT /v1/webhooks/{id}`: exactly our event
types, ACTIVE) or left alone when it already says that; otherwise one is created with `POST /v1/webhooks`
and an Idempotency-Key derived from the URL and the event types, so a repeated or retried registration
is the same request to Brex and cannot create a second subscription. (If Brex answers a key with a
subscription deleted since, the create is repeated once under a key derived from that stale answer.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ml_connector.errors import ConfigError
from ml_connector.webhooks.events import CONNECTOR_EVENT_TYPES

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class SubscriptionApi(Protocol):
    def webhook_subscriptions(self) -> list[dict]: ...

    def create_webhook_subscription(self, url: str, event_types: list[str], idempotency_key: str) -> dict: ...

    def update_webhook_subscription(self, subscription_id: str, url: str, event_types: list[str],
                                    status: str = "ACTIVE") -> dict: ...


@dataclass(frozen=True)
class Registration:
    action: str  # created, updated, unchanged
    subscription: dict


def idempotency_key(url: str, event_types: Sequence[str]) -> str:
    digest = hashlib.sha256("\n".join([url, *sorted(event_types)]).encode()).hexdigest()
    return f"ml-connector-webhook-{digest[:32]}"


def check_url(url: str) -> str:
    """Brex requires HTTPS; plain http is accepted for this machine only (the sandbox, a local tunnel)."""
    parts = urlsplit(url)
    is_local_http = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or is_local_http):
        raise ConfigError(f"{url!r} is not an HTTPS URL; Brex delivers webhooks to HTTPS only.", setting="--url",
                          fix="give the public https:// address of POST /webhooks/brex behind your load balancer")
    return url


def register_subscription(client: SubscriptionApi, url: str,
                          event_types: Sequence[str] = CONNECTOR_EVENT_TYPES) -> Registration:
    url = check_url(url)
    wanted = sorted(dict.fromkeys(event_types))
    existing = [s for s in client.webhook_subscriptions() if s.get("url") == url]
    if existing:
        current = existing[0]
        if sorted(current.get("event_types") or []) == wanted and current.get("status") == "ACTIVE":
            return Registration("unchanged", current)
        return Registration("updated", client.update_webhook_subscription(current["id"], url, wanted, "ACTIVE"))
    key = idempotency_key(url, wanted)
    created = client.create_webhook_subscription(url, wanted, key)
    if not any(s.get("id") == created.get("id") for s in client.webhook_subscriptions()):
        # Brex replayed an earlier create for this key whose subscription has since been deleted.
        created = client.create_webhook_subscription(url, wanted, f"{key}-after-{created.get('id')}")
    return Registration("created", created)
