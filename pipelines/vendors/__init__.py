"""Vendors both ways between the ledger and Brex: an asset of its own, its job and a daily schedule (off)."""
