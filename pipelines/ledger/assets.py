"""The ledger's assets, whichever ledger is configured: its reference data, and the month's postings.

`ledger_postings` posts the drafts `journal_drafts` made (and only those) with the exactly-once protocol,
attaches the receipts owed, and ties the month out. Its metadata is the month's state, not the run's: a
re-run that posts nothing shows the same month it left.
"""


from collections.abc import Iterator

import dagster as dg

from ml_connector.models import ReferenceData
from ml_connector.money import money_text
from ml_connector.month import MonthPlan
from ml_connector.month_posting import post_month
from ml_connector.month_state import month_state
from pipelines.failures import MonthIncomplete, dagster_outcomes
from pipelines.ledger import checks
from pipelines.ledger.receipts import ReceiptsResource
from pipelines.ledger.resources import LedgerResource
from pipelines.metadata import totals
from pipelines.partitions import monthly_partitions
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]
POSTING_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
LINKS_SHOWN = 20


def build_ledger_assets(kind: str, ledger_name: str, pool: str, lease_wait_seconds: float) -> list:
    """The ledger assets, with the kinds of the configured ledger (`zoho`, `quickbooks`, `xero`)."""

    @dg.asset(kinds={kind}, group_name="ingestion", owners=OWNERS, tags={"ledger": kind})
    def ledger_reference_data(context: dg.AssetExecutionContext, ledger: LedgerResource) -> dg.Output[ReferenceData]:
        """Accounts, vendors, dimension options, currencies and the lock date, as mapping needs them. Accounts,
        dimensions and currencies are reused for a few minutes between runs; vendors and locks are read fresh."""
        with dagster_outcomes():
            reference = ledger.ledger(context.run.run_id).reference_data()
        return dg.Output(reference, metadata={
            "accounts": len(reference.accounts),
            "inactive_accounts": sum(not a.is_active for a in reference.accounts),
            "vendors": len(reference.vendors), "dimension_options": len(reference.tag_options),
            "currencies": ", ".join(sorted(c.code for c in reference.currencies)),
            "locked_through": str(reference.locked_through or "not locked")})

    @dg.asset(partitions_def=monthly_partitions, group_name="posting", kinds={kind}, owners=OWNERS, pool=pool,
              retry_policy=POSTING_RETRY, check_specs=checks.specs("ledger_postings", ledger_name),
              tags={"ledger": kind})
    def ledger_postings(context: dg.AssetExecutionContext, journal_drafts: MonthPlan, ledger: LedgerResource,
                        store: ConnectorStoreResource, ledger_reference_data: ReferenceData,
                        receipts: ReceiptsResource) -> Iterator:
        """Posts what is missing of the month, exactly once whoever else runs it, settles unknown outcomes by
        searching the ledger, attaches the receipts owed, and ties the month out against what the ledger holds."""
        plan = journal_drafts
        engine = store.engine()
        with dagster_outcomes():
            client = ledger.ledger(context.run.run_id)
            done = post_month(engine, client, plan, receipts.fetcher(client.capabilities), run_id=context.run.run_id,
                              launched_by=context.run.tags.get("ml_connector/source", "dagster"),
                              wait_seconds=lease_wait_seconds, progress=context.log.info,
                              on_wait=lambda holder: context.log.warning(
                                  f"waiting: {plan.month} is being posted by {holder.describe()}"))
            state = month_state(engine, client.target, plan)
        report = done.report
        metadata = {
            "dagster/row_count": state.posted,
            "entries": state.entries, "posted": state.posted, "posted_now": len(report.posted),
            "found_by_search": len(report.found), "posted_earlier": len(report.skipped),
            "held_for_review": len(state.held_entries), "rejected": len(state.rejected),
            "unresolved": len(state.unresolved), "records_drafted": state.records_drafted,
            "records_held": state.records_held,
            "receipts": dg.MetadataValue.json(state.receipts),
            **totals("posted_total", state.posted_totals), **totals("drafted_total", state.drafted_totals),
            "ties_out": bool(done.tie_out and done.tie_out.ties_out), "ledger_calls": done.calls,
            "entries_read_back": done.read_back.reads if done.read_back else 0,
            "links": dg.MetadataValue.md("\n".join(f"- [{k}]({u})" for k, u in
                                                   list(sorted(state.links.items()))[:LINKS_SHOWN]) or "_none_"),
        }
        if done.waited_for is not None:
            metadata["waited_for"] = done.waited_for.describe()
        if not state.is_complete or done.tie_out is None:
            # Outcomes still unknown: fail as retryable, so the retry settles them by searching first.
            raise dagster_failure(state, metadata)
        if state.rejected:
            context.log.error(f"{len(state.rejected)} entries rejected by {ledger_name}: " + "; ".join(
                f"{k}: {v}" for k, v in list(state.rejected.items())[:5]))
        yield dg.Output(summary(state, done, names(ledger_reference_data)), metadata=metadata)
        yield checks.every_entry_posted(state)
        yield checks.tie_out(done.tie_out, names(ledger_reference_data))
        yield checks.receipts_attached(state)

    return [ledger_reference_data, ledger_postings]


def dagster_failure(state, metadata: dict) -> dg.Failure:
    shown = "; ".join(f"{k}: {v}" for k, v in list(state.unresolved.items())[:3])
    incomplete = MonthIncomplete(f"{len(state.unresolved)} of {state.entries} entries of {state.month} have no known "
                                 f"outcome yet ({shown}); the retry searches the ledger for them before sending")
    return dg.Failure(description=f"MonthIncomplete: {incomplete}", allow_retries=True, metadata=metadata)


def summary(state, done, names_of: dict[str, dict[str, str]]) -> dict:
    """The month as the command line prints it: plain data, kept in the store as the asset's value."""
    tie = done.tie_out
    return {
        "month": state.month, "ledger": str(state.target), "entries": state.entries, "posted": state.posted,
        "posted_now": len(done.report.posted), "found_by_search": len(done.report.found),
        "posted_earlier": len(done.report.skipped), "held_for_review": dict(state.held_entries),
        "rejected": dict(state.rejected), "unresolved": dict(state.unresolved), "receipts": dict(state.receipts),
        "receipts_missing": state.receipts_missing, "ledger_calls": done.calls,
        "posted_totals": {c: str(a) for c, a in state.posted_totals.items()},
        "tie_out": {"ties_out": tie.ties_out, "entries_expected": tie.entries_expected,
                    "entries_found": tie.entries_found, "missing": list(tie.missing),
                    "duplicated": list(tie.duplicated), "unexpected": list(tie.unexpected),
                    "rows": [{"account": names_of["accounts"].get(r.account_id, r.account_id),
                              "dimensions": ", ".join(names_of["options"].get(t, t) for t in r.tag_option_ids),
                              "currency": r.currency, "source": money_text(r.source_total, r.currency),
                              "ledger": money_text(r.ledger_total, r.currency),
                              "difference": money_text(r.difference, r.currency)} for r in tie.rows]},
    }


def names(reference: ReferenceData) -> dict[str, dict[str, str]]:
    """Names a person reads, for account ids and for option ids apart (ledgers number both from 1)."""
    accounts = {a.account_id: f"{a.code} {a.name}" if a.code else a.name for a in reference.accounts}
    accounts.update({f"tax:{t.tax_code_id}": f"tax: {t.name} ({t.rate:f}%)" for t in reference.tax_codes})
    return {"accounts": accounts, "options": {t.option_id: t.option_name for t in reference.tag_options}}
