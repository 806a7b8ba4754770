"""The sandbox's own control routes under the Accounting app (`{sandbox}/xero/_sandbox/...`): not Xero's, no
auth, never faulted.

- GET  /_sandbox/entries        every manual journal and ACCPAY bill, full (as GET by id shows it, attachments
                                listed), unpaginated, DELETED and VOIDED ones included: {"ManualJournals", "Invoices"}
- POST /_sandbox/expire-tokens  every access token issued so far stops working (401): {"expired": n}
- GET  /_sandbox/stats          {"requests": {endpoint: n}, "token_refreshes", "rate_limited": {problem: n},
                                 "in_flight", "day", "day_used", "seconds_to_next_day", "idempotent_replays"}
- POST /_sandbox/lock-dates     {"PeriodLockDate"?: "YYYY-MM-DD"|null, "EndOfYearLockDate"?: ...}: set or clear
                                (a key left out keeps its value); answers both dates
- POST /_sandbox/latency        {"seconds": 0.5}: hold every accounting call that long (to test in-flight limits)
- POST /_sandbox/reset-limits   forget the minute windows and the day's count
- POST /_sandbox/next-day       start the next sandbox day now (the daily count starts again): {"day": n}
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_connector.sandbox.xero.records import invoice_wire, journal_wire

if TYPE_CHECKING:
    from ml_connector.sandbox.xero import XeroSandbox


def control_routes(sandbox: XeroSandbox) -> list[Route]:
    store = sandbox.store

    async def entries(request: Request) -> JSONResponse:
        with store.lock:
            body = {"ManualJournals": [journal_wire(store, j) for j in store.journals.values()],
                    "Invoices": [invoice_wire(store, i) for i in store.invoices.values() if i["Type"] == "ACCPAY"]}
        return JSONResponse(body)

    async def expire_tokens(request: Request) -> JSONResponse:
        return JSONResponse({"expired": sandbox.tokens.expire_all()})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"requests": sandbox.request_counts_snapshot(),
                             "token_refreshes": sandbox.tokens.refresh_count, **sandbox.limits.stats(),
                             "idempotent_replays": sandbox.idempotency.replays})

    async def lock_dates(request: Request) -> JSONResponse:
        body = json.loads(await request.body() or b"{}")
        changes = {}
        for key, attribute in (("PeriodLockDate", "period_lock_date"), ("EndOfYearLockDate", "end_of_year_lock_date")):
            if key in body:
                value = body[key]
                try:
                    changes[attribute] = None if value in (None, "") else date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    return JSONResponse({"error": f"{key} must be YYYY-MM-DD or null"}, status_code=400)
        with store.lock:
            for attribute, value in changes.items():
                setattr(store, attribute, value)
            return JSONResponse({"PeriodLockDate": store.period_lock_date,
                                 "EndOfYearLockDate": store.end_of_year_lock_date})

    async def latency(request: Request) -> JSONResponse:
        sandbox.latency_seconds = float(json.loads(await request.body() or b"{}").get("seconds", 0))
        return JSONResponse({"seconds": sandbox.latency_seconds})

    async def reset_limits(request: Request) -> JSONResponse:
        sandbox.limits.reset()
        return JSONResponse({"reset": True})

    async def next_day(request: Request) -> JSONResponse:
        return JSONResponse({"day": sandbox.limits.next_day()})

    return [Route("/_sandbox/entries", entries, methods=["GET"]),
            Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route("/_sandbox/lock-dates", lock_dates, methods=["POST"]),
            Route("/_sandbox/latency", latency, methods=["POST"]),
            Route("/_sandbox/reset-limits", reset_limits, methods=["POST"]),
            Route("/_sandbox/next-day", next_day, methods=["POST"])]
