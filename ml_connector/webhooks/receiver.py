"""The Brex webhook receiver: a small Starlette app that verifies, stores once, and answers fast.

  POST /webhooks/brex   verify the Svix signature, store the event in the inbox once (keyed by Webhook-Id),
                        answer 200 `{"event_id", "stored", "duplicate"}`; a retry or replay of a stored id
                        is 200 with `duplicate: true` and stores nothing.
                        400 missing or malformed headers, or a body that is not a JSON event;
                        401 bad, stale or future-dated signature; 413 body over the limit (refused while
                        reading, before it is buffered); 503 when no secret or the store cannot be reached
                        (Svix retries those). Nothing is stored unless the answer is 200.
  GET  /healthz         200 when the store answers, else 503.
  GET  /metrics         Prometheus text: this process's counters, and the store's backlog.

The answer holds only the check that failed: never a secret, a signature or the body, and the log holds
the same. Svix allows 15 s; a verified event costs one insert, and a secret refresh (only after a failed
signature, at most once a minute) one Brex call with a 5 s read timeout. The app keeps no state but
counters and the secret cache, so several replicas behind a load balancer share one PostgreSQL store.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ml_connector.webhooks import inbox
from ml_connector.webhooks.secrets import SecretsUnavailable, WebhookSecrets
from ml_connector.webhooks.verify import BadSignature, VerifiedEvent, WebhookRejected, signed_headers

log = logging.getLogger("ml_connector.webhooks")

PATH = "/webhooks/brex"
REJECTION_REASONS = ("missing_headers", "malformed_headers", "stale_timestamp", "future_timestamp", "bad_signature",
                     "malformed_json", "body_too_large", "secrets_unavailable", "store_unavailable")


class BodyTooLarge(WebhookRejected):
    status = 413
    reason = "body_too_large"


class Counters:
    """This process's counts; Prometheus adds up the replicas."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = self.stored = self.duplicates = 0
        self.rejected = dict.fromkeys(REJECTION_REASONS, 0)

    def add(self, name: str, reason: str | None = None) -> None:
        with self._lock:
            if reason is not None:
                self.rejected[reason] = self.rejected.get(reason, 0) + 1
            else:
                setattr(self, name, getattr(self, name) + 1)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (a declared Content-Length is checked first)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
    return bytes(body)


class Receiver:
    def __init__(self, engine: Engine, secrets: WebhookSecrets, *, max_body_bytes: int) -> None:
        self.engine = engine
        self.secrets = secrets
        self.max_body_bytes = max_body_bytes
        self.counters = Counters()

    async def _verify(self, body: bytes, request: Request) -> VerifiedEvent:
        # The first use reads Brex's secrets: a blocking call, kept off the event loop.
        verifier = self.secrets.cached or await run_in_threadpool(self.secrets.verifier)
        try:
            return verifier.verify(body, request.headers)
        except BadSignature:
            # Perhaps Brex rotated its secret since we read it: read again (rate-limited) and retry once.
            fresh = await run_in_threadpool(self.secrets.refreshed, verifier)
            if fresh is None:
                raise
            return fresh.verify(body, request.headers)

    async def receive(self, request: Request) -> Response:
        self.counters.add("received")
        try:
            signed_headers(request.headers)  # 400 before reading a body that cannot be verified
            body = await read_body(request, self.max_body_bytes)
            event = await self._verify(body, request)
        except (WebhookRejected, SecretsUnavailable) as rejected:
            self.counters.add("rejected", rejected.reason)
            log.info("webhook refused (%s): %s", rejected.reason, rejected)
            return JSONResponse({"error": rejected.reason, "message": str(rejected)}, status_code=rejected.status)
        try:
            stored = await run_in_threadpool(inbox.insert_event, self.engine, event.event_id, event.event_type,
                                             event.payload)
        except SQLAlchemyError as error:
            self.counters.add("rejected", "store_unavailable")
            log.error("webhook %s not stored: the store failed (%s)", event.event_id, type(error).__name__)
            return JSONResponse({"error": "store_unavailable", "message": "the inbox could not be written; "
                                 "retry later"}, status_code=503)
        self.counters.add("stored" if stored else "duplicates")
        log.info("webhook %s %s (%s)", event.event_id, "stored" if stored else "already stored", event.event_type)
        return JSONResponse({"event_id": event.event_id, "stored": stored, "duplicate": not stored})

    async def healthz(self, request: Request) -> Response:
        try:
            await run_in_threadpool(inbox.ping, self.engine)
        except SQLAlchemyError as error:
            return JSONResponse({"status": "store unreachable", "error": type(error).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        try:
            backlog: inbox.Backlog | None = await run_in_threadpool(inbox.backlog, self.engine)
        except SQLAlchemyError:
            backlog = None
        return PlainTextResponse(self.render_metrics(backlog), media_type="text/plain; version=0.0.4")

    def render_metrics(self, backlog: inbox.Backlog | None) -> str:
        c = self.counters
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])
            lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

        metric("ml_connector_webhook_received_total", "counter", "Deliveries received at POST /webhooks/brex.",
               [("", c.received)])
        metric("ml_connector_webhook_stored_total", "counter", "Events stored in the inbox for the first time.",
               [("", c.stored)])
        metric("ml_connector_webhook_duplicates_total", "counter",
               "Verified deliveries of an event already in the inbox (retries, replays, other replicas).",
               [("", c.duplicates)])
        metric("ml_connector_webhook_rejected_total", "counter", "Deliveries refused, by reason; nothing stored.",
               [(f'{{reason="{reason}"}}', count) for reason, count in sorted(c.rejected.items())])
        metric("ml_connector_webhook_secret_fetches_total", "counter", "Reads of Brex's webhook secrets.",
               [("", self.secrets.fetch_count)])
        metric("ml_connector_webhook_store_up", "gauge", "1 when the store answered this scrape.",
               [("", 0 if backlog is None else 1)])
        if backlog is not None:
            metric("ml_connector_webhook_inbox_backlog", "gauge",
                   "Events in the inbox not yet handled by the sensor (whole store).", [("", backlog.unhandled)])
            age = (datetime.now(UTC) - backlog.newest_received_at).total_seconds() \
                if backlog.newest_received_at else math.nan
            metric("ml_connector_webhook_last_event_age_seconds", "gauge",
                   "Seconds since the newest event in the inbox was received (whole store; NaN when empty).",
                   [("", age)])
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def create_app(engine: Engine, secrets: WebhookSecrets, *, max_body_bytes: int) -> Starlette:
    receiver = Receiver(engine, secrets, max_body_bytes=max_body_bytes)
    app = Starlette(routes=[Route(PATH, receiver.receive, methods=["POST"]),
                            Route("/healthz", receiver.healthz, methods=["GET"]),
                            Route("/metrics", receiver.metrics, methods=["GET"])])
    app.state.receiver = receiver
    return app


def app_from_settings(settings=None) -> Starlette:
    """The receiver for the configured store and secrets (ML_CONNECTOR_* variables, then the vault)."""
    from ml_connector.settings import load_settings
    from ml_connector.store import open_store
    from ml_connector.vault import Vault
    from ml_connector.webhooks.secrets import secrets_from_settings

    settings = settings or load_settings()
    engine = open_store(settings.store_url)
    vault = Vault(engine, settings.master_key.get_secret_value(), actor="webhook-receiver") \
        if settings.master_key else None
    return create_app(engine, secrets_from_settings(settings, vault), max_body_bytes=settings.webhook_max_body_bytes)
