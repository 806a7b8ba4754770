"""Every request a client sent to the sandbox, kept when `SandboxConfig.record_requests` is on, so tests can
check each one against the vendor's published request schema (the contract tests' request conformance).

An ASGI middleware around the whole sandbox app: it copies the method, the path, the query string and the
body as they arrived, and passes the request on untouched. Control routes (`/_sandbox/...`) are not kept.
`GET /_sandbox/requests?prefix=zoho` answers `{"requests": [{method, path, query, content_type, body, headers,
parts?}]}` (body as text; JSON bodies parsed), oldest first; `DELETE /_sandbox/requests` forgets them. At most
`LIMIT` requests are kept (the oldest are dropped), so a long rehearsal cannot grow without bound.

- `headers`: the NAMES of the headers sent (lower case, sorted), so a test can check the ones a spec requires
  (Xero's `xero-tenant-id`, `Idempotency-Key`). Never their values: they carry tokens.
- `parts` (multipart bodies only): each part's `name`, `filename`, `content_type`, and `body`, which is the
  part's JSON parsed when the part is JSON (QuickBooks' upload metadata, an Attachable) and otherwise only
  `"<N bytes>"`: file contents are never kept.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from email.parser import BytesParser
from email.policy import default as default_policy
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

LIMIT = 50_000


class RequestLog:
    def __init__(self, app, enabled: bool) -> None:
        self.app, self.enabled = app, enabled
        self._kept: deque[dict] = deque(maxlen=LIMIT)
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if not self.enabled or scope["type"] != "http" or "/_sandbox/" in path:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def copying_receive():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        try:
            await self.app(scope, copying_receive, send)
        finally:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            self._keep(scope["method"], path, scope.get("query_string", b"").decode("latin-1"),
                       headers.get("content-type", ""), b"".join(chunks), sorted(headers))

    def _keep(self, method: str, path: str, query: str, content_type: str, body: bytes,
              header_names: list[str] | None = None) -> None:
        text = body.decode("utf-8", errors="replace")
        parsed: object = text
        if "json" in content_type and text:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
        elif "multipart" in content_type:
            parsed = f"<multipart, {len(body)} bytes>"
        entry = {"method": method, "path": path, "query": dict(parse_qsl(query, keep_blank_values=True)),
                 "content_type": content_type, "body": parsed, "headers": header_names or []}
        if "multipart" in content_type:
            entry["parts"] = multipart_parts(content_type, body)
        with self._lock:
            self._kept.append(entry)

    async def endpoint(self, request: Request) -> JSONResponse:
        if request.method == "DELETE":
            with self._lock:
                self._kept.clear()
            return JSONResponse({"cleared": True})
        prefix = "/" + request.query_params.get("prefix", "").strip("/")
        with self._lock:
            kept = [r for r in self._kept if prefix == "/" or r["path"].startswith(prefix + "/")]
        return JSONResponse({"requests": kept, "enabled": self.enabled})


def multipart_parts(content_type: str, body: bytes) -> list[dict]:
    """Each part of a multipart body: its name, filename and type, its JSON parsed, any other content as a size."""
    message = BytesParser(policy=default_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    if not message.is_multipart():
        return []
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True) or b""
        kept: object = f"<{len(payload)} bytes>"
        if "json" in part.get_content_type():
            try:
                kept = json.loads(payload.decode("utf-8"))
            except ValueError:
                pass
        parts.append({"name": part.get_param("name", header="content-disposition"), "filename": part.get_filename(),
                      "content_type": str(part.get("Content-Type", "")), "body": kept})
    return parts
