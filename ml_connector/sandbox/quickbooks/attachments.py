"""Attachables: receipts uploaded with `POST /upload`, and note-only attachables with `POST /attachable`.

Upload (notes section 8): `multipart/form-data` with parts `file_metadata_<n>` (the Attachable as JSON:
FileName, ContentType, optional Category and Note, `AttachableRef: [{"EntityRef": {"type": "Bill",
"value": id}}]`) and `file_content_<n>` (the file, raw or base64 Content-Transfer-Encoding), paired by the
suffix `<n>` as both SDKs name them. The answer is `{"AttachableResponse": [{"Attachable": {...}} | {"Fault":
{...}}, ...], "time": ...}` (XSD AttachableResponse): HTTP 200 with one item per pair, a failed pair
carrying its own Fault (UNCONFIRMED: whether QuickBooks answers 400 instead); what spoils the whole request
(not multipart, larger than the limit, no pairs) is a top-level Fault with HTTP 400.

Faults: 6030 body larger than `config.limit("quickbooks.upload_max_bytes", 100 MiB)` (100 MB per the
notes, third-party); 6040 metadata missing or not a JSON Attachable object; 6041 content missing, empty,
or of a type not in ALLOWED_CONTENT_TYPES (images, PDF, office documents; the notes record only that text
files are refused, so the allowlist is UNCONFIRMED), or a metadata ContentType that contradicts the part's;
6050 an AttachableRef type other than Bill, JournalEntry or Vendor; 2500 a target id that names nothing.

`FileAccessUri` is `/v3/company/{realm}/download/{id}` (GET answers the temporary URL as text, as
QuickBooks does); `TempDownloadUri` points at the sandbox's control route, which serves the bytes without
auth, like Intuit's pre-signed links.
"""

from __future__ import annotations

import json
from decimal import Decimal
from email.message import Message
from email.parser import BytesParser
from email.policy import default as default_policy

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.records import entity_head
from ml_connector.sandbox.quickbooks.schema import check_declared
from ml_connector.sandbox.quickbooks.store import RealmBooks, public
from ml_connector.sandbox.quickbooks.validation import boolean, choice, entity_id, ref_id, sync_token, text

ALLOWED_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/jpg", "image/png", "image/gif", "image/tiff",
                         "image/bmp", "application/msword", "application/vnd.ms-excel", "application/rtf",
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
ATTACHABLE_TARGETS = ("Bill", "JournalEntry", "Vendor")
CATEGORIES = ("Image", "Signature", "Contact Photo", "Receipt", "Document", "Sound", "Other")  # XSD enum


def attachable_refs(books: RealmBooks, value: object) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.unsupported_property("AttachableRef")
    refs = []
    for item in value:
        entity_ref = item.get("EntityRef") if isinstance(item, dict) else None
        target = ref_id(entity_ref, "AttachableRef.EntityRef", required=True)
        entity = entity_ref.get("type")
        if entity is None:
            raise errors.required("AttachableRef.EntityRef.type")
        if entity not in ATTACHABLE_TARGETS:
            raise errors.attachable_entity_unsupported(str(entity), ATTACHABLE_TARGETS)
        if books.get(entity, target) is None:
            raise errors.invalid_reference(entity, target, "AttachableRef.EntityRef")
        refs.append({"EntityRef": {"type": entity, "value": target},
                     "IncludeOnSend": boolean(item.get("IncludeOnSend"), "IncludeOnSend", False)})
    return refs


def attachable_record(books: RealmBooks, attachable_id: str, body: dict, file: dict | None, sync: int,
                      created: str, updated: str, public_url: str) -> dict:
    record: dict = {}
    if file is not None:
        record.update({
            "FileName": file["name"],
            "FileAccessUri": f"/v3/company/{books.realm_id}/download/{attachable_id}",
            "TempDownloadUri": f"{public_url}/quickbooks/_sandbox/attachables/{books.realm_id}/{attachable_id}",
            "Size": file["size"], "ContentType": file["type"]})
    category = choice(body.get("Category"), "Category", CATEGORIES)
    if category:
        record["Category"] = category
    note = text(body.get("Note"), "Note", 2000)
    if note:
        record["Note"] = note
    record["AttachableRef"] = attachable_refs(books, body.get("AttachableRef"))
    record.update(entity_head(attachable_id, sync, created, updated))
    return record


