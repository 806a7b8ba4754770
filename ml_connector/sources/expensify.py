"""Expensify as a source of spend: approved reports through the Integration Server.

One endpoint takes every job as a form POST: `requestJobDescription` (JSON, credentials inside) and, for
exports, a separate `template` form field (FreeMarker). A month is read in two requests: a `file` job
renders the connector's template (`expensify_export.ftl`) over the approved reports and answers a bare file
name; a `download` job returns the rendered JSON. Reports are marked with the connector's label only after
the ledger accepted them, by a second export of exactly those report ids with `onFinish: markAsExported`;
later exports filter on `markedAsExported` so a marked report is not read again.

Errors arrive as HTTP 200 with {"responseCode": N, "responseMessage": "..."}; `classify_response` reads
them. Limits (5 requests per 10 s and 20 per 60 s per partnerUserID) are kept by two process-wide
limiters; a 429 that still happens is retried after the short window has passed.
Expensify's vocabulary (reportState, approvedAfter, markedAsExported, policyIDList) stays in this module.
See /work/shared/reference/notes/expensify.md for the sources of every behaviour relied on here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import Engine

from ml_connector.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    ValidationRejected,
)
from ml_connector.http import HttpClient, RateLimiter, RetryPolicy, shared_limiter
from ml_connector.redact import scrub_text
from ml_connector.sources.expensify_records import report_day, report_to_records
from ml_connector.store.rate_budget import StoreRateBudget

__all__ = ["ExpensifyClient", "classify_response", "export_label", "report_to_records", "DEFAULT_LABEL"]

log = logging.getLogger("ml_connector.sources.expensify")

ENDPOINT = "Integration-Server/ExpensifyIntegrations"
TEMPLATE = (Path(__file__).with_name("expensify_export.ftl")).read_text(encoding="utf-8")
# Marking needs a template too (the exporter refuses a job without one); this one renders the ids only.
MARK_TEMPLATE = "<#list reports as report>${report.reportID}\n</#list>"
# The documented limits (notes §8): (requests, window in seconds), all kept at once.
RATE_LIMITS: tuple[tuple[int, float], ...] = ((5, 10.0), (20, 60.0))
# Our clock starts when a slot is taken, Expensify's when the request lands: a little slack on every window.
WINDOW_MARGIN_SECONDS = 0.5
APPROVED_STATES = ("APPROVED", "REIMBURSED")
MAX_RANGE_DAYS = 365  # "total range <= 1 year" (notes §2)
MARK_BATCH = 200  # report ids per markAsExported job
DEFAULT_LABEL = "ml-connector/zoho-books"
DOWNLOAD_ATTEMPTS, DOWNLOAD_WAIT_SECONDS = 3, 2.0  # a file not rendered yet (notes §3: Expensify's script retries)


def export_label(ledger: str = "zoho-books", organization_id: str | None = None) -> str:
    """The label the connector marks exported reports with: one per destination ledger organisation, so two
    Zoho organisations fed from one Expensify account each get every report once."""
    return f"ml-connector/{ledger}" + (f"/{organization_id}" if organization_id else "")


def classify_response(secrets: Sequence[str] = (), *, rate_limit_wait: float = 10.0):
    """The Integration Server's errors: a JSON body whose responseCode is not 200, usually under HTTP 200.

    A successful export answers a bare file name and a download the file itself, so only JSON bodies that
    carry a responseCode (or nothing but a responseMessage, the shape of a missing file) are errors.
    """

    def classify(response: requests.Response) -> ConnectorError | None:
        text = response.text
        envelope = _envelope(text)
        if envelope is None:
            if response.status_code < 400:
                return None
            code, message = response.status_code, text[:300]
        else:
            code, message = envelope
            if code == 200:
                return None
        message = scrub_text(message, list(secrets))
        return _error_for(code, message, rate_limit_wait)

    return classify


def _envelope(text: str) -> tuple[int, str] | None:
    head = text.lstrip()[:200]
    if not head.startswith("{") or ('"responseCode"' not in text and not head.startswith('{"responseMessage"')):
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    message = str(body.get("responseMessage") or "")
    if "responseCode" not in body:
        return (410, message) if set(body) == {"responseMessage"} else None
    try:
        return int(str(body["responseCode"]).strip()), message
    except ValueError:
        return 500, message


def _error_for(code: int, message: str, rate_limit_wait: float) -> ConnectorError:
    said = f"Expensify answered {code}: {message or 'no message'}"
    if code == 429:
        # No Retry-After comes with it (notes §8): wait for the short window to pass before trying again.
        return RateLimited(f"{said}. Retrying after {rate_limit_wait:.0f}s.", system="expensify",
                           retry_after=rate_limit_wait, vendor_code=code)
    if code in (401, 403, 407):
        return AuthError(f"{said}. Fix: check ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID and _SECRET (generate a new "
                         "pair at https://www.expensify.com/tools/integrations/); the user must be a policy admin.",
                         system="expensify", status=code, vendor_code=code)
    if code == 404:
        return NotFound(said, system="expensify", status=code, vendor_code=code)
    if 500 <= code < 600:
        return RetryableError(said, system="expensify", status=code)
    return ValidationRejected(said, system="expensify", status=code, vendor_code=code, vendor_message=message)


class _Limits:
    """Several RateLimiters taken together before each request (HttpClient holds one limiter)."""

    def __init__(self, limiters: Sequence[RateLimiter | StoreRateBudget]) -> None:
        # The longest window first: a wait on a shorter one then leaves its stamp fresh.
        self.limiters = sorted(limiters, key=lambda limiter: -limiter.window_seconds)

    def acquire(self) -> None:
        for limiter in self.limiters:
            limiter.acquire()

    def pause(self, seconds: float) -> None:
        # Holding the shortest window holds every caller; the longer windows keep their history.
        self.limiters[-1].pause(seconds)

    @property
    def waited_seconds(self) -> float:
        return sum(limiter.waited_seconds for limiter in self.limiters)


class ExpensifyClient:
    def __init__(self, base_url: str, partner_user_id: str, partner_user_secret: str, *,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] = (5, 60),
                 rate_limits: Sequence[tuple[int, float]] = RATE_LIMITS, engine: Engine | None = None) -> None:
        if not partner_user_id or not partner_user_secret:
            raise ConfigError("Expensify credentials are incomplete.",
                              setting="ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID" if not partner_user_id
                              else "ML_CONNECTOR_EXPENSIFY_PARTNER_USER_SECRET",
                              fix="set ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID and _SECRET")
        self.partner_user_id = partner_user_id
        self._secret = partner_user_secret
        # With a store, the budgets are shared by every process using this partnerUserID (Expensify counts per
        # user, not per process); without one (a unit test), by the threads of this process.
        self.limits = _Limits([
            StoreRateBudget(engine, "expensify", f"{partner_user_id}/{window:g}s", int(limit),
                            float(window) + WINDOW_MARGIN_SECONDS, headroom=1.0) if engine is not None else
            shared_limiter("expensify", f"{partner_user_id}/{window:g}s", int(limit),
                           float(window) + WINDOW_MARGIN_SECONDS)
            for limit, window in rate_limits])
        short_window = min(float(window) for _, window in rate_limits) if rate_limits else 10.0
        self.rate_limited = 0  # 429 answers seen (retried), for metadata and benchmarks
        classify = classify_response([partner_user_secret], rate_limit_wait=short_window + WINDOW_MARGIN_SECONDS)

        def counting(response: requests.Response) -> ConnectorError | None:
            error = classify(response)
            if isinstance(error, RateLimited):
                self.rate_limited += 1
                log.info("Expensify rate-limited a request; waiting %.1fs", error.retry_after or 0)
            return error

        # Enough attempts to outlast the 60 s window at one retry per short window.
        self.http = HttpClient("expensify", base_url, limiter=self.limits,  # type: ignore[arg-type]
                               classify=counting, retry=retry or RetryPolicy(max_attempts=8, base_delay=1.0,
                                                                            max_delay=60.0),
                               timeout=(float(timeout[0]), float(timeout[1])))

    @classmethod
    def from_settings(cls, settings, vault=None, **kwargs: Any) -> ExpensifyClient:
        from ml_connector.credentials import resolve_secret

        if not settings.expensify_partner_user_id:
            raise ConfigError("ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID is not set.",
                              setting="ML_CONNECTOR_EXPENSIFY_PARTNER_USER_ID",
                              fix="set it to the partnerUserID from https://www.expensify.com/tools/integrations/")
        secret = resolve_secret(settings, vault, "expensify", "partner_user_secret")
        if not secret:
            raise ConfigError("ML_CONNECTOR_EXPENSIFY_PARTNER_USER_SECRET is not set.",
                              setting="ML_CONNECTOR_EXPENSIFY_PARTNER_USER_SECRET",
                              fix="set it, or store it with `ml-connector credentials set expensify "
                                  "partner_user_secret`")
        return cls(settings.expensify_base_url, settings.expensify_partner_user_id, secret, **kwargs)

    @property
    def calls(self) -> int:
        return self.http.calls

    # -- transport --------------------------------------------------------------------------------

    def _job(self, job: dict, template: str | None = None) -> requests.Response:
        body = {**job, "credentials": {"partnerUserID": self.partner_user_id, "partnerUserSecret": self._secret}}
        fields = {"requestJobDescription": json.dumps(body)}
        if template is not None:
            fields["template"] = template  # its own form field: inside the JSON it is "No Template Submitted"
        # Exports, downloads and getters change nothing; marking a report twice with one label is a no-op.
        return self.http.request("POST", ENDPOINT, data=fields, is_idempotent=True)

    def _export_file(self, input_settings: dict, template: str, on_finish: list[dict] | None = None) -> str:
        job: dict[str, Any] = {"type": "file", "onReceive": {"immediateResponse": ["returnRandomFileName"]},
                               "inputSettings": {"type": "combinedReportData", **input_settings},
                               "outputSettings": {"fileExtension": "json"}}
        if on_finish:
            job["onFinish"] = on_finish
        name = self._job(job, template).text.strip()
        if not name or "\n" in name or len(name) > 300:
            raise ValidationRejected("Expensify answered the export without a file name; the exporter may have "
                                     "changed its answer.", system="expensify", field="onReceive")
        return name

    def _download(self, file_name: str) -> str:
        job = {"type": "download", "fileName": file_name, "fileSystem": "integrationServer"}
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                return self._job(job).text
            except (ValidationRejected, NotFound) as exc:
                if attempt == DOWNLOAD_ATTEMPTS or "not found" not in str(exc).lower():
                    raise
                log.info("Expensify file %s is not ready yet (attempt %d)", file_name, attempt)
                time.sleep(DOWNLOAD_WAIT_SECONDS * attempt)
        raise AssertionError("unreachable")

    # -- reads ------------------------------------------------------------------------------------

    def export_reports(self, start: date, end: date, *, states: Iterable[str] = APPROVED_STATES,
                       exclude_label: str | None = None, report_ids: Sequence[str] | None = None,
                       policy_ids: Sequence[str] | None = None) -> list[dict]:
        """Reports in `states` approved in [start, end] and not yet marked with `exclude_label`, as the
        connector's template renders them (amounts in integer cents).

        Expensify's startDate/endDate judge max(created, submitted), not approval, so the window is anchored
        on approvedAfter (which excludes its own day: hence start - 1) with endDate = end (a report approved
        by `end` was created and submitted by then), and the approval date is checked again here.
        """
        if end < start:
            raise ValueError(f"the export window ends ({end}) before it starts ({start})")
        states = tuple(states)
        found: dict[str, dict] = {}
        for window_start, window_end in _windows(start, end):
            settings: dict[str, Any] = {"reportState": ",".join(states)} if states else {}
            filters: dict[str, str] = {}
            if report_ids:
                filters["reportIDList"] = ",".join(report_ids)
            else:
                filters["approvedAfter"] = (window_start - timedelta(days=1)).isoformat()
                filters["endDate"] = window_end.isoformat()
            if policy_ids:
                filters["policyIDList"] = ",".join(policy_ids)
            if exclude_label:
                filters["markedAsExported"] = exclude_label
            settings["filters"] = filters
            for report in _parse_export(self._download(self._export_file(settings, TEMPLATE))):
                found.setdefault(str(report.get("reportID")), report)
            if report_ids:
                break  # the ids are the whole filter: one job covers every window
        return [report for report in found.values()
                if (not states or report.get("state") in states)
                and (day := report_day(report.get("approved"))) is not None and start <= day <= end]

    def policies(self, *, admin_only: bool = True) -> list[dict]:
        """The policies the credentials can see: id, name, outputCurrency, role, type, owner."""
        body = self._job({"type": "get", "inputSettings": {"type": "policyList", "adminOnly": admin_only}})
        return list(_json(body.text).get("policyList") or [])

    def policy(self, policy_id: str, fields: Sequence[str] = ("categories", "tags", "employees")) -> dict:
        """One policy's categories (with glCode), tags (per level, with glCode) and employees."""
        body = self._job({"type": "get", "inputSettings": {"type": "policy", "fields": list(fields),
                                                            "policyIDList": [policy_id]}})
        info = _json(body.text).get("policyInfo") or {}
        if policy_id not in info:
            raise NotFound(f"Expensify returned no policy {policy_id}; check the id with policies().",
                           system="expensify")
        return info[policy_id]

    # -- the one write ----------------------------------------------------------------------------

    def mark_exported(self, report_ids: Sequence[str], label: str) -> None:
        """Mark reports as exported with `label`. Call it only after the ledger accepted them: Expensify
        offers no way to unmark (notes §9)."""
        if not label:
            raise ValueError("an export label is required to mark reports")
        ids = list(dict.fromkeys(str(rid) for rid in report_ids))
        for index in range(0, len(ids), MARK_BATCH):
            batch = ids[index:index + MARK_BATCH]
            self._export_file({"filters": {"reportIDList": ",".join(batch)}}, MARK_TEMPLATE,
                              on_finish=[{"actionName": "markAsExported", "label": label}])
            log.info("marked %d Expensify reports as exported with label %r", len(batch), label)


def _windows(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut into ranges Expensify accepts (approvedAfter to endDate at most a year)."""
    out = []
    while start <= end:
        stop = min(end, start + timedelta(days=MAX_RANGE_DAYS - 1))
        out.append((start, stop))
        start = stop + timedelta(days=1)
    return out


def _json(text: str) -> dict:
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise ValidationRejected(f"Expensify answered something that is not JSON: {exc}", system="expensify") from exc
    if not isinstance(body, dict):
        raise ValidationRejected("Expensify answered JSON that is not an object", system="expensify")
    return body


def _parse_export(text: str) -> list[dict]:
    try:
        body = _json(text)
    except ValidationRejected as exc:
        raise ValidationRejected(f"The Expensify export did not render as JSON ({exc}); check "
                                 "ml_connector/sources/expensify_export.ftl.", system="expensify",
                                 field="template") from exc
    reports = body.get("reports")
    if not isinstance(reports, list):
        raise ValidationRejected("The Expensify export has no 'reports' list; check expensify_export.ftl.",
                                 system="expensify", field="template")
    return reports
