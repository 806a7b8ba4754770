"""Brex as a source of spend for the engine: its mapping section and what holds a Brex record.

- Section `brex:` of the mapping file: posting mode (per_record or per_day journals), the card liability
  account every journal credits, categories, merchant overrides.
- Held before mapping: an expense not approved in Brex yet waits (it posts once approved).
- Re-read: every run reads the whole month again (Brex expenses change for weeks after the purchase), so
  the month's outcomes are replaced.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import Field

from ml_connector.mapping.rule_types import ACCOUNT_HINT, AccountRef, MerchantOverride, SourceRules
from ml_connector.sources.base import SourceSpec

APPROVED_STATUSES = ("APPROVED", "SETTLED")
NOT_APPROVED = "the expense is not approved in Brex yet; it posts once it is approved"


class BrexRules(SourceRules):
    posting_mode: Literal["per_record", "per_day"] = Field(
        "per_record", description="per_record (one journal per expense) or per_day (one per day, card, currency)")
    credit_account: AccountRef = Field(description=f"the Brex card liability account: {ACCOUNT_HINT}")
    merchant_overrides: list[MerchantOverride] = Field(
        default_factory=list, description="a list of {match, account, vendor} entries")

    def posting(self, source: str) -> dict[str, Any]:
        return {"posting_kind": "journal", "posting_mode": self.posting_mode, "credit_ref": self.credit_account,
                "credit_origin": f"{source}.credit_account", "use_gl_codes": False, "employees_as_vendors": False,
                "describe_employee": False}

    def overrides(self) -> list[MerchantOverride]:
        return list(self.merchant_overrides)


def hold_unapproved(records: pd.DataFrame) -> pd.DataFrame:
    held = records[~records["status"].isin(APPROVED_STATUSES)]
    return held.assign(reason="not_approved",
                       reason_text="Brex expense " + held["source_id"].astype(str) + " is "
                                   + held["status"].fillna("without a status").astype(str) + ": " + NOT_APPROVED)


# Receipt `download_uris` are "Presigned S3 link(s) ... expire in 15 minutes" (expenses.yaml `Receipt`; notes/brex.md
# §4.3). Which bucket and region Brex signs for is UNCONFIRMED, so only virtual-hosted S3 names in the US regions
# are trusted (no path-style s3.amazonaws.com, no other *.amazonaws.com service, no dualstack or accelerate names);
# an operator adds others with ML_CONNECTOR_RECEIPT_HOSTS.
RECEIPT_HOSTS = ("*.s3.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "*.s3.us-east-2.amazonaws.com",
                 "*.s3.us-west-1.amazonaws.com", "*.s3.us-west-2.amazonaws.com")

SPEC = SourceSpec(name="brex", rules_model=BrexRules, reread="full", hold_before_mapping=hold_unapproved,
                  reasons={"not_approved": "the Brex expense is not approved yet"}, receipt_hosts=RECEIPT_HOSTS)
