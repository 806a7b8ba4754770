"""Where the receiver's signing secrets come from, and when they are read again.

1. `ML_CONNECTOR_BREX_WEBHOOK_SECRET`, else the vault's `brex webhook_secret`: one secret, or several
   comma-separated during a rotation. A fixed set, never refreshed: the operator changes it.
2. Otherwise Brex's `GET /v1/webhooks/secrets`, keeping ACTIVE and PENDING_REVOKE (a REVOKED secret no
   longer signs anything). Read on first use and cached in the process; read again when a signature fails
   against the cached set, at most once per `webhook_secret_refresh_seconds`, so a flood of forged
   requests costs Brex one call per interval, and a rotation on Brex's side is picked up by the first
   delivery signed with the new secret alone.

When no secret can be had (Brex unreachable), requests are answered 503 so Svix retries them later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from ml_connector.errors import ConfigError, ConnectorError
from ml_connector.webhooks.verify import SECRET_SETTING, WebhookVerifier

log = logging.getLogger("ml_connector.webhooks")

LIVE_STATUSES = ("ACTIVE", "PENDING_REVOKE")
FETCH_TIMEOUT = (3.0, 5.0)  # (connect, read): a refresh happens inside a delivery, which Svix gives 15 s


class SecretsUnavailable(ConnectorError):
    """No signing secret could be read: the request cannot be verified now, only later."""

    status = 503
    reason = "secrets_unavailable"


def split_secrets(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class WebhookSecrets:
    """The current verifier, from a fixed set of secrets or from `fetch` (which returns Brex's live ones)."""

    def __init__(self, *, configured: Sequence[str] | None = None, fetch: Callable[[], list[str]] | None = None,
                 refresh_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not configured and fetch is None:
            raise ConfigError("no Brex webhook secret is configured and none can be fetched.", setting=SECRET_SETTING,
                              fix=f"set {SECRET_SETTING}, or Brex credentials (ML_CONNECTOR_BREX_API_TOKEN)")
        self._fetch = None if configured else fetch
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._verifier = WebhookVerifier(list(configured)) if configured else None
        self._fetched_at: float | None = None
        self.fetch_count = 0  # reads of Brex's secrets, for /metrics

    @property
    def is_fixed(self) -> bool:
        return self._fetch is None

    @property
    def cached(self) -> WebhookVerifier | None:
        """The verifier if the secrets are at hand (no Brex call needed), else None."""
        return self._verifier

    def verifier(self) -> WebhookVerifier:
        """The verifier for the cached secrets, reading them from Brex on first use."""
        current = self._verifier
        if current is not None:
            return current
        with self._lock:
            if self._verifier is None:
                if self._fetched_at is not None and not self._is_due():
                    raise SecretsUnavailable("Brex's webhook secrets could not be read; retrying shortly")
                self._load()
            return self._verifier

    def refreshed(self, failed: WebhookVerifier) -> WebhookVerifier | None:
        """A verifier to try again with after `failed` rejected a signature: one holding secrets read from
        Brex now (or by a concurrent request since), or None when the set is fixed or was read too recently."""
        if self._fetch is None:
            return None
        with self._lock:
            if self._verifier is not failed:
                return self._verifier  # another request refreshed meanwhile
            if not self._is_due():
                return None
            self._load()
            return self._verifier

    def _is_due(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._refresh_seconds

    def _load(self) -> None:
        self._fetched_at = self._clock()
        self.fetch_count += 1
        try:
            secrets = self._fetch()
        except ConnectorError as error:
            # The type only: a vendor's message is not ours to log, and it may quote a request.
            log.warning("reading Brex's webhook secrets failed: %s", type(error).__name__)
            raise SecretsUnavailable("Brex's webhook secrets could not be read; retrying shortly") from None
        try:
            self._verifier = WebhookVerifier(secrets)
        except ConfigError:
            log.warning("Brex listed no usable webhook secret (%d live)", len(secrets))
            raise SecretsUnavailable("Brex lists no usable webhook secret; retrying shortly") from None
        log.info("read %d live webhook secret(s) from Brex", len(secrets))


def brex_secrets_fetcher(client) -> Callable[[], list[str]]:
    """Reads the live secrets through a `BrexClient`."""
    def fetch() -> list[str]:
        return [s["secret"] for s in client.webhook_secrets()
                if isinstance(s, dict) and s.get("status") in LIVE_STATUSES and s.get("secret")]
    return fetch


def secrets_from_settings(settings, vault=None) -> WebhookSecrets:
    """The configured secrets, else Brex's, through a client that fails fast (a refresh runs inside a
    delivery)."""
    from ml_connector.credentials import resolve_secret
    from ml_connector.http import RetryPolicy
    from ml_connector.sources.brex import BrexClient

    configured = resolve_secret(settings, vault, "brex", "webhook_secret")
    refresh = settings.webhook_secret_refresh_seconds
    if configured:
        return WebhookSecrets(configured=split_secrets(configured), refresh_seconds=refresh)
    try:
        client = BrexClient.from_settings(settings, vault, retry=RetryPolicy(max_attempts=2, base_delay=0.2,
                                                                             max_delay=1.0), timeout=FETCH_TIMEOUT)
    except ConfigError:
        raise ConfigError("no Brex webhook secret is configured, and no Brex credentials to read one with.",
                          setting=SECRET_SETTING,
                          fix=f"set {SECRET_SETTING}, or ML_CONNECTOR_BREX_API_TOKEN (or the OAuth2 settings) so "
                              "the receiver reads GET /v1/webhooks/secrets") from None
    return WebhookSecrets(fetch=brex_secrets_fetcher(client), refresh_seconds=refresh)
