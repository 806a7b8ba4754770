"""Xero as the ledger of the code location."""
