"""Zoho Books as a ledger: OAuth with data-centre checks, the Books v3 API, and its `Ledger`."""

from ml_connector.ledgers.zoho_books.ledger import CAPABILITIES, SYSTEM, ZohoBooks

__all__ = ["CAPABILITIES", "SYSTEM", "ZohoBooks"]
