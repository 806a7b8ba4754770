"""QuickBooks Online as a ledger: Intuit OAuth with rotating refresh tokens, the Accounting API v3, and its
`Ledger`."""

from ml_connector.ledgers.quickbooks.ledger import CAPABILITIES, SYSTEM, QuickBooks

__all__ = ["CAPABILITIES", "SYSTEM", "QuickBooks"]
