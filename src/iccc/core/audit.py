"""Writing and checking the audit log. Services call `record()`; nothing else writes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from iccc.core import context
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry

# Any constant will do: it names the one lock that serialises appends to the hash chain.
_CHAIN_LOCK_KEY = 0x1CCC_A0D1


@dataclass(frozen=True)
class AuditRecord:
    action: AuditAction
    target_type: str
    target_id: str
    target_label: str = ""
    person_id: str = ""
    changes: Mapping[str, Any] | None = None
    reason: str = ""


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Fields that changed, as {field: [before, after]}."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def snapshot(obj: Model, fields: Iterable[str]) -> dict[str, Any]:
    return {f: _jsonable(getattr(obj, f)) for f in fields}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Model):
        return str(value.pk)
    return str(value)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite: ICCC opens write transactions IMMEDIATE, so the writer already holds the lock.


def record(actor: Any, action: AuditAction, target: Model | None = None, **kwargs: Any) -> AuditEntry:
    """Append one audit row for `actor` (a user or None for the system)."""
    if target is not None:
        kwargs.setdefault("target_type", target._meta.label_lower)
        kwargs.setdefault("target_id", str(target.pk))
        kwargs.setdefault("target_label", str(target)[:200])
    return record_many(actor, [AuditRecord(action=action, **kwargs)])[0]


def record_many(actor: Any, records: list[AuditRecord]) -> list[AuditEntry]:
    ctx = context.current()
    now = timezone.now()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-id").values_list("row_hash", flat=True).first() or ""
        rows = []
        for rec in records:
            entry = AuditEntry(
                at=now,
                actor=actor if is_user else None,
                actor_label=(actor.get_username() if is_user else "system"),
                actor_role=(getattr(actor, "role", "") if is_user else ""),
                action=rec.action,
                target_type=rec.target_type,
                target_id=str(rec.target_id),
                target_label=rec.target_label[:200],
                person_id=str(rec.person_id or ""),
                changes=dict(rec.changes or {}),
                reason=rec.reason,
                request_id=ctx.request_id,
                ip=ctx.ip,
                prev_hash=last,
            )
            entry.row_hash = entry.compute_hash()
            last = entry.row_hash
            rows.append(entry)
        return AuditEntry.objects.bulk_create(rows)


def verify_chain(batch_size: int = 5000) -> int | None:
    """Return the id of the first row whose hash does not match, or None if the chain is intact."""
    prev = ""
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != prev or entry.compute_hash() != entry.row_hash:
            return entry.pk
        prev = entry.row_hash
    return None
