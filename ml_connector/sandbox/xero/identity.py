"""Xero's identity server in the sandbox: `POST /connect/token` with the refresh-token grant, and the tokens.

Mounted at `/xero-identity` (so the token URL is `{sandbox}/xero-identity/connect/token`). The request is a
form body; the client authenticates with `Authorization: Basic base64(client_id:client_secret)` (doc2020) or
with `client_id`/`client_secret` in the form (what xero-python sends; recorded). Success, as recorded:
`{"access_token", "expires_in": 1800, "token_type": "Bearer", "refresh_token", "scope"}`; no `id_token`, because
the sandbox's consent holds no OpenID scope.

Access tokens live `config.limit("xero.access_token_ttl", 1800)` seconds ("Access tokens expire after 30
minutes", doc2020). Refresh tokens rotate on every refresh. Reusing a refresh token that already has a
successor is refused with `invalid_grant` (CHOSEN, the stricter reading): Xero documents a 30-minute grace
period for retrying the old token when a response was lost; set `xero.refresh_grace_seconds` (default 0) to
1800 to model it, in which case the old token, within the grace, answers again with the same successor as
long as that successor is unused. A refresh token unused for `xero.refresh_token_ttl` seconds (default 60
days, docs.databricks.com citing Xero; an older Xero reply said 30) expires.

Errors are HTTP 400 (Xero's identity server is IdentityServer, `Xero-Origin-Id: IdentityServer.Web` in the
recording, which answers every token error with 400): `{"error": "invalid_grant"}` for an unknown, rotated or
expired refresh token and for any authorization code (the sandbox issues none); `{"error": "invalid_client"}`
for wrong client credentials; `{"error": "unsupported_grant_type"}`; `{"error": "unauthorized_client"}` for
client_credentials (not a custom connection). Bodies other than invalid_grant's are UNCONFIRMED.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_connector.sandbox.config import SandboxConfig

SCOPES = ("offline_access accounting.transactions accounting.contacts accounting.settings accounting.attachments "
          "accounting.transactions.read accounting.contacts.read accounting.settings.read "
          "accounting.attachments.read")
TOKEN_TYPE = "application/json; charset=UTF-8"


class TokenRegistry:
    """Access tokens and the rotating chain of refresh tokens (wall clock, so state files survive restarts)."""

    def __init__(self, config: SandboxConfig, clock=time.time) -> None:
        self.access_ttl = int(config.limit("xero.access_token_ttl", 1800))
        self.refresh_ttl = float(config.limit("xero.refresh_token_ttl", 60 * 86_400))
        self.grace = float(config.limit("xero.refresh_grace_seconds", 0))
        self._clock = clock
        self._lock = threading.Lock()
        self.access: dict[str, dict] = {}  # token -> {"expires_at", "dead"}
        self.refresh: dict[str, dict] = {}  # token -> {"issued_at", "successor", "rotated_at"}
        self.refresh_count = 0
        self.refresh[config.credentials.xero_refresh_token] = {"issued_at": clock(), "successor": None,
                                                                "rotated_at": None}

    def rotate(self, refresh_token: str) -> tuple[str, str] | None:
        """(access token, refresh token) for a usable refresh token, or None (invalid_grant)."""
        now = self._clock()
        with self._lock:
            entry = self.refresh.get(refresh_token)
            if entry is None or now >= entry["issued_at"] + self.refresh_ttl:
                return None
            successor = entry["successor"]
            if successor is not None:
                in_grace = self.grace > 0 and now <= entry["rotated_at"] + self.grace
                if not in_grace or self.refresh[successor]["successor"] is not None:
                    return None
            else:
                successor = secrets.token_hex(32)
                entry.update(successor=successor, rotated_at=now)
                self.refresh[successor] = {"issued_at": now, "successor": None, "rotated_at": None}
            access = secrets.token_urlsafe(48)
            self.access[access] = {"expires_at": now + self.access_ttl, "dead": False}
            self.refresh_count += 1
            return access, successor

    def status(self, token: str) -> str:
        """"live", "dead" (expired or killed) or "unknown"."""
        with self._lock:
            entry = self.access.get(token)
        if entry is None:
            return "unknown"
        return "dead" if entry["dead"] or self._clock() >= entry["expires_at"] else "live"

    def expire_all(self) -> int:
        with self._lock:
            for entry in self.access.values():
                entry["dead"] = True
            return len(self.access)

    def dump(self) -> dict:
        with self._lock:
            return {"access": {t: dict(e) for t, e in self.access.items()},
                    "refresh": {t: dict(e) for t, e in self.refresh.items()}, "refresh_count": self.refresh_count}

    def load(self, data: dict) -> None:
        with self._lock:
            self.access = {t: dict(e) for t, e in data.get("access", {}).items()}
            self.refresh = {t: dict(e) for t, e in data.get("refresh", {}).items()} or self.refresh
            self.refresh_count = int(data.get("refresh_count", 0))


def _client(request: Request, form: dict[str, str]) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def build_identity_app(config: SandboxConfig, registry: TokenRegistry, count_request) -> Starlette:
    credentials = config.credentials

    def error(code: str) -> JSONResponse:
        return JSONResponse({"error": code}, status_code=400, media_type=TOKEN_TYPE)

    async def token(request: Request) -> JSONResponse:
        count_request("POST /connect/token")
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(errors="replace"),
                                               keep_blank_values=True).items()}
        client_id, secret = _client(request, form)
        if (client_id, secret) != (credentials.xero_client_id, credentials.xero_client_secret):
            return error("invalid_client")
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            return error("invalid_grant")  # the sandbox issues no authorization codes
        if grant == "client_credentials":
            return error("unauthorized_client")
        if grant != "refresh_token":
            return error("unsupported_grant_type")
        issued = registry.rotate(form.get("refresh_token", ""))
        if issued is None:
            return error("invalid_grant")
        access, refresh = issued
        return JSONResponse({"access_token": access, "expires_in": registry.access_ttl, "token_type": "Bearer",
                             "refresh_token": refresh, "scope": SCOPES}, media_type=TOKEN_TYPE,
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return Starlette(routes=[Route("/connect/token", token, methods=["POST"])])
