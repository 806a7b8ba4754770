"""Xero OAuth2: 30-minute access tokens from the refresh-token grant, shared through the store (see
`ml_connector.oauth`), with the refresh token rotating on every refresh.

- `POST {token_url}` with `Authorization: Basic base64(client_id:client_secret)` and the form
  `grant_type=refresh_token&refresh_token=...` (doc2020, in reference/notes/xero.md §2). The answer carries a new
  refresh token every time; it goes back in `Grant.refresh_token`, so `SharedTokens` stores it sealed, in the
  same transaction as the new access token, before either is used, and every process's next refresh uses it.
- Xero lets the replaced refresh token be retried for 30 minutes; the connector never relies on that for
  ordinary work (one refresh at a time under the store's lease, the newest token always read from the store).
  The one place it helps is a refresh whose answer was lost: the successor was minted and never heard, so
  the only way on is to send the same refresh token again. If Xero refuses it then (the stricter reading the
  sandbox takes by default), the connection must be reconnected, and the error says so.
- Identity errors are HTTP 400 with `{"error": ...}`: `invalid_grant` (a refresh token that was rotated,
  revoked or unused for 60 days) and `invalid_client` (wrong client id or secret) become AuthErrors with the
  fix; no message ever carries a token or the secret.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import requests
from sqlalchemy.engine import Engine

from ml_connector.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    RateLimited,
    RetryableError,
    Uncertain,
    ValidationRejected,
)
from ml_connector.http import HttpClient, RetryPolicy, retry_after_seconds
from ml_connector.oauth import Grant, SharedTokens

SYSTEM = "xero"
CLIENT_SETTINGS = "ML_CONNECTOR_XERO_CLIENT_ID and ML_CONNECTOR_XERO_CLIENT_SECRET"
RECONNECT = ("reconnect the organisation (docs/xero.md, \"Connect\": run the authorisation code flow again) and "
             "set ML_CONNECTOR_XERO_REFRESH_TOKEN, or `ml-connector credentials set xero refresh_token`")
LOST_ANSWER_ATTEMPTS = 3  # sends of one refresh token whose answer never arrived


def classify_identity(response: requests.Response) -> ConnectorError | None:
    """Xero's identity server answers token errors with 400 and `{"error": ...}`."""
    status = response.status_code
    if status < 400:
        return None
    if status == 429:
        return RateLimited("Xero's identity server throttled a token refresh", system=SYSTEM,
                           retry_after=retry_after_seconds(response))
    if status >= 500:
        return RetryableError(f"Xero's identity server failed on its side ({status})", system=SYSTEM, status=status)
    try:
        error = str(response.json().get("error") or "")
    except ValueError:
        error = ""
    return ValidationRejected(f"Xero's identity server refused the refresh ({status} {error or 'no error code'})",
                              system=SYSTEM, status=status, vendor_code=error or None)


def xero_tokens(*, engine: Engine, token_url: str, client_id: str, client_secret: str, refresh_token: str,
                run_id: str | None = None, timeout: tuple[float, float] = (5.0, 30.0)) -> SharedTokens:
    """The shared tokens of one Xero connection (one app and the user who authorised it)."""
    missing = [name for name, value in (("ML_CONNECTOR_XERO_CLIENT_ID", client_id),
                                        ("ML_CONNECTOR_XERO_CLIENT_SECRET", client_secret),
                                        ("ML_CONNECTOR_XERO_REFRESH_TOKEN", refresh_token)) if not value]
    if missing:
        raise ConfigError(f"Xero credentials are incomplete: {', '.join(missing)} not set.", setting=missing[0],
                          fix="set them, or store the secrets with `ml-connector credentials set xero NAME`")
    # A refresh is a write (it rotates the token): never retried blindly by the transport, see `refresh`.
    http = HttpClient("xero-identity", token_url, classify=classify_identity, retry=RetryPolicy(max_attempts=3),
                      timeout=timeout)
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

    def refresh(token: str) -> Grant:
        answer_lost = False
        for attempt in range(1, LOST_ANSWER_ATTEMPTS + 1):
            try:
                body = http.request("POST", token_url, data={"grant_type": "refresh_token", "refresh_token": token},
                                    headers={"Accept": "application/json", "Authorization": f"Basic {basic}"},
                                    is_idempotent=False).json()
            except Uncertain:
                answer_lost = True  # Xero may have rotated the token without us hearing: the grace lets us retry
                if attempt == LOST_ANSWER_ATTEMPTS:
                    raise RetryableError("Xero's identity server did not answer a token refresh after "
                                         f"{LOST_ANSWER_ATTEMPTS} tries; a retry sends the same refresh token "
                                         "again", system=SYSTEM) from None
                continue
            except ValidationRejected as exc:
                raise _refusal(str(exc.vendor_code or ""), answer_lost) from None
            if not body.get("access_token") or not body.get("refresh_token"):
                raise AuthError("Xero's token answer carried no access or refresh token (was offline_access "
                                f"granted?); {RECONNECT}", system=SYSTEM)
            return Grant(body["access_token"], timedelta(seconds=int(body.get("expires_in", 1800))),
                         refresh_token=body["refresh_token"])
        raise AssertionError("unreachable")

    return SharedTokens(engine=engine, system=SYSTEM, account=client_id, client_secret=client_secret,
                        refresh_token=refresh_token, refresh=refresh, run_id=run_id)


def _refusal(error: str, answer_lost: bool) -> AuthError:
    if error == "invalid_client":
        return AuthError(f"Xero's identity server does not know this app (invalid_client). Fix: check "
                         f"{CLIENT_SETTINGS} against the app at developer.xero.com/app/manage (a new client "
                         f"secret replaces the old one)", system=SYSTEM, vendor_code=error)
    if error == "invalid_grant" and answer_lost:
        return AuthError("a token refresh reached Xero but its answer was lost, and Xero no longer accepts the "
                         f"refresh token it replaced (invalid_grant). Fix: {RECONNECT}", system=SYSTEM,
                         vendor_code=error)
    if error == "invalid_grant":
        return AuthError("Xero refused the refresh token (invalid_grant): it was replaced by a refresh somewhere "
                         "else (another copy of these credentials outside this store), revoked, or unused for 60 "
                         f"days. Fix: {RECONNECT}", system=SYSTEM, vendor_code=error)
    return AuthError(f"Xero's identity server refused the refresh ({error or 'no error code'}). Fix: {RECONNECT}",
                     system=SYSTEM, vendor_code=error or None)
