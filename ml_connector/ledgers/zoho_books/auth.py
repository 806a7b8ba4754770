"""Zoho OAuth2: access tokens from the refresh-token grant, shared and refreshed at most once at a time.

- The token response's `api_domain` decides where every Books call goes, so it is checked: one of
  Zoho's data centres, or an origin the operator allowed explicitly (the sandbox). Anything else is
  refused before a single request carries the token there.
- Tokens are refreshed proactively (at 55 of 60 minutes), under a lease in the store's `token_state`
  row, so that many processes (a backfill's runs) share one token and the accounts server's cap of ten
  tokens per ten minutes is never reached.
- With a vault (master key set) the access token itself is stored encrypted and shared across
  processes; without one it stays in this process's memory and only the lease is shared.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.errors import AuthError, ConfigError, RateLimited
from ml_connector.http import HttpClient, RetryPolicy
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.schema import token_state, utc_now
from ml_connector.vault import Vault

# The Books API domains of Zoho's data centres (introduction page of the Books API v3).
ZOHO_API_DOMAINS = frozenset({
    "https://www.zohoapis.com", "https://www.zohoapis.eu", "https://www.zohoapis.in",
    "https://www.zohoapis.com.au", "https://www.zohoapis.jp", "https://www.zohoapis.ca",
    "https://www.zohoapis.com.cn", "https://www.zohoapis.sa",
})
LEASE_SECONDS = 30
MAX_REFRESH_MARGIN = timedelta(minutes=5)  # refresh at 55 minutes of a 60-minute token


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_api_domain(api_domain: str, allowed: tuple[str, ...]) -> str:
    """The api_domain if it is a Zoho data centre or an allowed origin; AuthError otherwise."""
    domain = api_domain.rstrip("/")
    if domain.lower() in ZOHO_API_DOMAINS:
        return domain
    if origin(domain) in {origin(a) for a in allowed}:
        return domain
    raise AuthError(f"the Zoho accounts server returned api_domain {domain!r}, which is not one of Zoho's data "
                    f"centres; the token was refused. If this is intended (a sandbox), add its origin to "
                    f"ML_CONNECTOR_ZOHO_ALLOWED_API_DOMAINS.", system="zoho")


@dataclass(frozen=True)
class AccessToken:
    value: str
    api_domain: str
    expires_at: datetime
    lifetime: timedelta

    def needs_refresh(self, now: datetime) -> bool:
        margin = min(MAX_REFRESH_MARGIN, self.lifetime / 12)
        return now >= self.expires_at - margin


class ZohoTokenManager:
    """Gives out a valid access token; refreshes under a store lease so only one process refreshes."""

    def __init__(self, *, engine: Engine, accounts_url: str, client_id: str, client_secret: str,
                 refresh_token: str, allowed_api_domains: tuple[str, ...] = (), vault: Vault | None = None,
                 run_id: str | None = None, timeout: tuple[float, float] = (5.0, 30.0)) -> None:
        if not (client_id and client_secret and refresh_token):
            missing = [name for name, value in (("ML_CONNECTOR_ZOHO_CLIENT_ID", client_id),
                                                ("ML_CONNECTOR_ZOHO_CLIENT_SECRET", client_secret),
                                                ("ML_CONNECTOR_ZOHO_REFRESH_TOKEN", refresh_token)) if not value]
            raise ConfigError(f"Zoho credentials are incomplete: {', '.join(missing)} not set.",
                              setting=missing[0], fix="set them, or store the secrets with "
                              "`ml-connector credentials set zoho NAME`")
        self.engine = engine
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.allowed = allowed_api_domains
        self.vault = vault
        self.run_id = run_id
        self._http = HttpClient("zoho-accounts", accounts_url, retry=RetryPolicy(max_attempts=3), timeout=timeout)
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.refreshes = 0  # tokens this manager minted

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message (used to scrub vendor text)."""
        values = [self._client_secret, self._refresh_token]
        if self._token:
            values.append(self._token.value)
        return tuple(values)

    @property
    def api_domain(self) -> str | None:
        """The API domain of the token in hand, if any (for links; never triggers a refresh)."""
        return self._token.api_domain if self._token else None

    def token(self) -> AccessToken:
        with self._lock:
            now = utc_now()
            if self._token is None or self._token.needs_refresh(now):
                self._token = self._shared_token(now) or self._refresh_under_lease()
            return self._token

    def invalidate(self, rejected_value: str) -> None:
        """The API said the token is dead (code 57): forget it so the next call refreshes."""
        with self._lock:
            if self._token is not None and self._token.value == rejected_value:
                self._token = None
                with self.engine.begin() as connection:
                    connection.execute(token_state.update().where(self._row_filter())
                                       .values(access_token_ciphertext=None, expires_at=None))

    # -- shared state --------------------------------------------------------------------------------

    def _row_filter(self):
        return (token_state.c.system == "zoho") & (token_state.c.account == self.client_id)

    def _ensure_row(self) -> None:
        with self.engine.begin() as connection:
            if connection.execute(sa.select(token_state.c.id).where(self._row_filter())).first() is None:
                try:
                    with connection.begin_nested():
                        connection.execute(token_state.insert().values(system="zoho", account=self.client_id,
                                                                       refresh_count=0))
                except sa.exc.IntegrityError:
                    pass  # another process made it first

    def _shared_token(self, now: datetime) -> AccessToken | None:
        if self.vault is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(token_state).where(self._row_filter())).first()
        if row is None or row.access_token_ciphertext is None or row.expires_at is None:
            return None
        lifetime = (row.expires_at - row.refreshed_at) if row.refreshed_at else timedelta(hours=1)
        token = AccessToken(self.vault.decrypt(row.access_token_ciphertext), row.api_domain, row.expires_at, lifetime)
        return None if token.needs_refresh(now) else token

    def _refresh_under_lease(self) -> AccessToken:
        self._ensure_row()
        deadline = time.monotonic() + LEASE_SECONDS * 2
        while True:
            now = utc_now()
            with self.engine.begin() as connection:
                taken = connection.execute(
                    token_state.update().where(self._row_filter() & (
                        token_state.c.lease_owner.is_(None) | (token_state.c.lease_expires_at < now)
                        | (token_state.c.lease_owner == self._owner)))
                    .values(lease_owner=self._owner, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
                ).rowcount
            if taken:
                try:
                    # Someone may have refreshed while we waited for the lease.
                    return self._shared_token(utc_now()) or self._refresh(now)
                finally:
                    with self.engine.begin() as connection:
                        connection.execute(token_state.update().where(
                            self._row_filter() & (token_state.c.lease_owner == self._owner))
                            .values(lease_owner=None, lease_expires_at=None))
            if time.monotonic() > deadline:
                raise AuthError("another process has held the Zoho token refresh lease for too long; "
                                "try again shortly", system="zoho")
            time.sleep(0.2)
            shared = self._shared_token(utc_now())
            if shared is not None:
                return shared

    def _refresh(self, now: datetime) -> AccessToken:
        response = self._http.request("POST", "/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": self.client_id, "client_secret": self._client_secret,
            "refresh_token": self._refresh_token}, is_idempotent=True)
        body = response.json()
        if "error" in body or "access_token" not in body:
            error = str(body.get("error", "no access_token in the answer"))
            record(self.engine, AuditEvent(actor="connector", action="token.refresh", outcome="failed",
                                           run_id=self.run_id, source_system="zoho", detail={"error": error}))
            if "access denied" in error.lower() or "too many" in error.lower():
                raise RateLimited(f"the Zoho accounts server refused a token refresh ({error}): the refresh "
                                  f"cap was reached; wait ten minutes", system="zoho", retry_after=600)
            raise AuthError(f"the Zoho accounts server refused the refresh token ({error}). Fix: create a new "
                            f"refresh token and set ML_CONNECTOR_ZOHO_REFRESH_TOKEN (or the vault's zoho "
                            f"refresh_token)", system="zoho", vendor_code=error)
        api_domain = check_api_domain(str(body.get("api_domain", "")), self.allowed)
        lifetime = timedelta(seconds=int(body.get("expires_in", 3600)))
        token = AccessToken(body["access_token"], api_domain, now + lifetime, lifetime)
        self.refreshes += 1
        with self.engine.begin() as connection:
            values = {"api_domain": api_domain, "expires_at": token.expires_at, "refreshed_at": now,
                      "refresh_count": token_state.c.refresh_count + 1}
            if self.vault is not None:
                values["access_token_ciphertext"] = self.vault.encrypt(token.value)
            connection.execute(token_state.update().where(self._row_filter()).values(**values))
            record(connection, AuditEvent(actor="connector", action="token.refresh", outcome="ok",
                                          run_id=self.run_id, source_system="zoho",
                                          detail={"api_domain": api_domain, "expires_in": lifetime.seconds}))
        return token
