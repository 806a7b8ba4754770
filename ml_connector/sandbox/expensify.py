"""Sandbox Expensify Integration Server: Expensify has none, so ours is a product feature.

Mounted at /expensify by the sandbox server:

    POST /expensify/Integration-Server/ExpensifyIntegrations   form fields requestJobDescription (+ template)
         jobs: file (Report Exporter), download, get (policy, policyList), update (reportStatus)
    GET  /expensify/receipts/{receiptID}.png                    the receipt images that exports link to

Behaviour follows /work/shared/reference/notes/expensify.md: errors are {responseCode, responseMessage}
under HTTP 200; the exporter answers the bare file name; rate limits are 5 requests per 10 s and 20 per
60 s per partnerUserID (limit_overrides "expensify.per_10s", "expensify.per_minute"), answered like every
other error, with responseCode 429. An export that matches no report still renders the template over an
empty `reports` list and returns a file name: the notes leave Expensify's own answer unconfirmed.

The policies report in the organisation's base currency (`SandboxConfig.org`: USD in "us", GBP in "uk"):
`outputCurrency`, each report's `currency` and `total`, and each expense's `convertedAmount` at the
organisation's rate (expensify_data.py).

Control routes for tests and rehearsals (never faulted, never rate limited):

    GET  /expensify/_sandbox/reports?state=&month=   report summaries, with their export labels
    GET  /expensify/_sandbox/reports/{reportID}      one summary
    POST /expensify/_sandbox/reports                 {"approved": "yyyy-mm-dd[ HH:MM:SS]", "state"?,
                                                      "employeeEmail"?, "expenses"?} adds a late report
    POST /expensify/_sandbox/reports/{reportID}/approve   {"approved": ...} approves an open one late
"""

from __future__ import annotations

import struct
import threading
import zlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ml_connector.sandbox import expensify_jobs as jobs
from ml_connector.sandbox.catalog import Company
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.expensify_account import ExpensifyAccount, parse_moment
from ml_connector.sandbox.expensify_data import Report
from ml_connector.sandbox.expensify_wire import (
    JobError,
    error_response,
    form_fields,
    parse_job,
    rate_limited_response,
)
from ml_connector.sandbox.faults import FaultMiddleware, FaultPlan
from ml_connector.sandbox.ratelimit import SlidingWindow

ENDPOINT = "/Integration-Server/ExpensifyIntegrations"
PER_10S_KEY, PER_MINUTE_KEY = "expensify.per_10s", "expensify.per_minute"