def save_note(books: RealmBooks, body: dict, public_url: str) -> dict:
    """`POST /attachable`: create or update an attachable's note, category and links (not its file)."""
    with books.lock:
        wanted = entity_id(body)
        current = books.get("Attachable", wanted) if wanted else None
        if wanted and current is None:
            raise errors.inactive_or_missing("Id")
        if current is not None:
            sync_token(body, current)
            body = {**public(current), **body} if body.get("sparse") is True else body
        elif not body.get("Note"):
            raise errors.required("Note")
        now = books.now()
        file = None
        if current is not None and "FileName" in current:
            file = {"name": current["FileName"], "size": current["Size"], "type": current["ContentType"]}
        sync, created = (int(current["SyncToken"]) + 1, current["MetaData"]["CreateTime"]) if current else (0, now)
        new_id = current["Id"] if current else books.peek_id("Attachable")
        record = attachable_record(books, new_id, body, file, sync, created, now, public_url)
        if current is None:
            books.next_id("Attachable")
        return books.put("Attachable", record)


def delete_attachable(books: RealmBooks, body: dict) -> dict:
    with books.lock:
        wanted = entity_id(body)
        current = books.get("Attachable", wanted) if wanted else None
        if current is None:
            raise errors.inactive_or_missing("Id")
        sync_token(body, current)
        books.delete("Attachable", current["Id"])
        return {"domain": "QBO", "status": "Deleted", "Id": current["Id"]}


def form_parts(content_type: str, raw: bytes) -> dict[str, Message]:
    if not content_type.startswith("multipart/form-data"):
        raise errors.invalid_upload("Send the upload as multipart/form-data with file_metadata_<n> and "
                                    "file_content_<n> parts.")
    message = BytesParser(policy=default_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    if not message.is_multipart():
        raise errors.invalid_upload("The multipart body has no parts.")
    return {part.get_param("name", header="content-disposition") or "": part for part in message.iter_parts()}


def one_upload(books: RealmBooks, metadata: Message | None, content: Message | None, public_url: str) -> dict:
    if metadata is None:
        raise errors.metadata_not_attachable("Each file_content_<n> part needs a file_metadata_<n> part "
                                             "holding its Attachable as JSON.")
    try:
        body = json.loads(metadata.get_payload(decode=True) or b"", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise errors.metadata_not_attachable("file_metadata must be an Attachable JSON object.")
    check_declared(body, "Attachable")
    if content is None:
        raise errors.invalid_upload("The file_content part for this file_metadata is missing.")
    data = content.get_payload(decode=True) or b""
    if not data:
        raise errors.invalid_upload("The uploaded file is empty.")
    part_type = content.get_content_type()
    if part_type not in ALLOWED_CONTENT_TYPES:
        raise errors.invalid_upload(f"Files of type {part_type} cannot be attached; use one of "
                                    f"{', '.join(ALLOWED_CONTENT_TYPES)}.")
    declared_type = text(body.get("ContentType"), "ContentType", 100)
    if declared_type and declared_type.lower() != part_type:
        raise errors.invalid_upload(f"ContentType {declared_type} does not match the file part's {part_type}.")
    name = text(body.get("FileName"), "FileName", 1000) or content.get_filename()
    if not name:
        raise errors.required("FileName")
    with books.lock:
        now = books.now()
        new_id = books.peek_id("Attachable")
        file = {"name": name, "size": len(data), "type": part_type}
        record = attachable_record(books, new_id, body, file, 0, now, now, public_url)
        books.next_id("Attachable")
        books.files[new_id] = data
        return books.put("Attachable", record)


def upload(books: RealmBooks, content_type: str, raw: bytes, limit: int, public_url: str) -> list[dict]:
    """The AttachableResponse items of one upload request."""
    if len(raw) > limit:
        raise errors.upload_too_large(len(raw), limit)
    parts = form_parts(content_type, raw)
    suffixes = sorted({name.split("_", 2)[2] for name in parts
                       if name.startswith(("file_metadata_", "file_content_")) and name.count("_") >= 2})
    if not suffixes:
        raise errors.invalid_upload("No file_metadata_<n> / file_content_<n> parts were found.")
    items = []
    for suffix in suffixes:
        try:
            record = one_upload(books, parts.get(f"file_metadata_{suffix}"), parts.get(f"file_content_{suffix}"),
                                public_url)
            items.append({"Attachable": public(record)})
        except errors.QboFault as fault:
            items.append({"Fault": {"Error": [fault.error()], "type": fault.fault_type}})
    return items
