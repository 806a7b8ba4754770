"""Xero as a ledger: OAuth2 with rotating refresh tokens, tenants, the Accounting API 2.0 and its `Ledger`."""

from ml_connector.ledgers.xero.ledger import CAPABILITIES, SYSTEM, Xero

__all__ = ["CAPABILITIES", "SYSTEM", "Xero"]
