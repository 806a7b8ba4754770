"""Who may call the Brex sandbox, and how often: the static user token, OAuth2 refresh, the rate limit.

Brex user tokens (`bxt_…`) are static bearer tokens. Partners use OAuth2 against
`accounts-api.brex.com/oauth2/default/v1/token` (Okta), whose access tokens last an hour; the sandbox
serves that path inside /brex, accepts the refresh grant only, and returns Okta's error shapes
(`{"error": "invalid_grant", ...}`). The refresh token is not rotated (Brex does not document rotation).

Failures, with the bodies Brex's error-code page gives: missing or unknown token -> 401
`{"type":"UNAUTHORIZED","message":"PERMISSION_DENIED: Invalid or Revoked Token"}`; expired token -> 403
`{"type":"FORBIDDEN","message":"Expired token"}`. The Accounting API uses its own `error_code` shape.
Rate limit: 1,000 requests per 60 s per token ("brex.per_minute" in limit_overrides) -> 429
`{"type":"TOO_MANY_REQUESTS",...}` with `Retry-After` seconds; Brex documents the 429 but not its
body or headers, so those are our choice.
"""

from __future__ import annotations

import base64
import math
import secrets
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ml_connector.sandbox.brex_params import ApiError
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.ratelimit import SlidingWindow

REAL_PER_MINUTE = 1000
WINDOW_SECONDS = 60
INVALID_TOKEN = {"type": "UNAUTHORIZED", "message": "PERMISSION_DENIED: Invalid or Revoked Token"}
EXPIRED_TOKEN = {"type": "FORBIDDEN", "message": "Expired token"}


def rate_limit_body(retry_after: int) -> dict:
    return {"type": "TOO_MANY_REQUESTS", "message": f"Rate limit exceeded. Retry after {retry_after} seconds."}


def too_many_requests(retry_after: int) -> JSONResponse:
    return JSONResponse(rate_limit_body(retry_after), status_code=429,
                        headers={"Retry-After": str(retry_after)})


def _accounting(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, {"error_code": code, "message": message})


class BrexAuth:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.credentials = config.credentials
        self.access_tokens: dict[str, float] = {}  # OAuth access token -> expiry (unix seconds)
        self.per_minute = int(config.limit("brex.per_minute", REAL_PER_MINUTE))
        self.window = SlidingWindow(self.per_minute, WINDOW_SECONDS)

    def admit(self, request: Request, accounting: bool = False) -> str:
        """The caller's token if it may make this request now; otherwise raises the answer Brex gives."""
        token = self._authenticate(request, accounting)
        if self.config.enforce_rate_limits and not self.window.hit(token):
            wait = max(1, math.ceil(self.window.seconds_until_free(token)))
            raise ApiError(429, rate_limit_body(wait), {"Retry-After": str(wait)})
        return token

    def _authenticate(self, request: Request, accounting: bool) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        is_bearer = scheme.lower() == "bearer"
        if is_bearer and token == self.credentials.brex_token:
            return token
        if is_bearer and token in self.access_tokens:
            if self.access_tokens[token] > time.time():
                return token
            raise _accounting(403, "FORBIDDEN", "Expired token") if accounting else ApiError(403, EXPIRED_TOKEN)
        if accounting:
            raise _accounting(401, "UNAUTHORIZED", "Invalid or Revoked Token")
        raise ApiError(401, INVALID_TOKEN)

    async def token_endpoint(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parsing needs python-multipart, which is not a dependency.
        form = {key: values[-1] for key, values in parse_qs((await request.body()).decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        creds = self.credentials
        if client_id != creds.brex_client_id or client_secret != creds.brex_client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "Client authentication failed."},
                                status_code=401)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "The authorization grant type is not supported."}, 400)
        if form.get("refresh_token") != creds.brex_refresh_token:
            return JSONResponse({"error": "invalid_grant",
                                 "error_description": "The refresh token is invalid or expired."}, 400)
        token = "bxo_" + secrets.token_urlsafe(32)
        self.access_tokens[token] = time.time() + self.config.token_ttl_seconds
        return JSONResponse({"token_type": "Bearer", "expires_in": self.config.token_ttl_seconds,
                             "access_token": token, "scope": "openid offline_access",
                             "refresh_token": creds.brex_refresh_token})

    def expire_all(self) -> int:
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0
        return len(self.access_tokens)
