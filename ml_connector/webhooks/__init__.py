"""Brex webhooks: verification (verify), signing secrets (secrets), the inbox (inbox), the receiver app
(receiver), events to month partitions (events) and the Brex subscription (register)."""
