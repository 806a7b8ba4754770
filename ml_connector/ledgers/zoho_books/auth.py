"""Zoho OAuth2: access tokens from the refresh-token grant, shared through the store (see `ml_connector.oauth`).

- The token response's `api_domain` decides where every Books call goes, so it is checked every time a
  token is handed out, not only when it was minted: one of Zoho's data centres, or an origin the operator
  allowed explicitly (the sandbox). Anything else is refused before a single request carries the token.
  The token state is sealed in the store, so editing the row cannot redirect it.
- Tokens are refreshed proactively and once at a time across processes, so a backfill's runs share one
  token and the accounts server's cap of ten tokens per ten minutes is never reached.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from ml_connector.errors import AuthError, ConfigError, RateLimited
from ml_connector.http import HttpClient, RetryPolicy
from ml_connector.oauth import AccessToken, Grant, SharedTokens

# The Books API domains of Zoho's data centres (introduction page of the Books API v3).
ZOHO_API_DOMAINS = frozenset({
    "https://www.zohoapis.com", "https://www.zohoapis.eu", "https://www.zohoapis.in",
    "https://www.zohoapis.com.au", "https://www.zohoapis.jp", "https://www.zohoapis.ca",
    "https://www.zohoapis.com.cn", "https://www.zohoapis.sa",
})
CLIENT_SETTINGS = "ML_CONNECTOR_ZOHO_CLIENT_ID and ML_CONNECTOR_ZOHO_CLIENT_SECRET"


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
    raise AuthError(f"the Zoho token names api_domain {domain!r}, which is not one of Zoho's data centres; the "
                    f"token was refused and nothing was sent there. If this is intended (a sandbox), add its "
                    f"origin to ML_CONNECTOR_ZOHO_ALLOWED_API_DOMAINS.", system="zoho")


def zoho_tokens(*, engine: Engine, accounts_url: str, client_id: str, client_secret: str, refresh_token: str,
                allowed_api_domains: tuple[str, ...] = (), run_id: str | None = None,
                timeout: tuple[float, float] = (5.0, 30.0)) -> SharedTokens:
    """The shared tokens of one Zoho OAuth client."""
    missing = [name for name, value in (("ML_CONNECTOR_ZOHO_CLIENT_ID", client_id),
                                        ("ML_CONNECTOR_ZOHO_CLIENT_SECRET", client_secret),
                                        ("ML_CONNECTOR_ZOHO_REFRESH_TOKEN", refresh_token)) if not value]
    if missing:
        raise ConfigError(f"Zoho credentials are incomplete: {', '.join(missing)} not set.", setting=missing[0],
                          fix="set them, or store the secrets with `ml-connector credentials set zoho NAME`")
    http = HttpClient("zoho-accounts", accounts_url, retry=RetryPolicy(max_attempts=3), timeout=timeout)

    def refresh(token: str) -> Grant:
        body = http.request("POST", "/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret,
            "refresh_token": token}, is_idempotent=True).json()
        if "error" in body or "access_token" not in body:
            raise _refusal(str(body.get("error", "no access_token in the answer")))
        api_domain = check_api_domain(str(body.get("api_domain", "")), allowed_api_domains)
        return Grant(body["access_token"], timedelta(seconds=int(body.get("expires_in", 3600))),
                     api_domain=api_domain)

    def check(token: AccessToken) -> None:
        check_api_domain(token.api_domain or "", allowed_api_domains)

    return SharedTokens(engine=engine, system="zoho", account=client_id, client_secret=client_secret,
                        refresh_token=refresh_token, refresh=refresh, check=check, run_id=run_id)


def _refusal(error: str) -> Exception:
    lowered = error.lower()
    if "access denied" in lowered or "too many" in lowered:
        return RateLimited(f"the Zoho accounts server refused a token refresh ({error}): the refresh cap was "
                           f"reached; wait ten minutes", system="zoho", retry_after=600)
    if error == "invalid_client":
        return AuthError(f"the Zoho accounts server does not know this OAuth client (invalid_client). Fix: check "
                         f"{CLIENT_SETTINGS} against the client in Zoho's API console (the data centre of "
                         f"ML_CONNECTOR_ZOHO_ACCOUNTS_URL must be the client's)", system="zoho", vendor_code=error)
    return AuthError(f"the Zoho accounts server refused the refresh token ({error}). Fix: create a new refresh "
                     f"token and set ML_CONNECTOR_ZOHO_REFRESH_TOKEN (or the vault's zoho refresh_token)",
                     system="zoho", vendor_code=error)
