"""Zoho Books reference data: accounts, vendors, reporting tags, currencies and the lock date."""

import dagster as dg

from ml_connector.models import ReferenceData
from resources.store import ConnectorStoreResource
from resources.zoho import ZohoBooksResource


@dg.asset(kinds={"zoho"}, group_name="reference")
def zoho_reference_data(context: dg.AssetExecutionContext, zoho: ZohoBooksResource,
                        store: ConnectorStoreResource) -> dg.Output[ReferenceData]:
    """What mapping needs from the ledger, read fresh on every run."""
    reference = zoho.ledger(store, context.run.run_id).reference_data()
    return dg.Output(reference, metadata={
        "accounts": len(reference.accounts),
        "inactive_accounts": sum(not a.is_active for a in reference.accounts),
        "vendors": len(reference.vendors),
        "tag_options": len(reference.tag_options),
        "currencies": ", ".join(sorted(c.code for c in reference.currencies)),
        "locked_through": str(reference.locked_through or "not locked"),
    })
