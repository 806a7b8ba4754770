"""`vendor_sync`: ledger vendors and Brex vendors matched by normalised name; each side gets what it lacks, and
names that normalise alike on one side are reported, never resolved by creating a third."""


import dagster as dg

from ml_connector.vendor_sync import sync_vendors
from pipelines.brex.resources import BrexResource
from pipelines.failures import dagster_outcomes
from pipelines.ledger.resources import LedgerResource
from pipelines.metadata import rows_table
from pipelines.month.resources import MappingResource
from pipelines.store.resources import ConnectorStoreResource

OWNERS = ["team:finance-data"]
SHOWN = 50


def build_vendor_sync(kind: str, lease_wait_seconds: float = 900.0) -> dg.AssetsDefinition:
    """The asset, with the configured ledger's kind beside Brex's."""

    @dg.asset(name="vendor_sync", group_name="vendors", kinds={"brex", kind}, owners=OWNERS)
    def vendor_sync(context: dg.AssetExecutionContext, ledger: LedgerResource, brex: BrexResource,
                    mapping: MappingResource, store: ConnectorStoreResource) -> dg.MaterializeResult:
        """Vendors both ways: Brex gets the ledger's vendors it lacks (POST /v1/vendors, one Idempotency-Key per
        name), the ledger gets Brex's (claimed in the store first). Names are compared as mapping compares
        merchants, with the mapping file's corporate suffixes."""
        with dagster_outcomes():
            report = sync_vendors(store.engine(), ledger.ledger(context.run.run_id), brex.client(),
                                  mapping.rules().vendors.strip_suffixes, run_id=context.run.run_id,
                                  launched_by=context.run.tags.get("ml_connector/source", "dagster"),
                                  wait_seconds=lease_wait_seconds)
        for conflict in report.conflicts:
            context.log.warning(f"vendors that normalise alike in {conflict['side']}: {conflict['names']}")
        return dg.MaterializeResult(metadata={
            "matches": len(report.matches), "created_in_brex": len(report.created_in_brex),
            "created_in_ledger": len(report.created_in_ledger), "conflicts": len(report.conflicts),
            "refused": len(report.refused), "employees_kept_from_brex": report.employees_kept,
            "created_in_brex_names": rows_table(report.created_in_brex[:SHOWN], ("name", "brex_id")),
            "created_in_ledger_names": rows_table(report.created_in_ledger[:SHOWN], ("name", "ledger_id")),
            "conflict_table": rows_table(report.conflicts, ("side", "name_key", "names")),
            "refused_table": rows_table(report.refused, ("side", "name", "reason"))})

    return vendor_sync