def _tiny_png() -> bytes:
    """A 1x1 white PNG: enough for a client to download and store a receipt."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


RECEIPT_PNG = _tiny_png()


class ExpensifySandbox:
    def __init__(self, company: Company, config: SandboxConfig, faults: FaultPlan) -> None:
        self.company = company
        self.config = config
        self.account = ExpensifyAccount(company, config)
        self.per_10s = SlidingWindow(int(config.limit(PER_10S_KEY, 5)), 10.0)
        self.per_minute = SlidingWindow(int(config.limit(PER_MINUTE_KEY, 20)), 60.0)
        self._limit_lock = threading.Lock()
        self.throttled = 0  # 429 answers given (rate limits, not injected faults)
        routes = [
            Route(ENDPOINT, self.integrations, methods=["POST", "GET"]),
            Route("/receipts/{name}", self.receipt, methods=["GET"]),
            Route("/_sandbox/reports", self.list_reports, methods=["GET"]),
            Route("/_sandbox/reports", self.add_report, methods=["POST"]),
            Route("/_sandbox/reports/{report_id}", self.show_report, methods=["GET"]),
            Route("/_sandbox/reports/{report_id}/approve", self.approve_report, methods=["POST"]),
        ]
        app = Starlette(routes=routes)
        self.apps: dict[str, ASGIApp] = {"expensify": FaultMiddleware(app, faults, rate_limited_response)}

    @property
    def receipt_base(self) -> str:
        return f"{self.config.public_url}/expensify/receipts"

    # -- the Integration Server

    async def integrations(self, request: Request) -> Response:
        fields = await form_fields(request)
        try:
            job = parse_job(fields.get("requestJobDescription"))
            credentials = job.get("credentials") or {}
            user = str(
                credentials.get("partnerUserID") or (request.client.host if request.client else "anonymous")
            )
            if not self._admit(user):
                return rate_limited_response()
            self._authenticate(credentials)
            kind = job.get("type")
            if kind == "file":
                return jobs.export(self.account, job, fields.get("template"), self.receipt_base)
            if kind == "download":
                return jobs.download(self.account, job)
            if kind == "get":
                return jobs.get(self.account, job)
            if kind == "update":
                return jobs.update(self.account, job)
            raise JobError(410, "Argument 'type' is missing or malformed")
        except JobError as exc:
            return error_response(exc.code, exc.message)

    def _admit(self, user: str) -> bool:
        if not self.config.enforce_rate_limits:
            return True
        with self._limit_lock:
            if self.per_10s.remaining(user) < 1 or self.per_minute.remaining(user) < 1:
                self.throttled += 1
                return False
            self.per_10s.hit(user)
            self.per_minute.hit(user)
            return True

    def _authenticate(self, credentials: dict) -> None:
        expected = self.config.credentials
        if (
            credentials.get("partnerUserID") != expected.expensify_partner_user_id
            or credentials.get("partnerUserSecret") != expected.expensify_partner_user_secret
        ):
            # Not in the official docs; clients map 401 to bad credentials (notes §7).
            raise JobError(401, "Authentication error")

    async def receipt(self, request: Request) -> Response:
        name = request.path_params["name"]
        known = {f"{e.receipt_id}.png" for r in self.account.reports() for e in r.expenses if e.receipt_id}
        if name not in known:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(RECEIPT_PNG, media_type="image/png")

    # -- control routes

    def summary(self, report: Report) -> dict:
        return {
            "reportID": report.report_id,
            "state": report.state,
            "policyID": report.policy_id,
            "accountEmail": report.employee_email,
            "created": report.created,
            "submitted": report.submitted,
            "approved": report.approved,
            "reimbursed": report.reimbursed,
            "currency": report.currency,
            "total": report.total,
            "expenseCount": len(report.expenses),
            "transactionIDs": [e.transaction_id for e in report.expenses],
            "exportedLabels": list(self.account.labels.get(report.report_id, [])),
            "isLate": report.is_late,
        }

    async def list_reports(self, request: Request) -> Response:
        state, month = request.query_params.get("state"), request.query_params.get("month")
        reports = [
            r
            for r in self.account.reports()
            if (not state or r.state == state)
            and (not month or (r.approved or r.submitted or r.created).startswith(month))
        ]
        return JSONResponse({"reports": [self.summary(r) for r in reports]})

    async def show_report(self, request: Request) -> Response:
        report = self.account.report(request.path_params["report_id"])
        if report is None:
            return JSONResponse({"error": "no such report"}, status_code=404)
        return JSONResponse(self.summary(report))

    async def add_report(self, request: Request) -> Response:
        body = await request.json()
        try:
            approved = parse_moment(str(body["approved"]))
            state = body.get("state", "APPROVED")
            if state not in ("APPROVED", "REIMBURSED"):
                raise ValueError("state must be APPROVED or REIMBURSED")
            report = self.account.add_late_report(
                approved, state, body.get("employeeEmail"), body.get("expenses")
            )
        except (KeyError, ValueError) as exc:
            return JSONResponse(
                {"error": f'bad request: {exc}; send {{"approved": "yyyy-mm-dd"}}'}, status_code=400
            )
        return JSONResponse(self.summary(report), status_code=201)

    async def approve_report(self, request: Request) -> Response:
        report = self.account.report(request.path_params["report_id"])
        if report is None:
            return JSONResponse({"error": "no such report"}, status_code=404)
        try:
            body = await request.json()
            report = self.account.approve(report, parse_moment(str(body["approved"])))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        return JSONResponse(self.summary(report))

    # -- state file

    def dump(self) -> dict:
        return self.account.dump()

    def load(self, data: dict) -> None:
        self.account.load(data)
