"""Downloading a receipt before it is attached: retried, capped in size, and only of a type the ledger takes."""

from __future__ import annotations

from ml_connector.errors import ConnectorError
from ml_connector.http import HttpClient, RetryPolicy
from ml_connector.ledgers.base import Capabilities
from ml_connector.receipts import Fetch, ReceiptRefused


def http_fetcher(capabilities: Capabilities, timeout: tuple[float, float] = (5.0, 30.0)) -> Fetch:
    downloads = HttpClient("receipts", "", retry=RetryPolicy(max_attempts=4), timeout=timeout)

    def fetch(url: str) -> tuple[bytes, str]:
        response = downloads.request("GET", url)
        content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        if len(response.content) > capabilities.attachment_max_bytes:
            raise ReceiptRefused(f"the receipt is {len(response.content)} bytes, over the ledger's limit of "
                                 f"{capabilities.attachment_max_bytes}; attach a smaller copy by hand")
        if content_type not in capabilities.attachment_types:
            raise ReceiptRefused(f"the receipt is {content_type}, which {capabilities.display_name} does not "
                                 f"accept ({', '.join(capabilities.attachment_types)})")
        if not response.content:
            raise ConnectorError("the receipt download was empty")
        return response.content, content_type

    return fetch
