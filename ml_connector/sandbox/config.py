"""What a sandbox server is asked to be: its data, its limits, its faults and the credentials it accepts."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import date

from ml_connector.sandbox.catalog import months_ending


def _last_full_month(today: date | None = None) -> str:
    today = today or date.today()
    year, month = today.year, today.month - 1
    if month == 0:
        year, month = year - 1, 12
    return f"{year:04d}-{month:02d}"


def _uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


ORGS = ("us", "uk")  # the sandbox ledgers' organisation profiles: a US company without tax, a UK one with VAT


@dataclass(frozen=True)
class Credentials:
    """The secrets a client needs for this sandbox; derived from the seed so restarts agree."""

    brex_token: str
    brex_client_id: str
    brex_client_secret: str
    brex_refresh_token: str
    brex_webhook_secret: str  # "whsec_" + base64 of the signing key, as Svix gives it
    zoho_client_id: str
    zoho_client_secret: str
    zoho_refresh_token: str
    zoho_organization_id: str
    expensify_partner_user_id: str
    expensify_partner_user_secret: str
    quickbooks_client_id: str
    quickbooks_client_secret: str
    quickbooks_refresh_token: str  # the first of a rotating chain: each refresh may hand out a successor
    quickbooks_realm_id: str
    xero_client_id: str
    xero_client_secret: str
    xero_refresh_token: str  # rotates on every refresh
    xero_tenant_id: str

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        def token(name: str, length: int = 32) -> str:
            return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:length]

        signing_key = hashlib.sha256(f"{seed}:svix".encode()).digest()[:24]
        return cls(
            brex_token=f"bxt_{token('brex-token', 40)}",
            brex_client_id=f"bxc_{token('brex-client-id', 16)}",
            brex_client_secret=token("brex-client-secret", 40),
            brex_refresh_token=f"bxr_{token('brex-refresh', 40)}",
            brex_webhook_secret="whsec_" + base64.b64encode(signing_key).decode(),
            zoho_client_id=f"1000.{token('zoho-client-id', 30).upper()}",
            zoho_client_secret=token("zoho-client-secret", 42),
            zoho_refresh_token=f"1000.{token('zoho-refresh-a', 32)}.{token('zoho-refresh-b', 32)}",
            zoho_organization_id=str(700_000_000 + int(token("zoho-org", 8), 16) % 99_999_999),
            expensify_partner_user_id=f"aa_sandbox_{token('expensify-user', 12)}",
            expensify_partner_user_secret=token("expensify-secret", 40),
            quickbooks_client_id=f"AB{token('qbo-client-id', 48)}",
            quickbooks_client_secret=token("qbo-client-secret", 40),
            quickbooks_refresh_token=f"RT1-{token('qbo-refresh', 48)}",
            quickbooks_realm_id=str(9_341_450_000_000_000 + int(token("qbo-realm", 10), 16) % 9_999_999),
            xero_client_id=token("xero-client-id", 32).upper(),
            xero_client_secret=token("xero-client-secret", 48),
            xero_refresh_token=token("xero-refresh", 64),
            xero_tenant_id=_uuid(token("xero-tenant", 32)),
        )


@dataclass
class SandboxConfig:
    seed: int = 7
    last_month: str = field(default_factory=_last_full_month)  # newest month with data, YYYY-MM
    months: int = 3  # how many months of data, ending with last_month
    brex_expenses_per_month: int = 200
    expensify_reports_per_month: int = 20
    faults: float = 0.0  # share of requests that fail
    slow_seconds: float = 3.0  # how long a "slow" fault holds a response
    token_ttl_seconds: int = 3600  # Zoho access tokens (Brex OAuth tokens too)
    rate_limits: str = "real"  # "real" or "off"
    # Which organisation the ledger sandboxes model: "us" (no sales tax, one location) or "uk" (VAT on,
    # tax codes required on lines, several business locations). Each ledger sandbox documents its profile.
    org: str = "us"
    state_file: str | None = None
    public_url: str = ""  # set by the server once bound: http://127.0.0.1:PORT
    # Vendor limits that tests shrink so a limit can be reached quickly, e.g. {"zoho.daily": 50}.
    # Each vendor module documents its keys; absent keys take the real value.
    limit_overrides: dict[str, float] = field(default_factory=dict)
    # Keep every request clients send (`request_log`), for the request-conformance tests.
    record_requests: bool = False

    def __post_init__(self) -> None:
        if self.rate_limits not in ("real", "off"):
            raise ValueError(f"rate_limits must be 'real' or 'off', not {self.rate_limits!r}")
        if self.org not in ORGS:
            raise ValueError(f"org must be one of {', '.join(ORGS)}, not {self.org!r}")
        if not 0.0 <= self.faults <= 1.0:
            raise ValueError(f"faults must be a share between 0 and 1, not {self.faults!r}")

    @property
    def month_keys(self) -> list[str]:
        return months_ending(self.last_month, self.months)

    @property
    def credentials(self) -> Credentials:
        return Credentials.for_seed(self.seed)

    def limit(self, key: str, real_value: float) -> float:
        return self.limit_overrides.get(key, real_value)

    @property
    def enforce_rate_limits(self) -> bool:
        return self.rate_limits == "real"
