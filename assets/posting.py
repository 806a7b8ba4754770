"""The posting step: drafts into Zoho Books exactly once, then the tie-out against what Zoho holds."""

from collections.abc import Iterator

import dagster as dg

from assets.metadata import month_of, totals_metadata
from ml_connector.month import MonthPlan, attach_receipts, post_plan, posted_reports, tie_out_month
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.ledger import month_summary
from ml_connector.tieout import TieOut
from pipelines.partitions import monthly_partitions
from resources.expensify import ExpensifyResource
from resources.store import ConnectorStoreResource
from resources.zoho import ZohoBooksResource

POSTING_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


TIE_OUT = dg.AssetCheckSpec("tie_out", asset="zoho_postings",
                           description="Per GL account and cost center, the source total equals the total read "
                                       "back from Zoho Books.")


@dg.asset(partitions_def=monthly_partitions, group_name="posting", kinds={"zoho"}, pool="zoho_api",
          retry_policy=POSTING_RETRY, check_specs=[TIE_OUT])
def zoho_postings(context: dg.AssetExecutionContext, journal_drafts: MonthPlan, zoho: ZohoBooksResource,
                  expensify: ExpensifyResource, store: ConnectorStoreResource) -> Iterator:
    """Posts what is missing for the month, resolves uncertain posts by searching Zoho, and reads every
    posted entry back for the tie-out. Re-running a month posts nothing twice."""
    run_id = context.run.run_id
    engine = store.engine()
    ledger = zoho.ledger(store, run_id)
    drafts, report = post_plan(engine, ledger, journal_drafts, run_id, vendor_ids={})
    receipts_failed = attach_receipts(engine, ledger, drafts, report, run_id)
    if receipts_failed:
        context.log.warning(f"receipts of {len(receipts_failed)} bills could not be attached; the bills are "
                            f"posted, attach these by hand: {receipts_failed}")
    marked = mark_exported_reports(context, journal_drafts, expensify, store)
    result = tie_out_month(engine, ledger, journal_drafts)
    summary = month_summary(engine, month_of(context))
    links = {r.posting_key: r.url for r in (report.posted + report.found)[:20] if r.url}
    if report.failed:
        context.log.error(f"{len(report.failed)} drafts were rejected by Zoho Books: "
                          + "; ".join(f"{k}: {v}" for k, v in list(report.failed.items())[:5]))
    yield dg.Output(result, metadata={
        "dagster/row_count": len(report.posted),
        "posted_now": len(report.posted),
        "found_already_posted": len(report.found),
        "skipped_posted_earlier": len(report.skipped),
        "flagged_for_review": dg.MetadataValue.json(report.flagged),
        "rejected": dg.MetadataValue.json(report.failed),
        "posted_totals_by_currency": totals_metadata(summary["posted_totals"]),
        "ties_out": result.ties_out,
        "links": dg.MetadataValue.json(links),
        "zoho_calls": ledger.http.calls,
        "expensify_reports_marked_exported": len(marked),
        "receipts_not_attached": dg.MetadataValue.json(receipts_failed),
    })
    yield check_tie_out(result)


def mark_exported_reports(context, plan: MonthPlan, expensify: ExpensifyResource,
                          store: ConnectorStoreResource) -> list[str]:
    """Label in Expensify the reports Zoho accepted whole, so later exports skip them. Only after acceptance:
    the posting ledger stays the source of truth, and a report marked too early would never be retried."""
    reports = posted_reports(store.engine(), plan)
    if not reports or not expensify.is_configured():
        return []
    label = expensify.export_label()
    expensify.client(store).mark_exported(reports, label)
    record(store.engine(), AuditEvent(actor="dagster", action="expensify.mark_exported", outcome="ok",
                                      run_id=context.run.run_id, month=plan.month, source_system="expensify",
                                      detail={"reports": reports, "label": label}))
    return reports


def check_tie_out(result: TieOut) -> dg.AssetCheckResult:
    mismatches = [{"account_id": r.account_id, "tags": list(r.tag_option_ids), "currency": r.currency,
                   "source": str(r.source_total), "ledger": str(r.ledger_total)} for r in result.mismatches]
    return dg.AssetCheckResult(check_name="tie_out", passed=result.ties_out, metadata={
        "accounts_compared": len(result.rows),
        "entries_expected": result.entries_expected,
        "entries_found": result.entries_found,
        "mismatches": dg.MetadataValue.json(mismatches[:50]),
    })
