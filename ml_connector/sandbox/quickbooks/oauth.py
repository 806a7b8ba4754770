"""Intuit's OAuth 2.0 token server for the sandbox: `POST /oauth2/v1/tokens/bearer` (and revoke).

Client authentication: `Authorization: Basic base64(client_id:client_secret)` (client_secret_basic), or
client_id and client_secret in the form (client_secret_post); both are in the discovery document. The body
is `application/x-www-form-urlencoded`.

- `grant_type=refresh_token`: every refresh returns a NEW refresh token (stricter than Intuit's about-daily
  rotation). The previous token keeps working only until its successor has been used once; after that it
  answers `400 {"error":"invalid_grant"}` exactly as recorded (25 bytes, `application/json;charset=utf-8`,
  an `intuit_tid` header). A previous token used again BEFORE its successor was used returns the same,
  still unused successor (and a fresh access token), so a client that lost a refresh answer can recover.
  Refresh tokens live `quickbooks.refresh_token_ttl` seconds (100 days, Intuit's rolling lifetime) from
  issue; an unknown or dead token is `invalid_grant`.
- `grant_type=authorization_code`: for a code from the sandbox's control route `POST /_sandbox/authorize`
  (no human consent in a sandbox), with the same redirect_uri; it starts a new refresh chain. Codes last
  10 minutes; a code used twice is `invalid_grant` and kills every token issued from it (notes: reusing a
  code invalidates its tokens).
- Access tokens last `config.limit("quickbooks.access_token_ttl", 3600)` seconds (Intuit: always 1 hour).
- Errors: 401 `{"error":"invalid_client", ...}` for missing or wrong client credentials, 400
  `unsupported_grant_type` / `invalid_request` with an `error_description` (the fixtures' shape; names
  from RFC 6749, UNCONFIRMED for Intuit).
- `POST /v2/oauth2/tokens/revoke` with JSON `{"token": ...}` (Intuit's revoke, notes section 2; path kept,
  host is the sandbox): kills the chain the token belongs to; answers 200 with an empty body.
No secret or token ever appears in an error answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.quickbooks.wire import intuit_tid

ACCESS_PREFIX = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.."  # Intuit's JWE header, as in the fixtures
CODE_TTL_SECONDS = 600.0
OAUTH_JSON = "application/json;charset=utf-8"


class TokenRegistry:
    """Refresh-token chains and the access tokens they mint (wall clock, so state files survive)."""

    def __init__(self, config: SandboxConfig, realm_id: str, clock=time.time) -> None:
        self.ttl = int(config.limit("quickbooks.access_token_ttl", 3600))
        self.refresh_ttl = int(config.limit("quickbooks.refresh_token_ttl", 8_640_000))
        self.realm_id = realm_id
        self._clock = clock
        self._lock = threading.Lock()
        self.access: dict[str, dict] = {}  # token -> {realm, expires_at, dead, chain}
        self.refresh: dict[str, dict] = {}  # token -> {realm, issued_at, predecessor, successor, dead, chain}
        self.codes: dict[str, dict] = {}  # code -> {realm, redirect_uri, expires_at, used, chain}
        self.refresh_count = 0
        self._add_refresh(config.credentials.quickbooks_refresh_token, realm_id, None, "initial")

    def _add_refresh(self, token: str, realm: str, predecessor: str | None, chain: str) -> str:
        self.refresh[token] = {"realm": realm, "issued_at": self._clock(), "predecessor": predecessor,
                               "successor": None, "dead": False, "chain": chain}
        return token

    def _mint_access(self, realm: str, chain: str) -> str:
        token = ACCESS_PREFIX + ".".join(secrets.token_urlsafe(n) for n in (16, 96, 16))
        self.access[token] = {"realm": realm, "expires_at": self._clock() + self.ttl, "dead": False,
                              "chain": chain}
        return token

    def _grant(self, refresh_token: str) -> dict:
        entry = self.refresh[refresh_token]
        self.refresh_count += 1
        remaining = self.refresh_ttl - (self._clock() - entry["issued_at"])
        return {"token_type": "bearer", "expires_in": self.ttl, "refresh_token": refresh_token,
                "x_refresh_token_expires_in": int(remaining),
                "access_token": self._mint_access(entry["realm"], entry["chain"])}

    def use_refresh_token(self, token: str) -> dict | None:
        """The token response for a refresh, or None for `invalid_grant`."""
        with self._lock:
            entry = self.refresh.get(token)
            if entry is None or entry["dead"] or self._clock() >= entry["issued_at"] + self.refresh_ttl:
                return None
            if entry["predecessor"] is not None:  # the successor has been used: its predecessor dies now
                self.refresh[entry["predecessor"]]["dead"] = True
            if entry["successor"] is None:
                entry["successor"] = self._add_refresh(f"RT1-{secrets.token_hex(24)}", entry["realm"], token,
                                                       entry["chain"])
            return self._grant(entry["successor"])

    def issue_code(self, realm: str, redirect_uri: str | None) -> str:
        with self._lock:
            code = f"AB11{secrets.token_urlsafe(30)}"
            self.codes[code] = {"realm": realm, "redirect_uri": redirect_uri, "used": False,
                                "expires_at": self._clock() + CODE_TTL_SECONDS, "chain": f"code-{code[-12:]}"}
            return code

    def use_code(self, code: str, redirect_uri: str | None) -> dict | None:
        with self._lock:
            entry = self.codes.get(code)
            if entry is None or self._clock() >= entry["expires_at"]:
                return None
            if entry["used"]:
                self._kill_chain(entry["chain"])
                return None
            if entry["redirect_uri"] and redirect_uri != entry["redirect_uri"]:
                return None
            entry["used"] = True
            root = self._add_refresh(f"RT1-{secrets.token_hex(24)}", entry["realm"], None, entry["chain"])
            return self._grant(root)

    def _kill_chain(self, chain: str) -> int:
        killed = 0
        for table in (self.refresh, self.access):
            for entry in table.values():
                if entry["chain"] == chain and not entry["dead"]:
                    entry["dead"] = True
                    killed += 1
        return killed

    def revoke(self, token: str) -> None:
        with self._lock:
            entry = self.refresh.get(token) or self.access.get(token)
            if entry is not None:
                self._kill_chain(entry["chain"])

    def status(self, token: str) -> tuple[str, str | None]:
        """("live" | "expired" | "unknown", the token's realm)."""
        with self._lock:
            entry = self.access.get(token)
        if entry is None:
            return "unknown", None
        if entry["dead"] or self._clock() >= entry["expires_at"]:
            return "expired", entry["realm"]
        return "live", entry["realm"]

    def expire_all(self) -> int:
        with self._lock:
            for entry in self.access.values():
                entry["dead"] = True
            return len(self.access)

    def dump(self) -> dict:
        with self._lock:
            return {"access": {t: dict(e) for t, e in self.access.items()},
                    "refresh": {t: dict(e) for t, e in self.refresh.items()},
                    "codes": {c: dict(e) for c, e in self.codes.items()}, "refresh_count": self.refresh_count}

    def load(self, data: dict) -> None:
        with self._lock:
            self.access = {t: dict(e) for t, e in data.get("access", {}).items()}
            self.refresh.update({t: dict(e) for t, e in data.get("refresh", {}).items()})
            self.codes = {c: dict(e) for c, e in data.get("codes", {}).items()}
            self.refresh_count = int(data.get("refresh_count", 0))


def oauth_error(status: int, error: str, description: str | None = None) -> Response:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, media_type=OAUTH_JSON,
                    headers={"intuit_tid": intuit_tid(), "Cache-Control": "no-store"})


