"""Attachments on bills and manual journals, by file name, as Xero takes them.

`PUT|POST /{Invoices|ManualJournals}/{id}/Attachments/{FileName}` with the file's raw bytes as the body
(recorded: `Content-Type: application/octet-stream`, `?IncludeOnline=True`) answers `{"Attachments": [{
"AttachmentID", "FileName", "Url", "MimeType", "ContentLength", "IncludeOnline"?}]}`. The stored MimeType is
derived from the file name, not taken from the request header (recorded: octet-stream in, application/pdf
out). Sending a name again replaces that file (POST is "update by file name", OAS; the sandbox does the same
for PUT, CHOSEN). `GET .../Attachments` lists; `GET .../Attachments/{AttachmentID|FileName}` returns the bytes
with the MimeType. The parent's `HasAttachments` becomes true and its `UpdatedDateUTC` moves (every change
does, in the sandbox).

Limits (3p: docs.workato.com, codat-docs PR #1802; Xero's own figures and texts UNCONFIRMED): at most
`xero.attachments_per_record` (10) files per record and `xero.attachment_max_bytes` (10,000,000, the stricter
reading of "10 MB") per file; an empty file is refused too. Over a limit -> HTTP 400 ValidationException with
"The file is too large. The maximum size of an attachment is 10 MB." or "A document can have at most 10
attachments." (UNCONFIRMED wording).
"""

from __future__ import annotations

import mimetypes

from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.xero.errors import invalid_request, not_found
from ml_connector.sandbox.xero.store import XeroStore

PARENTS = {"invoices": ("Invoices", "invoices", "InvoiceID"),
           "manualjournals": ("ManualJournals", "journals", "ManualJournalID")}


class Attachments:
    def __init__(self, store: XeroStore, config: SandboxConfig) -> None:
        self.store = store
        self.max_bytes = int(config.limit("xero.attachment_max_bytes", 10_000_000))
        self.max_count = int(config.limit("xero.attachments_per_record", 10))

    def parent(self, endpoint: str, parent_id: str) -> tuple[str, dict]:
        name, table, _ = PARENTS[endpoint.lower()]
        record = getattr(self.store, table).get(parent_id.lower())
        if record is None:
            raise not_found()
        return name, record

    def upload(self, endpoint: str, parent_id: str, file_name: str, content: bytes, include_online: bool) -> dict:
        name, record = self.parent(endpoint, parent_id)
        echo = {"FileName": file_name}
        if not file_name.strip():
            raise invalid_request("A file name is required.", echo)
        if not content:
            raise invalid_request("The file is empty.", echo)
        if len(content) > self.max_bytes:
            limit = f"{self.max_bytes // 1_000_000} MB" if self.max_bytes % 1_000_000 == 0 else \
                f"{self.max_bytes} bytes"
            raise invalid_request(f"The file is too large. The maximum size of an attachment is {limit}.", echo)
        with self.store.lock:
            same = next((a for a in record["Attachments"]
                         if self.store.attachments[a]["FileName"].casefold() == file_name.casefold()), None)
            if same is None and len(record["Attachments"]) >= self.max_count:
                raise invalid_request(f"A document can have at most {self.max_count} attachments.", echo)
            attachment_id = self.store.new_id("attachment")
            self.store.attachments[attachment_id] = {
                "AttachmentID": attachment_id, "FileName": file_name, "Parent": [name, record[PARENTS[
                    endpoint.lower()][2]]], "MimeType": mimetypes.guess_type(file_name)[0] or
                "application/octet-stream", "ContentLength": len(content), "IncludeOnline": include_online,
                "Content": content}
            if same is not None:
                del self.store.attachments[same]
            kept = [a for a in record["Attachments"] if a != same]
            updated = {**record, "Attachments": kept + [attachment_id], "UpdatedMs": self.store.tick()}
            (self.store.save_invoice if name == "Invoices" else self.store.save_journal)(updated)
            return self.store.attachments[attachment_id]

    def listed(self, endpoint: str, parent_id: str) -> list[dict]:
        _, record = self.parent(endpoint, parent_id)
        return [self.store.attachments[a] for a in record["Attachments"]]

    def find(self, endpoint: str, parent_id: str, key: str) -> dict:
        for attachment in self.listed(endpoint, parent_id):
            if attachment["AttachmentID"] == key.lower() or attachment["FileName"].casefold() == key.casefold():
                return attachment
        raise not_found()
