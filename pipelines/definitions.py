"""The code location: every asset, check, job, schedule, sensor and resource of ml-connector."""

import dagster as dg

from assets.ledger_status import posting_status
from resources.store import ConnectorStoreResource

defs = dg.Definitions(
    assets=[posting_status],
    resources={"store": ConnectorStoreResource()},
)
