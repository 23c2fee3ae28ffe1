"""Idempotent API writes: the same `Idempotency-Key` from the same caller applies once.

`run_once` runs a write and keeps its first successful answer (`ApiReplay`); a retry with
the same key gets that answer back, marked as a replay, whatever has happened since (the
request may have moved on: a retried "accept" must not turn into a 409). A key reused for a
different request is refused (422), as the IETF draft asks
(draft-ietf-httpapi-idempotency-key-header). Refusals (4xx) are not kept: the caller may fix
the request and send it again under the same key.

Requests with one key are serialised: on PostgreSQL by an advisory lock on (caller, key)
taken before anything else, on SQLite by the write transaction itself (BEGIN IMMEDIATE).
So two copies of one request sent at the same instant still write once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.accounts.models import ApiReplay

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,80}$")  # printable ASCII, no spaces; services keep 80


class IdempotencyKeyError(ValueError):
    """The key is missing, malformed, or was used for a different request; `status` says which answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Outcome:
    status: int
    body: Any
    replayed: bool


def check_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if not key:
        raise IdempotencyKeyError(
            400, _("Send an Idempotency-Key header (a unique string per change, reused on retries).")
        )
    if not _KEY.match(key):
        raise IdempotencyKeyError(
            400, _("The Idempotency-Key header must be 1 to 80 printable characters without spaces.")
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.upper().encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def _lock(user_id: int, key: str) -> None:
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"{user_id}:{key}".encode()).digest()
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


def _stored(user_id: int, key: str, fp: str) -> Outcome | None:
    row = ApiReplay.objects.filter(user_id=user_id, key=key).first()
    if row is None:
        return None
    if row.body_hash != fp:
        raise IdempotencyKeyError(
            422, _("This Idempotency-Key was already used for a different request; use a new key.")
        )
    return Outcome(row.status, row.response, replayed=True)


def run_once(
    user: Any, key: str, *, method: str, path: str, body: bytes, action: Callable[[], tuple[int, Any]]
) -> Outcome:
    """Run `action` (returning status and a JSON-able body) once per (user, key); replay it afterwards."""
    fp = fingerprint(method, path, body)
    now = timezone.now()
    try:
        with transaction.atomic():
            _lock(user.pk, key)
            earlier = _stored(user.pk, key, fp)
            if earlier is not None:
                return earlier
            status, payload = action()
            if 200 <= status < 300:
                ApiReplay.objects.create(
                    user_id=user.pk,
                    key=key,
                    method=method.upper()[:8],
                    path=path[:300],
                    body_hash=fp,
                    status=status,
                    response=payload,
                    created_at=now,
                )
                ApiReplay.objects.filter(created_at__lt=now - KEEP_FOR).delete()
            return Outcome(status, payload, replayed=False)
    except IntegrityError:
        # Another copy of this request committed first (the unique key): answer as it did.
        earlier = _stored(user.pk, key, fp)
        if earlier is None:
            raise
        return earlier
