"""The code location: every asset, check, job, schedule, sensor and resource of ml-connector."""

import dagster as dg

from assets.brex import brex_card_transactions, brex_expenses
from assets.expensify import expensify_reports
from assets.ledger_status import posting_status
from assets.mapping import journal_drafts
from assets.posting import zoho_postings
from assets.records import spend_records
from assets.reference import zoho_reference_data
from ml_connector.settings import load_settings
from pipelines.jobs import month_sync
from pipelines.schedules import build_expensify_poll
from resources.brex import BrexResource
from resources.expensify import ExpensifyResource
from resources.mapping import MappingResource
from resources.store import ConnectorStoreResource
from resources.zoho import ZohoBooksResource

RESOURCES = {
    "store": ConnectorStoreResource(),
    "brex": BrexResource(),
    "zoho": ZohoBooksResource(),
    "mapping": MappingResource(),
    "expensify": ExpensifyResource(),
}

defs = dg.Definitions(
    assets=[brex_card_transactions, brex_expenses, expensify_reports, zoho_reference_data, spend_records,
            journal_drafts, zoho_postings, posting_status],
    jobs=[month_sync],
    schedules=[build_expensify_poll(load_settings().expensify_poll_cron)],
    resources=RESOURCES,
)
