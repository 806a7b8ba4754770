"""How the connector's credentials are doing, read from the store, so a person hears before a month fails.

- Brex user tokens expire after 90 days without an API call (Brex authentication docs; an older FAQ said 30).
  The last successful Brex call is the newest Brex `fetch` event of the audit trail (every Brex read of a
  month, of accounting records and of vendors writes one). Idle past `idle_warn_days`: a warning naming the
  day it expires; past 90 days: an error (it has probably expired). With no Brex fetch in the trail yet
  nothing can be said, and nothing is reported. Whether Brex OAuth refresh tokens also lapse unused is not
  documented (a third party says 90 days): the same finding applies to them, the stricter reading.
- Token refreshes that failed (Zoho, QuickBooks, Xero: `token.refresh` events with outcome `failed`): an
  episode still going on (no successful refresh after it) is one finding; a refresh token refused as revoked
  or invalid (`invalid_grant`, Zoho's `invalid_code`) is an error that needs a person to reconnect.
Each finding has a key that stays the same while its condition lasts (the idle period's last call, the
episode's first failure), and `record_new` writes a finding to the audit trail only once, so a sensor that
asks every few minutes alerts once. Messages name systems, dates and error codes, never a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.db import write_transaction
from ml_connector.store.schema import audit_events

BREX_IDLE_EXPIRY_DAYS = 90
REVOKED_CODES = frozenset({"invalid_grant", "invalid_code", "invalid_token"})
ACTION = "credential.finding"
RECONNECT = {"zoho": "create a new Zoho refresh token and set ML_CONNECTOR_ZOHO_REFRESH_TOKEN (or the vault's "
                     "zoho refresh_token)",
             "quickbooks": "reconnect the QuickBooks app and set ML_CONNECTOR_QUICKBOOKS_REFRESH_TOKEN",
             "xero": "reconnect the Xero app and set ML_CONNECTOR_XERO_REFRESH_TOKEN",
             "brex": "reconnect the Brex app and set ML_CONNECTOR_BREX_REFRESH_TOKEN"}
EPISODE_ROWS = 1000  # failed refreshes read per episode: enough to see every error code that occurred


@dataclass(frozen=True)
class Finding:
    key: str  # the same while the condition lasts: reported once
    system: str
    kind: Literal["brex_idle", "brex_expired", "refresh_failed", "refresh_revoked"]
    severity: Literal["warning", "error"]
    message: str
    detail: dict = field(default_factory=dict)


def check_credentials(engine: Engine, *, now: datetime | None = None, idle_warn_days: int = 60) -> list[Finding]:
    """Every credential condition worth telling a person about now."""
    now = now or datetime.now(UTC)
    findings = [f for f in [_brex_idle(engine, now, idle_warn_days)] if f is not None]
    return findings + _refresh_failures(engine)


def _brex_idle(engine: Engine, now: datetime, warn_days: int) -> Finding | None:
    with engine.connect() as connection:
        last = connection.execute(sa.select(sa.func.max(audit_events.c.occurred_at)).where(
            (audit_events.c.action == "fetch") & (audit_events.c.source_system == "brex")
            & (audit_events.c.outcome == "ok"))).scalar()
    if last is None:
        return None
    last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
    idle = now - last
    expires = (last + timedelta(days=BREX_IDLE_EXPIRY_DAYS)).date()
    detail = {"last_brex_call": last.isoformat(), "days_idle": idle.days, "expires_on": expires.isoformat()}
    if idle >= timedelta(days=BREX_IDLE_EXPIRY_DAYS):
        return Finding(f"brex:expired:{last.isoformat()}", "brex", "brex_expired", "error",
                       f"Brex has not been called for {idle.days} days (last successful call {last:%Y-%m-%d}): a "
                       f"Brex user token expires after {BREX_IDLE_EXPIRY_DAYS} days unused, so it has probably "
                       f"expired. Create a new one in Brex (Developer > Settings) and set "
                       f"ML_CONNECTOR_BREX_API_TOKEN (or the vault's brex api_token).", detail)
    if idle >= timedelta(days=warn_days):
        return Finding(f"brex:idle:{last.isoformat()}", "brex", "brex_idle", "warning",
                       f"Brex has not been called for {idle.days} days (last successful call {last:%Y-%m-%d}): a "
                       f"Brex user token expires after {BREX_IDLE_EXPIRY_DAYS} days unused, on {expires}. Run a "
                       f"month (ml-connector run, or month_sync in Dagster) before then to keep it alive.", detail)
    return None


def _refresh_failures(engine: Engine) -> list[Finding]:
    refreshes = (audit_events.c.action == "token.refresh") & audit_events.c.source_system.is_not(None)
    findings = []
    with engine.connect() as connection:
        last = connection.execute(
            sa.select(audit_events.c.source_system, audit_events.c.outcome, sa.func.max(audit_events.c.id))
            .where(refreshes).group_by(audit_events.c.source_system, audit_events.c.outcome)).all()
        newest: dict[str, dict[str, int]] = {}
        for system, outcome, last_id in last:
            newest.setdefault(system, {})[outcome] = last_id
        for system, ids in sorted(newest.items()):
            failed, ok = ids.get("failed"), ids.get("ok", 0)
            if failed is None or ok > failed:
                continue  # never failed, or refreshed fine since
            rows = connection.execute(
                sa.select(audit_events.c.id, audit_events.c.occurred_at, audit_events.c.detail)
                .where(refreshes & (audit_events.c.source_system == system) & (audit_events.c.outcome == "failed")
                       & (audit_events.c.id > ok)).order_by(audit_events.c.id).limit(EPISODE_ROWS)).all()
            findings.append(_episode(system, rows))
    return findings


def _episode(system: str, rows) -> Finding:
    codes = sorted({str((detail or {}).get("error") or "unknown") for _, _, detail in rows})
    first_id, first_at = rows[0][0], rows[0][1]
    revoked = sorted(REVOKED_CODES & set(codes))
    fix = RECONNECT.get(system, f"reconnect {system}")
    detail = {"failures": len(rows), "errors": codes, "since": first_at.isoformat()}
    if revoked:
        return Finding(f"{system}:refresh_revoked:{first_id}", system, "refresh_revoked", "error",
                       f"{system} refused the connector's refresh token as revoked or invalid ({', '.join(revoked)}) "
                       f"since {first_at:%Y-%m-%d %H:%M} UTC; nothing posts to it until a person reconnects. "
                       f"Fix: {fix}.", detail)
    return Finding(f"{system}:refresh_failed:{first_id}", system, "refresh_failed", "warning",
                   f"{system} token refreshes have failed {len(rows)} times since {first_at:%Y-%m-%d %H:%M} UTC "
                   f"({', '.join(codes)}), with no successful refresh since. If it goes on: {fix}.", detail)


def record_new(engine: Engine, findings: list[Finding], *, run_id: str | None = None) -> list[Finding]:
    """Write the findings the audit trail does not hold yet; returns those (the ones to alert about)."""
    if not findings:
        return []
    with write_transaction(engine) as connection:
        known = set(connection.execute(sa.select(audit_events.c.request_id).where(
            (audit_events.c.action == ACTION) & audit_events.c.request_id.in_([f.key for f in findings]))).scalars())
        new = [f for f in findings if f.key not in known]
        record(connection, *[AuditEvent(actor="dagster", action=ACTION, outcome=f.severity, run_id=run_id,
                                        source_system=f.system, request_id=f.key,
                                        detail={"kind": f.kind, "message": f.message, **f.detail}) for f in new])
    return new
