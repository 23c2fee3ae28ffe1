"""Domain events: published by lower apps inside their transaction, read by higher apps.

The row is written in the publisher's transaction (so an event exists iff its change
committed); in-process subscribers run after commit. Higher apps subscribe at start-up
(AppConfig.ready) — no import ever points from a lower app to a higher one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from iccc.core.models import Event

log = logging.getLogger(__name__)
Handler = Callable[[list[Event]], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


@dataclass
class NewEvent:
    name: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    district_id: int | None = None
    occurred_at: datetime | None = None


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _subscribers[name]:
        _subscribers[name].append(handler)


def publish(events: Sequence[NewEvent], batch_size: int = 2000) -> list[Event]:
    """Store events in the current transaction; notify subscribers once it commits."""
    now = timezone.now()
    rows = [
        Event(
            name=e.name,
            occurred_at=e.occurred_at or now,
            district_id=e.district_id,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            payload=e.payload,
        )
        for e in events
    ]
    created = Event.objects.bulk_create(rows, batch_size=batch_size)
    by_name: dict[str, list[Event]] = defaultdict(list)
    for row in created:
        by_name[row.name].append(row)
    for name, batch in by_name.items():
        for handler in _subscribers.get(name, []):
            transaction.on_commit(lambda h=handler, b=batch: _deliver(h, b))  # type: ignore[misc]
    return created


def _deliver(handler: Handler, batch: list[Event]) -> None:
    try:
        handler(batch)
    except Exception:  # a failing subscriber must not undo the publisher's committed work
        log.exception("event subscriber %r failed on %d events", handler, len(batch))
