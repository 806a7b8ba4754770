"""Alerts for a person: into the audit trail, and to a Slack-compatible incoming webhook (ML_CONNECTOR_ALERT_URL).

The body is `{"text": ..., "blocks": [...]}`: `text` is what every Slack-compatible receiver reads (Slack,
Mattermost, Rocket.Chat...), `blocks` the layout Slack shows. Everything in it (the title, the reason) is
scrubbed first of every secret the caller knows and of anything shaped like one (a bearer token, a Brex or
Svix secret, a Zoho refresh token, a URL's query string), and the audit trail gets the same scrubbed text.
The alert URL is itself a secret (its path is the credential): it is never logged, audited or shown.
Delivering is best effort: a receiver that is down or refuses is logged and audited, and never raises, since
an alert must not fail the run it reports.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import requests
from sqlalchemy.engine import Engine

from ml_connector.redact import REDACTED, scrub_text
from ml_connector.store.audit import AuditEvent, record

log = logging.getLogger("ml_connector.alerts")

TIMEOUT = (3.0, 5.0)
REASON_LIMIT = 1500  # Slack truncates long sections; a person needs the first lines
_SHAPED_LIKE_SECRETS = (
    (re.compile(r"(?i)\b(bearer|basic|zoho-oauthtoken)\s+[^\s,;]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), REDACTED),
    (re.compile(r"\bbx[a-z]_[A-Za-z0-9_-]{8,}"), REDACTED),  # Brex user and OAuth tokens
    (re.compile(r"\b1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}\b"), REDACTED),  # Zoho refresh tokens
    (re.compile(r"(https?://[^\s?#]+)\?[^\s)>\]]+"), rf"\1?{REDACTED}"),  # query strings carry tokens
    (re.compile(r"(https?://)[^\s/@]+@"), rf"\1{REDACTED}@"),  # credentials in a URL
)


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure, checks_failed, credential
    title: str
    reason: str
    month: str | None = None  # YYYY-MM
    step: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    severity: str = "error"  # error or warning

    def text(self) -> str:
        lines = [f"*{self.title}*"]
        lines += [f"{label}: {value}" for label, value in (("Month", self.month), ("Step", self.step))
                  if value]
        lines.append(f"Reason: {self.reason}")
        if self.run_url:
            lines.append(f"Run: {self.run_url}")
        elif self.run_id:
            lines.append(f"Run: {self.run_id}")
        return "\n".join(lines)

    def payload(self) -> dict:
        fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                  for label, value in (("Month", self.month), ("Step", self.step), ("Severity", self.severity))
                  if value]
        blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.title}*"}}]
        if fields:
            blocks.append({"type": "section", "fields": fields})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": self.reason}})
        if self.run_url:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{self.run_url}|Open the run>"}})
        return {"text": self.text(), "blocks": blocks}


def run_url(dagster_url: str | None, run_id: str | None) -> str | None:
    """The run's page in the Dagster UI, when the webserver's base URL is known."""
    if not dagster_url or not run_id:
        return None
    return f"{dagster_url.rstrip('/')}/runs/{run_id}"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    text = scrub_text(text, tuple(s for s in secrets if s))
    for pattern, replacement in _SHAPED_LIKE_SECRETS:
        text = pattern.sub(replacement, text)
    return text


def send_alert(engine: Engine | None, alert: Alert, *, url: str | None, secrets: Iterable[str] = (),
               session: requests.Session | None = None) -> bool:
    """Audit the alert and deliver it; True when the receiver took it. Never raises."""
    known = [s for s in secrets if s] + ([url] if url else [])
    reason = scrub(alert.reason, known)
    alert = replace(alert, title=scrub(alert.title, known), reason=reason[:REASON_LIMIT]
                    + (" …" if len(reason) > REASON_LIMIT else ""))
    outcome, problem = "not_sent", "no ML_CONNECTOR_ALERT_URL is set"
    if url:
        try:
            response = (session or requests).post(url, json=alert.payload(), timeout=TIMEOUT)
            outcome, problem = ("sent", None) if 200 <= response.status_code < 300 else \
                ("delivery_failed", f"the alert receiver answered {response.status_code}")
        except requests.RequestException as error:
            outcome, problem = "delivery_failed", f"the alert receiver could not be reached ({type(error).__name__})"
        if problem:
            log.warning("alert %r not delivered: %s", alert.title, problem)
    if engine is not None:
        try:
            record(engine, AuditEvent(actor="dagster", action=f"alert.{alert.kind}", outcome=outcome,
                                      run_id=alert.run_id, month=alert.month,
                                      detail={"title": alert.title, "reason": alert.reason, "step": alert.step,
                                              "severity": alert.severity, "run_url": alert.run_url,
                                              "problem": problem}))
        except Exception:  # noqa: BLE001 - an alert must never fail what it reports
            log.warning("alert %r could not be written to the audit trail", alert.title, exc_info=True)
    return outcome == "sent"
