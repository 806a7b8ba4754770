"""What the Brex sandbox delivers to webhook subscribers, and when; and its webhook routes.

Events the sandbox produces on its own, each to every active subscriber of its type:
- `EXPENSE_PAYMENT_UPDATED` when an expense is created (`POST /_sandbox/expenses`: a pending card
  purchase) or edited (`POST /_sandbox/expenses/{id}`). Real Brex sends it for pending and declined card
  activity; the sandbox also sends it for edits, so that a connector's reaction to an expense changed
  after posting can be rehearsed.
- `ACCOUNTING_RECORD_READY_FOR_EXPORT` when an edit moves an expense's accounting records into
  READY_FOR_EXPORT (e.g. status SUBMITTED -> APPROVED), with those record ids.
The other event types Brex defines (transfers, users, referrals, partnerships) describe things the
sandbox does not model; `POST /_sandbox/webhooks/emit` delivers any of them with a given payload.

Money in the payloads (`amount`, `billing_amount`) is what the card billed, in the organisation's billing
currency (USD in "us", GBP in "uk"; brex_billing.py); `original_amount` is in the merchant's currency.

None of these requests waits for a receiver: deliveries run in the background (brex_deliveries.py).
`emit` alone waits for each endpoint's first attempt, so it can answer with the status codes
(`"wait": false` returns at once).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ml_connector.sandbox.brex_accounting import BrexAccounting
from ml_connector.sandbox.brex_data import CardExpense
from ml_connector.sandbox.brex_params import ApiError, bad_request, decode_cursor, page_body, parse_limit
from ml_connector.sandbox.brex_render import BrexRenderer
from ml_connector.sandbox.brex_webhooks import EVENT_TYPES, BrexWebhooks, subscription_body

MAX_PAGE = 1000


class BrexEvents:
    def __init__(self, webhooks: BrexWebhooks, renderer: BrexRenderer, accounting: BrexAccounting,
                 expense_or_404: Callable[[str], CardExpense], read_json) -> None:
        self.webhooks = webhooks
        self.renderer = renderer
        self.accounting = accounting
        self.expense_or_404 = expense_or_404
        self.read_json = read_json

    # -- events the sandbox produces ---------------------------------------------------------------

    def expense_changed(self, expense: CardExpense, ready_before: set[str]) -> None:
        self.webhooks.send("EXPENSE_PAYMENT_UPDATED", self.renderer.expense_payment_updated(expense, {}))
        newly_ready = sorted(self.accounting.ready_for_export(expense.id) - ready_before)
        if newly_ready:
            self.webhooks.send("ACCOUNTING_RECORD_READY_FOR_EXPORT", self.records_ready(newly_ready))

    def records_ready(self, record_ids: list[str]) -> dict:
        # webhooks.yaml `AccountingRecordReadyForExport`: camelCase, unlike the other events.
        return {"event_type": "ACCOUNTING_RECORD_READY_FOR_EXPORT", "accountingRecordIds": record_ids,
                "companyId": self.renderer.company_id}

    # -- webhook API (Bearer token checked by the caller) ------------------------------------------

    async def list_secrets(self, request: Request) -> list:
        return self.webhooks.secrets()

    async def list_subscriptions(self, request: Request) -> dict:
        params = request.query_params
        limit = parse_limit(params.get("limit"), 100, MAX_PAGE)
        offset = decode_cursor(params.get("cursor"))
        rows = list(self.webhooks.subscriptions.values())
        return page_body(rows[offset:offset + limit], offset, limit, len(rows))

    async def create_subscription(self, request: Request) -> dict:
        key = request.headers.get("idempotency-key")
        if not key:
            raise bad_request("Idempotency-Key header is required for POST /v1/webhooks")
        if key in self.webhooks.idempotent:
            return self.webhooks.idempotent[key]
        body = subscription_body(await self.read_json(request))
        self.webhooks.idempotent[key] = subscription = self.webhooks.create(body)
        return subscription

    async def one_subscription(self, request: Request) -> object:
        subscription = self.webhooks.subscriptions.get(request.path_params["subscription_id"])
        if subscription is None:
            raise ApiError(404, {"type": "NOT_FOUND", "message": "Not Found"})
        if request.method == "DELETE":
            del self.webhooks.subscriptions[subscription["id"]]
            return Response(status_code=200)
        if request.method == "PUT":
            body = subscription_body(await self.read_json(request))
            if body.get("status") not in ("ACTIVE", "INACTIVE"):
                raise bad_request("status is required: ACTIVE or INACTIVE")
            subscription.update(url=body["url"], event_types=list(body["event_types"]), status=body["status"])
        return subscription

    # -- control routes ----------------------------------------------------------------------------

    async def emit(self, request: Request) -> dict:
        """{event_type?, expense_id?, accounting_record_ids?, payload?, url?, webhook_id?, timestamp?, wait?}"""
        body = await self.read_json(request)
        event_type = body.get("event_type", "EXPENSE_PAYMENT_UPDATED")
        if event_type not in EVENT_TYPES:
            raise bad_request(f"event_type must be one of {', '.join(EVENT_TYPES)}")
        payload = dict(body.get("payload") or {})
        if event_type == "EXPENSE_PAYMENT_UPDATED" and body.get("expense_id"):
            payload = self.renderer.expense_payment_updated(self.expense_or_404(body["expense_id"]), payload)
        elif event_type == "ACCOUNTING_RECORD_READY_FOR_EXPORT":
            payload = {**self.records_ready(list(body.get("accounting_record_ids", []))), **payload}
        payload.setdefault("event_type", event_type)
        urls = [body["url"]] if body.get("url") else None
        futures = self.webhooks.send(event_type, payload, urls, body.get("webhook_id"), body.get("timestamp"))
        if body.get("wait", True) is False:
            return {"event_type": event_type, "payload": payload, "deliveries": []}
        # Waiting blocks on the receiver, which may be served by this very event loop: wait in a thread.
        deliveries = [await run_in_threadpool(future.result) for future in futures]
        return {"event_type": event_type, "payload": payload, "deliveries": deliveries}

    async def rotate_secret(self, request: Request) -> dict:
        return {"secrets": self.webhooks.rotate()}

    async def deliveries(self, request: Request) -> dict:
        return {"deliveries": self.webhooks.queue.log(request.query_params.get("webhook_id"))}
