"""The Zoho accounts (OAuth) server of the sandbox: the refresh-token grant and the tokens it mints.

`POST /oauth/v2/token` takes client_id, client_secret, grant_type=refresh_token and refresh_token, in the
query string (Zoho's own example) or a form body. Success: `{access_token, api_domain, token_type:
"Bearer", expires_in}` with api_domain = `{public_url}/zoho`, no new refresh_token. Errors come back with
HTTP 200 and `{"error": ...}`, as observed for `invalid_code`. A refresh token mints at most 10 access
tokens per 10 minutes, then is blocked for the rest of that window (`config.limit_overrides` key
"zoho.token_refreshes"). UNCONFIRMED (chosen in the vendor's style): the error names `invalid_client`
and `unsupported_grant_type`, and the throttled body `{"error": "Access Denied", "error_description": ...}`.
"""

from __future__ import annotations

import secrets
import threading
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_connector.sandbox.config import SandboxConfig

REFRESH_WINDOW_SECONDS = 600.0
TOO_MANY_REFRESHES = {"error": "Access Denied",
                      "error_description": "You have made too many requests continuously. Please try again "
                                           "after some time.",
                      "status": "failure"}


class TokenRegistry:
    """Access tokens by value, each with its refresh token and expiry (wall clock, so state files survive)."""

    def __init__(self, config: SandboxConfig, clock=time.time) -> None:
        self.ttl = config.token_ttl_seconds
        self.enforce = config.enforce_rate_limits
        self.refresh_cap = int(config.limit("zoho.token_refreshes", 10))
        self._clock = clock
        self._lock = threading.Lock()
        self.tokens: dict[str, dict] = {}  # token -> {"refresh_token", "expires_at", "dead"}
        self.windows: dict[str, dict] = {}  # refresh token -> {"start", "count"}
        self.refresh_count = 0

    def mint(self, refresh_token: str) -> str | None:
        """A new access token, or None while the refresh token is blocked for too many refreshes."""
        now = self._clock()
        with self._lock:
            window = self.windows.get(refresh_token)
            if window is None or now >= window["start"] + REFRESH_WINDOW_SECONDS:
                window = self.windows[refresh_token] = {"start": now, "count": 0}
            if self.enforce and window["count"] >= self.refresh_cap:
                return None
            window["count"] += 1
            self.refresh_count += 1
            token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self.tokens[token] = {"refresh_token": refresh_token, "expires_at": now + self.ttl, "dead": False}
            return token

    def status(self, token: str) -> str:
        """"live", "dead" (expired or revoked) or "unknown"."""
        with self._lock:
            entry = self.tokens.get(token)
        if entry is None:
            return "unknown"
        if entry["dead"] or self._clock() >= entry["expires_at"]:
            return "dead"
        return "live"

    def expire_all(self) -> int:
        with self._lock:
            for entry in self.tokens.values():
                entry["dead"] = True
            return len(self.tokens)

    def dump(self) -> dict:
        with self._lock:
            return {"tokens": {t: dict(e) for t, e in self.tokens.items()},
                    "windows": {r: dict(w) for r, w in self.windows.items()},
                    "refresh_count": self.refresh_count}

    def load(self, data: dict) -> None:
        with self._lock:
            self.tokens = {t: dict(e) for t, e in data.get("tokens", {}).items()}
            self.windows = {r: dict(w) for r, w in data.get("windows", {}).items()}
            self.refresh_count = int(data.get("refresh_count", 0))


async def token_params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        params.update({key: values[-1] for key, values in form.items()})
    return params


def build_accounts_app(config: SandboxConfig, registry: TokenRegistry, count_request) -> Starlette:
    credentials = config.credentials

    async def token(request: Request) -> JSONResponse:
        count_request("POST /oauth/v2/token")
        params = await token_params(request)
        grant = params.get("grant_type")
        if grant == "authorization_code":
            return JSONResponse({"error": "invalid_code"})  # the sandbox never issues grant codes
        if grant != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"})
        if params.get("client_id") != credentials.zoho_client_id or \
                params.get("client_secret") != credentials.zoho_client_secret:
            return JSONResponse({"error": "invalid_client"})
        if params.get("refresh_token") != credentials.zoho_refresh_token:
            return JSONResponse({"error": "invalid_code"})
        access_token = registry.mint(params["refresh_token"])
        if access_token is None:
            return JSONResponse(TOO_MANY_REFRESHES)
        return JSONResponse({"access_token": access_token, "api_domain": f"{config.public_url}/zoho",
                             "token_type": "Bearer", "expires_in": registry.ttl})

    return Starlette(routes=[Route("/oauth/v2/token", token, methods=["POST"])])
