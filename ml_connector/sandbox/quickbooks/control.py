"""The sandbox's own control routes (not Intuit's): no auth, never faulted, under the API app at `/_sandbox`.

- GET  /_sandbox/entries             every JournalEntry and Bill of every realm, full and unpaginated:
                                     `{"entries": [{"realm_id", "type", "status": "active"|"voided"|
                                     "deleted", "entity": {...}}]}`, deleted ones included
- POST /_sandbox/expire-tokens       every access token issued so far answers 401 "Token expired"
- GET  /_sandbox/stats               requests by endpoint, token refreshes, 429s answered for limits,
                                     requestid replays, requests in flight per realm
- POST /_sandbox/preferences         `{"book_close_date": "2026-09-30" | null, "class_tracking": bool,
                                     "department_tracking": bool, "multicurrency": bool, "realm_id"?}`:
                                     any subset; answers the new Preferences (SyncToken bumped)
- POST /_sandbox/latency             `{"seconds": 0.5}`: hold each API call that long (concurrency tests)
- POST /_sandbox/reset-limits        forget the per-minute counters
- POST /_sandbox/authorize           `{"redirect_uri"?, "realm_id"?}` -> `{"code", "realmId"}`: what the
                                     consent redirect would carry, for `grant_type=authorization_code`
- GET  /_sandbox/attachables/{realm}/{id}   an uploaded file's bytes (the Attachable's TempDownloadUri)
Bad control input answers 400 `{"error": ...}`.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml_connector.sandbox.quickbooks.store import TRANSACTION_TYPES, public
from ml_connector.sandbox.quickbooks.wire import plain

if TYPE_CHECKING:
    from ml_connector.sandbox.quickbooks.sandbox import QuickBooksSandbox

PREFERENCE_FLAGS = ("class_tracking", "department_tracking", "multicurrency")


async def json_object(request: Request) -> dict | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def control_routes(sandbox: QuickBooksSandbox) -> list[Route]:
    def books_for(body: dict):
        return sandbox.realms.get(str(body.get("realm_id") or sandbox.profile.realm_id))

    async def entries(request: Request) -> JSONResponse:
        rows = []
        for realm_id, books in sandbox.realms.items():
            with books.lock:
                for entity in TRANSACTION_TYPES:
                    for record in list(books.records[entity].values()) + list(books.deleted[entity].values()):
                        rows.append({"realm_id": realm_id, "type": entity,
                                     "status": record.get("_status", "active"), "entity": plain(public(record))})
        return JSONResponse({"entries": rows})

    async def expire_tokens(request: Request) -> JSONResponse:
        return JSONResponse({"expired": sandbox.tokens.expire_all()})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(sandbox.stats())

    async def preferences(request: Request) -> JSONResponse:
        body = await json_object(request)
        books = books_for(body) if body is not None else None
        if books is None:
            return JSONResponse({"error": "send a JSON object; realm_id, if given, must be a sandbox realm"}, 400)
        changes: dict = {}
        if "book_close_date" in body:
            value = body["book_close_date"]
            try:
                changes["book_close_date"] = date.fromisoformat(value).isoformat() if value else None
            except (TypeError, ValueError):
                return JSONResponse({"error": "book_close_date must be yyyy-mm-dd or null"}, 400)
        for flag in PREFERENCE_FLAGS:
            if flag in body:
                if not isinstance(body[flag], bool):
                    return JSONResponse({"error": f"{flag} must be true or false"}, 400)
                changes[flag] = body[flag]
        return JSONResponse({"Preferences": plain(books.change_preferences(changes))})

    async def latency(request: Request) -> JSONResponse:
        body = await json_object(request) or {}
        sandbox.latency_seconds = float(body.get("seconds", 0))
        return JSONResponse({"seconds": sandbox.latency_seconds})

    async def reset_limits(request: Request) -> JSONResponse:
        sandbox.limits.reset()
        return JSONResponse({"reset": True})

    async def authorize(request: Request) -> JSONResponse:
        body = await json_object(request)
        books = books_for(body) if body is not None else None
        if books is None:
            return JSONResponse({"error": "send a JSON object; realm_id, if given, must be a sandbox realm"}, 400)
        code = sandbox.tokens.issue_code(books.realm_id, body.get("redirect_uri"))
        return JSONResponse({"code": code, "realmId": books.realm_id})

    async def attachable_content(request: Request) -> Response:
        books = sandbox.realms.get(request.path_params["realm_id"])
        record = books.get("Attachable", request.path_params["entity_id"]) if books else None
        if record is None or request.path_params["entity_id"] not in books.files:
            return JSONResponse({"error": "no such attachable file"}, 404)
        return Response(books.files[record["Id"]], media_type=record["ContentType"],
                        headers={"Content-Disposition": f'attachment; filename="{record["FileName"]}"'})

    return [Route("/_sandbox/entries", entries, methods=["GET"]),
            Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route("/_sandbox/preferences", preferences, methods=["POST"]),
            Route("/_sandbox/latency", latency, methods=["POST"]),
            Route("/_sandbox/reset-limits", reset_limits, methods=["POST"]),
            Route("/_sandbox/authorize", authorize, methods=["POST"]),
            Route("/_sandbox/attachables/{realm_id}/{entity_id}", attachable_content, methods=["GET"])]
