"""Posting again what a month's last run could not: one entry by its key, or every rejected or unresolved entry of
the month, through the same protocol (month lease, claims, search before resend, receipts owed, tie-out).

The month's plan is the one its last run stored (`journal_drafts`), and its drafts are posted again exactly as
they were drafted: a fix in the ledger (an account reactivated, a period unlocked, a quota reset) is what makes
a rejected entry post now. A fix to the mapping file needs a new run of the month, which drafts anew. The plan
handed to `month_posting.post_month` is restricted to the drafts asked for; the rest of the month stays in it
as posted (so the tie-out covers every entry the ledger should now hold), and entries neither asked for nor
posted are left out of it altogether.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml_connector.errors import ConfigError, ConnectorError
from ml_connector.ledgers.base import Ledger
from ml_connector.month import MonthPlan
from ml_connector.month_posting import MonthPosting, post_month
from ml_connector.receipt_fetch import http_fetcher
from ml_connector.store import asset_values, postings
from ml_connector.store.schema import posting_ledger, record_outcomes
from ml_connector.store.target import LedgerTarget

PLAN_ASSET = "journal_drafts"
NEEDS_REPLAY = ("failed", "pending")  # rejected, or an outcome not known (claimed, never settled)


class UnknownKey(ConnectorError):
    """No month of this ledger organisation has an entry with the posting key asked for."""


@dataclass
class Selection:
    month: str
    asked: list[str]  # the posting keys asked for
    keys: list[str] = field(default_factory=list)  # the entries that will be posted again
    already_posted: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # held for review: never reposted
    not_in_plan: list[str] = field(default_factory=list)  # the store knows them, the month's last plan does not


@dataclass
class ReplayResult:
    selection: Selection
    posting: MonthPosting | None
    posted: list[str] = field(default_factory=list)  # asked for and now in the ledger
    not_posted: dict[str, str] = field(default_factory=dict)  # asked for, still not posted: why

    @property
    def is_done(self) -> bool:
        return not self.not_posted


def month_of_key(engine: Engine, target: LedgerTarget, posting_key: str) -> str:
    """The month whose entry carries `posting_key` (posting ledger first, then the records' outcomes)."""
    with engine.connect() as connection:
        month = connection.execute(sa.select(posting_ledger.c.month).where(
            (posting_ledger.c.ledger_system == target.system) & (posting_ledger.c.ledger_org == target.org)
            & (posting_ledger.c.posting_key == posting_key))).scalar()
        month = month or connection.execute(sa.select(record_outcomes.c.month).where(
            record_outcomes.c.posting_key == posting_key).limit(1)).scalar()
    if not month:
        raise UnknownKey(f"no entry of {target} has the posting key {posting_key}; `ml-connector status --month "
                         f"YYYY-MM` lists every record of a month with its posting key")
    return month


def load_plan(engine: Engine, month: str, target: LedgerTarget) -> MonthPlan:
    """The plan the month's last run stored."""
    try:
        plan = asset_values.get(engine, PLAN_ASSET, f"{month}-01")
    except KeyError:
        raise ConfigError(f"no run of {month} has stored its plan in this store.", setting="--month",
                          fix=f"run the month first: ml-connector run --month {month}") from None
    if plan.target != target:
        raise ConfigError(f"the stored plan of {month} is for {plan.target}, not the configured {target}.",
                          setting="ML_CONNECTOR_LEDGER", fix=f"configure the ledger of {plan.target} to replay it")
    return plan


def select(engine: Engine, plan: MonthPlan, *, posting_key: str | None = None, failed: bool = False) -> Selection:
    """The drafts to post again: the one with `posting_key`, or (`failed`) every rejected or unresolved one."""
    rows = postings.rows_for_keys(engine, plan.target, sorted(plan.keys()))
    drafted = plan.drafts.keys()
    if posting_key is not None:
        selection = Selection(plan.month, [posting_key])
        status = (rows.get(posting_key) or {}).get("status")
        if status == "posted" or (posting_key not in drafted and posting_key in plan.posted_earlier.values()):
            selection.already_posted.append(posting_key)
        elif status == "flagged":
            selection.held.append(posting_key)
        elif posting_key not in drafted:
            selection.not_in_plan.append(posting_key)
        else:
            selection.keys.append(posting_key)
        return selection
    if not failed:
        raise ValueError("select a posting key or failed=True")
    chosen = [key for key in drafted if (rows.get(key) or {}).get("status", "pending") in NEEDS_REPLAY]
    return Selection(plan.month, chosen, keys=chosen)


def restricted_plan(engine: Engine, plan: MonthPlan, keys: list[str]) -> MonthPlan:
    """`plan` posting only the entries with `keys`: the month's other posted entries count as posted earlier, and
    the records of entries neither chosen nor posted are left out (they are not expected in the ledger yet)."""
    chosen = set(keys)
    rows = postings.rows_for_keys(engine, plan.target, plan.drafts.keys())
    posted_now = {sid: key for sid, key in plan.drafts.key_of_records().items()
                  if key not in chosen and (rows.get(key) or {}).get("status") == "posted"}
    posted_earlier = {**plan.posted_earlier, **posted_now}
    carried = {sid for sid, key in plan.drafts.key_of_records().items() if key in chosen}
    mapped = plan.mapped[plan.mapped["source_id"].isin(list(set(posted_earlier) | carried))].reset_index(drop=True)
    return dataclasses.replace(plan, drafts=plan.drafts.restricted(chosen), mapped=mapped,
                               posted_earlier=posted_earlier)


def replay(engine: Engine, ledger: Ledger, plan: MonthPlan, selection: Selection, *, run_id: str,
           wait_seconds: float) -> ReplayResult:
    """Post the selection under the month's lease, attach receipts owed, tie out."""
    result = ReplayResult(selection, None, posted=list(selection.already_posted))
    for key in selection.held:
        result.not_posted[key] = "held for review (a record changed after it was posted): never reposted"
    for key in selection.not_in_plan:
        result.not_posted[key] = (f"the last plan of {plan.month} does not draft it (its records changed or moved); "
                                  f"run the month again: ml-connector run --month {plan.month}")
    if not selection.keys:
        return result
    posting = post_month(engine, ledger, restricted_plan(engine, plan, selection.keys),
                         http_fetcher(ledger.capabilities), run_id=run_id, launched_by="replay",
                         wait_seconds=wait_seconds)
    result.posting = posting
    report = posting.report
    landed = {r.posting_key for r in report.posted + report.found} | set(report.skipped)
    for key in selection.keys:
        if key in landed:
            result.posted.append(key)
        else:
            result.not_posted[key] = (report.rejected.get(key) or report.unresolved.get(key)
                                      or report.held.get(key) or "not posted")
    return result
