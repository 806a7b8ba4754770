"""Intuit OAuth2: access tokens from the refresh-token grant, with rotating refresh tokens kept in the store.

- The token call is `POST` to the token URL with `Authorization: Basic base64(client_id:client_secret)` and
  the form `grant_type=refresh_token&refresh_token=...` (client_secret_basic, Intuit's discovery document and
  oauth-pythonclient). Access tokens live an hour.
- Intuit rotates refresh tokens: an answer may carry a new one, and once the new one is used the old one is
  dead ("always store the LATEST refresh token"). The new one goes back in `Grant.refresh_token`, and
  `SharedTokens` stores it in the same transaction as the new access token, before either is used; every
  process reads the newest from there. Refreshing happens under the store's lease, so two processes that
  find the token stale at once refresh once between them: the second waits, then reads what the first
  stored. That is what keeps a connection from being stranded when two syncs overlap.
- A lost refresh answer is retried at once (`is_idempotent`): Intuit answers a refresh token that was
  superseded but whose successor was never used with that same successor, so the retry recovers it. How
  long Intuit keeps that grace is not documented (notes section 2: unconfirmed).
- `invalid_grant` (the refresh token is dead: revoked, superseded, expired after 100 days unused, or the
  app was disconnected) says to reconnect the app and set the new refresh token; `invalid_client` names the
  client id and secret. Neither message carries a secret.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import requests
from sqlalchemy.engine import Engine

from ml_connector.errors import AuthError, ConfigError, ConnectorError, RateLimited, RetryableError
from ml_connector.http import HttpClient, RetryPolicy
from ml_connector.oauth import Grant, SharedTokens

SYSTEM = "quickbooks"
CLIENT_SETTINGS = "ML_CONNECTOR_QUICKBOOKS_CLIENT_ID and ML_CONNECTOR_QUICKBOOKS_CLIENT_SECRET"
RECONNECT = ("reconnect the app to the QuickBooks company (the authorization-code steps in docs/quickbooks.md) "
             "and set the refresh token it gives in ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN (or store it with "
             "`ml-connector credentials set quickbooks refresh_token`)")


def basic_auth(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def classify_token_answer(response: requests.Response) -> ConnectorError | None:
    """The token endpoint's {"error": ...} answers, as the error taxonomy, in words that say what to do."""
    status = response.status_code
    if status < 400:
        return None
    try:
        error = str(response.json().get("error", ""))
    except ValueError:
        error = ""
    if status == 429:
        return RateLimited("Intuit's token server throttled the refresh (429)", system=SYSTEM)
    if status >= 500:
        return RetryableError(f"Intuit's token server failed on its side ({status})", system=SYSTEM, status=status)
    if error == "invalid_client" or status == 401:
        return AuthError(f"Intuit does not accept this app's client credentials ({error or status}). Fix: check "
                         f"{CLIENT_SETTINGS} against the app's Keys & credentials on developer.intuit.com "
                         f"(production keys for a real company, development keys for a sandbox company)",
                         system=SYSTEM, status=status, vendor_code=error or None)
    if error == "invalid_grant":
        return AuthError(f"Intuit refused the QuickBooks refresh token (invalid_grant): it was revoked, replaced "
                         f"by a newer one that this store never received, or left unused for 100 days. Fix: "
                         f"{RECONNECT}", system=SYSTEM, status=status, vendor_code=error)
    return AuthError(f"Intuit refused the token refresh ({error or status}). Fix: {RECONNECT}", system=SYSTEM,
                     status=status, vendor_code=error or None)


def require_realm(realm_id: str | None) -> str:
    if not realm_id:
        raise ConfigError("no QuickBooks company is configured: ML_CONNECTOR_QUICKBOOKS_REALM_ID is not set.",
                          setting="ML_CONNECTOR_QUICKBOOKS_REALM_ID",
                          fix="set it to the company's realm id (the realmId the app's authorization redirect "
                              "carried; also under Settings > Account and settings > Billing & subscription)")
    return realm_id


def quickbooks_tokens(*, engine: Engine, token_url: str, client_id: str, client_secret: str, refresh_token: str,
                      realm_id: str | None, run_id: str | None = None,
                      timeout: tuple[float, float] = (5.0, 30.0)) -> SharedTokens:
    """The shared tokens of one Intuit app's connection to one company: each company the app is connected to
    has a refresh-token chain of its own, so the store keeps one per (client id, realm id)."""
    missing = [name for name, value in (("ML_CONNECTOR_QUICKBOOKS_CLIENT_ID", client_id),
                                        ("ML_CONNECTOR_QUICKBOOKS_CLIENT_SECRET", client_secret),
                                        ("ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN", refresh_token)) if not value]
    realm = require_realm(realm_id)
    if missing:
        raise ConfigError(f"QuickBooks credentials are incomplete: {', '.join(missing)} not set.", setting=missing[0],
                          fix="set them, or store the secrets with `ml-connector credentials set quickbooks NAME`")
    http = HttpClient("quickbooks-oauth", token_url, classify=classify_token_answer,
                      retry=RetryPolicy(max_attempts=3), timeout=timeout)
    headers = {"Authorization": basic_auth(client_id, client_secret), "Accept": "application/json"}

    def refresh(token: str) -> Grant:
        body = http.request("POST", token_url, data={"grant_type": "refresh_token", "refresh_token": token},
                            headers=headers, is_idempotent=True).json()
        if "access_token" not in body:
            raise AuthError(f"Intuit's token answer holds no access token. Fix: {RECONNECT}", system=SYSTEM)
        return Grant(body["access_token"], timedelta(seconds=int(body.get("expires_in", 3600))),
                     refresh_token=body.get("refresh_token") or None)

    return SharedTokens(engine=engine, system=SYSTEM, account=f"{client_id}/{realm}", client_secret=client_secret,
                        refresh_token=refresh_token, refresh=refresh, run_id=run_id)