def client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def build_oauth_app(config: SandboxConfig, registry: TokenRegistry, count_request) -> Starlette:
    credentials = config.credentials

    async def read_form(request: Request) -> dict[str, str] | None:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return None
        try:
            parsed = parse_qs((await request.body()).decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            return None
        return {key: values[-1] for key, values in parsed.items()}

    async def token(request: Request) -> Response:
        count_request("POST /oauth2/v1/tokens/bearer")
        form = await read_form(request)
        if form is None:
            return oauth_error(400, "invalid_request", "Send the token request as "
                                                       "application/x-www-form-urlencoded.")
        client_id, secret = client_credentials(request, form)
        if client_id != credentials.quickbooks_client_id or secret != credentials.quickbooks_client_secret:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if not form.get("refresh_token"):
                return oauth_error(400, "invalid_request", "refresh_token is required.")
            granted = registry.use_refresh_token(form["refresh_token"])
        elif grant == "authorization_code":
            if not form.get("code"):
                return oauth_error(400, "invalid_request", "code is required.")
            granted = registry.use_code(form["code"], form.get("redirect_uri"))
        else:
            return oauth_error(400, "unsupported_grant_type", "Use refresh_token or authorization_code.")
        if granted is None:
            return oauth_error(400, "invalid_grant")
        return Response(json.dumps(granted), media_type=OAUTH_JSON,
                        headers={"intuit_tid": intuit_tid(), "Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revoke(request: Request) -> Response:
        count_request("POST /v2/oauth2/tokens/revoke")
        client_id, secret = client_credentials(request, {})
        if client_id != credentials.quickbooks_client_id or secret != credentials.quickbooks_client_secret:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            return oauth_error(400, "invalid_request", 'Send {"token": "<refresh or access token>"}.')
        registry.revoke(body["token"])
        return Response(b"", headers={"intuit_tid": intuit_tid()})

    return Starlette(routes=[Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
                             Route("/v2/oauth2/tokens/revoke", revoke, methods=["POST"])])
