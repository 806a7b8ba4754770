"""OAuth2 access tokens shared by every process of one connection, refreshed by one process at a time.

Each ledger (and source) brings its own refresh call; this module keeps what is the same everywhere:
- The token state lives in the store's `token_state` row for (system, account) as one sealed blob
  (Fernet: encrypted and authenticated) holding the access token, its expiry, where it may be sent (an API
  domain, for Zoho) and, for ledgers whose refresh tokens rotate (QuickBooks, Xero), the newest refresh
  token. The sealing key is derived from the connection's client secret, so only processes that hold the
  secret can read the row, and editing it (pointing it at another origin, swapping in a token) makes it
  unreadable rather than obeyed: a row that does not open is refreshed anew.
- Refreshing happens under a lease in the same row, so many processes (a backfill's runs) share one token,
  vendors' caps on token minting are never reached, and a rotated refresh token is written to the store, in
  the same transaction that records the new access token, before anyone uses either. Two processes
  refreshing at once cannot strand the connection: the second waits for the lease and then reads what the
  first stored.
- A token is checked (`check`) every time it is handed out, not only when it was minted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Engine

from ml_connector.errors import AuthError
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import token_state, utc_now

LEASE_SECONDS = 180  # longer than a refresh can take with its retries, so no second refresher starts meanwhile
MAX_REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Grant:
    """What a refresh answered: a new access token, and a new refresh token when the vendor rotates them."""

    access_token: str
    lifetime: timedelta
    refresh_token: str | None = None
    api_domain: str | None = None


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime
    lifetime: timedelta
    api_domain: str | None = None

    def needs_refresh(self, now: datetime) -> bool:
        return now >= self.expires_at - min(MAX_REFRESH_MARGIN, self.lifetime / 12)


def sealing_key(client_secret: str, system: str, account: str) -> Fernet:
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ml-connector token state",
                    info=f"{system}|{account}".encode()).derive(client_secret.encode())
    return Fernet(base64.urlsafe_b64encode(material))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class SharedTokens:
    """Valid access tokens for one connection (system, account), shared through the store."""

    def __init__(self, *, engine: Engine, system: str, account: str, client_secret: str, refresh_token: str,
                 refresh: Callable[[str], Grant], check: Callable[[AccessToken], None] | None = None,
                 run_id: str | None = None) -> None:
        self.engine = engine
        self.system = system
        self.account = account
        self._seal = sealing_key(client_secret, system, account)
        self._configured_refresh = refresh_token
        self._refresh_call = refresh
        self._check = check or (lambda token: None)
        self.run_id = run_id
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.refreshes = 0  # tokens this process minted
        self.secrets: set[str] = {client_secret, refresh_token}  # values no message may carry

    def token(self) -> AccessToken:
        with self._lock:
            now = utc_now()
            if self._token is None or self._token.needs_refresh(now):
                self._token = self._from_store(now) or self._refresh_under_lease()
            self._check(self._token)
            self.secrets.add(self._token.value)
            return self._token

    def invalidate(self, rejected_value: str) -> None:
        """The API refused the token before its time: forget it so the next call refreshes."""
        with self._lock:
            if self._token is not None and self._token.value == rejected_value:
                self._token = None
                state = self._open()
                if state is not None and state.get("access_token") == rejected_value:
                    state.pop("access_token", None)
                    self._write(state)

    @property
    def current(self) -> AccessToken | None:
        """The token in hand, if any (never triggers a refresh)."""
        return self._token

    # -- the sealed row ------------------------------------------------------------------------------

    def _row_filter(self):
        return (token_state.c.system == self.system) & (token_state.c.account == self.account)

    def _open(self) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(token_state.c.sealed).where(self._row_filter())).first()
        if row is None or row.sealed is None:
            return None
        try:
            return json.loads(self._seal.decrypt(row.sealed))
        except (InvalidToken, ValueError):
            return None  # written with another secret, or edited: not to be trusted; refresh anew

    def _write(self, state: dict) -> None:
        with self.engine.begin() as connection:
            connection.execute(token_state.update().where(self._row_filter()).values(
                sealed=self._seal.encrypt(json.dumps(state).encode())))

    def _from_store(self, now: datetime) -> AccessToken | None:
        state = self._open()
        if not state or not state.get("access_token") or state.get("seed") != _digest(self._configured_refresh):
            return None
        token = AccessToken(state["access_token"], datetime.fromisoformat(state["expires_at"]),
                            timedelta(seconds=state["lifetime"]), state.get("api_domain"))
        return None if token.needs_refresh(now) else token

    def _refresh_token(self, state: dict | None) -> str:
        """The newest refresh token: the rotated one in the store, unless the operator configured a new one."""
        if state and state.get("seed") == _digest(self._configured_refresh) and state.get("refresh_token"):
            return state["refresh_token"]
        return self._configured_refresh

    def _ensure_row(self) -> None:
        with write_transaction(self.engine) as connection:
            if connection.execute(sa.select(token_state.c.id).where(self._row_filter())).first() is None:
                try:
                    with connection.begin_nested():
                        connection.execute(token_state.insert().values(system=self.system, account=self.account,
                                                                       refresh_count=0))
                except sa.exc.IntegrityError:
                    pass  # another process made it first

    def _refresh_under_lease(self) -> AccessToken:
        self._ensure_row()
        deadline = time.monotonic() + LEASE_SECONDS * 2
        while True:
            now = utc_now()
            with self.engine.begin() as connection:
                taken = connection.execute(token_state.update().where(self._row_filter() & (
                    token_state.c.lease_owner.is_(None) | (token_state.c.lease_expires_at < now)
                    | (token_state.c.lease_owner == self._owner))).values(
                    lease_owner=self._owner, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))).rowcount
            if taken:
                try:
                    # Someone may have refreshed while we waited for the lease.
                    return self._from_store(utc_now()) or self._refresh(utc_now())
                finally:
                    with self.engine.begin() as connection:
                        connection.execute(token_state.update().where(
                            self._row_filter() & (token_state.c.lease_owner == self._owner))
                            .values(lease_owner=None, lease_expires_at=None))
            if time.monotonic() > deadline:
                raise AuthError(f"another process has held the {self.system} token refresh lease for too long; "
                                f"try again shortly", system=self.system)
            time.sleep(0.2)
            shared = self._from_store(utc_now())
            if shared is not None:
                return shared

    def _refresh(self, now: datetime) -> AccessToken:
        state = self._open()
        refresh_token = self._refresh_token(state)
        self.secrets.add(refresh_token)
        try:
            grant = self._refresh_call(refresh_token)
        except AuthError as exc:
            record(self.engine, AuditEvent(actor="connector", action="token.refresh", outcome="failed",
                                           run_id=self.run_id, source_system=self.system,
                                           detail={"error": str(exc.vendor_code or type(exc).__name__)}))
            raise
        token = AccessToken(grant.access_token, now + grant.lifetime, grant.lifetime, grant.api_domain)
        self._check(token)  # before it is stored or used
        new_state = {"access_token": grant.access_token, "expires_at": token.expires_at.isoformat(),
                     "lifetime": grant.lifetime.total_seconds(), "api_domain": grant.api_domain,
                     "refresh_token": grant.refresh_token or refresh_token,
                     "seed": _digest(self._configured_refresh)}
        self.refreshes += 1
        if grant.refresh_token:
            self.secrets.add(grant.refresh_token)
        with self.engine.begin() as connection:
            # One statement: the rotated refresh token and the new access token are stored together,
            # before either is used.
            connection.execute(token_state.update().where(self._row_filter()).values(
                sealed=self._seal.encrypt(json.dumps(new_state).encode()), expires_at=token.expires_at,
                refreshed_at=now, refresh_count=token_state.c.refresh_count + 1))
            record(connection, AuditEvent(actor="connector", action="token.refresh", outcome="ok",
                                          run_id=self.run_id, source_system=self.system,
                                          detail={"api_domain": grant.api_domain,
                                                  "expires_in": int(grant.lifetime.total_seconds()),
                                                  "rotated": bool(grant.refresh_token
                                                                  and grant.refresh_token != refresh_token)}))
        return token
