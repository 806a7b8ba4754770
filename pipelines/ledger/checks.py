"""The posting step's checks, each for its own month: every entry posted (or held), the tie-out, receipts."""


import dagster as dg

from ml_connector.money import money_text
from ml_connector.month_state import MonthState
from ml_connector.tieout import TieOut
from pipelines.metadata import rows_table
from pipelines.partitions import monthly_partitions


def specs(asset: str, ledger_name: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("every_entry_posted", asset=asset, partitions_def=monthly_partitions,
                          description="Every entry the month's records need is posted or held for review; none "
                                      "rejected, none with an unknown outcome."),
        dg.AssetCheckSpec("tie_out", asset=asset, partitions_def=monthly_partitions,
                          description=f"Per GL account and dimension, the month's records equal what {ledger_name} "
                                      f"holds, and every entry is there exactly once."),
        dg.AssetCheckSpec("receipts_attached", asset=asset, partitions_def=monthly_partitions,
                          description="Every receipt the month's bills owe is attached."),
    ]


def every_entry_posted(state: MonthState) -> dg.AssetCheckResult:
    problems = ([{"posting_key": k, "state": "rejected", "reason": r} for k, r in sorted(state.rejected.items())]
                + [{"posting_key": k, "state": "unresolved", "reason": r} for k, r in sorted(state.unresolved.items())])
    passed = not problems
    return dg.AssetCheckResult(
        check_name="every_entry_posted", passed=passed,
        description="every entry is posted or held" if passed else
        f"{len(state.rejected)} rejected and {len(state.unresolved)} unresolved of {state.entries} entries",
        metadata={"entries": state.entries, "posted": state.posted, "held": len(state.held_entries),
                  "rejected": len(state.rejected), "unresolved": len(state.unresolved),
                  "problems": rows_table(problems, ("posting_key", "state", "reason"))})


def tie_out(result: TieOut, names: dict[str, dict[str, str]]) -> dg.AssetCheckResult:
    rows = [{"account": names["accounts"].get(r.account_id, r.account_id),
             "dimensions": ", ".join(names["options"].get(t, t) for t in r.tag_option_ids), "currency": r.currency,
             "source": money_text(r.source_total, r.currency), "ledger": money_text(r.ledger_total, r.currency),
             "difference": money_text(r.difference, r.currency)}
            for r in result.rows]
    return dg.AssetCheckResult(
        check_name="tie_out", passed=result.ties_out,
        description="ties out" if result.ties_out else
        f"does not tie out: {len(result.mismatches)} differences, {len(result.missing)} entries missing, "
        f"{len(result.duplicated)} duplicated, {len(result.unexpected)} unexpected",
        metadata={"entries_expected": result.entries_expected, "entries_found": result.entries_found,
                  "missing": dg.MetadataValue.json(list(result.missing)),
                  "duplicated": dg.MetadataValue.json(list(result.duplicated)),
                  "unexpected": dg.MetadataValue.json(list(result.unexpected)),
                  "held_for_review": dg.MetadataValue.json(list(result.held_for_review)),
                  "rows": rows_table(rows, ("account", "dimensions", "currency", "source", "ledger", "difference"))})


def receipts_attached(state: MonthState) -> dg.AssetCheckResult:
    rows = [{"posting_key": key, "file": m["file"], "status": m["status"], "attempts": m["attempts"],
             "error": m["error"] or ""} for key, missing in sorted(state.receipts_missing.items()) for m in missing]
    return dg.AssetCheckResult(
        check_name="receipts_attached", passed=not rows, severity=dg.AssetCheckSeverity.WARN,
        description="every receipt attached" if not rows else f"{len(rows)} receipts not attached yet",
        metadata={"receipts": dg.MetadataValue.json(state.receipts),
                  "missing": rows_table(rows, ("posting_key", "file", "status", "attempts", "error"))})
