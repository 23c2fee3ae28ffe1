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

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models.base import ModelState
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
    # Model.__init__ costs more than the INSERT for a bulk publisher: above the threshold the
    # instances are assembled directly (every field is given, so no default is skipped).
    make = _assemble if len(events) >= _FAST_INSERT_MIN else Event
    rows = [
        make(
            name=e.name,
            occurred_at=e.occurred_at or now,
            district_id=e.district_id,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            payload=e.payload,
        )
        for e in events
    ]
    created = _insert(rows) if len(rows) >= _FAST_INSERT_MIN else Event.objects.bulk_create(rows, batch_size=batch_size)
    by_name: dict[str, list[Event]] = defaultdict(list)
    for row in created:
        by_name[row.name].append(row)
    for name, batch in by_name.items():
        for handler in _subscribers.get(name, []):
            transaction.on_commit(lambda h=handler, b=batch: _deliver(h, b))  # type: ignore[misc]
    return created


# Bulk publishers (the lab import: one event per new case, 100,000 in a file) spend more
# time in bulk_create's per-value SQL compilation than in the database; above this many
# events the rows go in with one executemany (SQLite) or one INSERT ... SELECT FROM unnest
# (PostgreSQL) and get their ids back, so subscribers still receive saved Event objects.
_FAST_INSERT_MIN = 200


def _assemble(**values: Any) -> Event:
    event = Event.__new__(Event)
    event._state = ModelState()
    event.__dict__.update(id=None, created_at=None, **values)
    return event


def _insert(rows: list[Event]) -> list[Event]:
    qn = connection.ops.quote_name
    fields = ("name", "occurred_at", "district_id", "subject_type", "subject_id", "payload", "created_at")
    table = qn(Event._meta.db_table)
    cols = ", ".join(qn(f) for f in fields)  # plain fields: each column is named as its field
    now = timezone.now()
    for row in rows:
        row.created_at = now
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Ids first (one round trip), then the rows with their ids through COPY: the
            # cheapest way into PostgreSQL, and subscribers still get saved Events.
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Event._meta.db_table, len(rows)],
            )
            ids = [i for (i,) in cur.fetchall()]
            with cur.cursor.copy(f"COPY {table} ({qn('id')}, {cols}) FROM STDIN") as copy:
                dumps = DjangoJSONEncoder().encode
                for pk, r in zip(ids, rows, strict=True):
                    copy.write_row(
                        (pk, r.name, r.occurred_at, r.district_id, r.subject_type, r.subject_id, dumps(r.payload), now)
                    )
        elif connection.vendor == "sqlite":
            adapt = connection.ops.adapt_datetimefield_value
            created = adapt(now)
            dumps = DjangoJSONEncoder().encode
            occurred = {t: adapt(t) for t in {r.occurred_at for r in rows}}  # a bulk publisher shares a few
            with transaction.atomic():  # ids are consecutive only while this connection holds the write lock
                cur.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    [
                        (r.name, occurred[r.occurred_at], r.district_id, r.subject_type, r.subject_id,
                         dumps(r.payload), created)
                        for r in rows
                    ],
                )  # fmt: skip
                cur.execute("SELECT last_insert_rowid()")
                last = cur.fetchone()[0]
            ids = list(range(last - len(rows) + 1, last + 1))
        else:
            return Event.objects.bulk_create(rows)
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias
    return rows


def _deliver(handler: Handler, batch: list[Event]) -> None:
    try:
        handler(batch)
    except Exception:  # a failing subscriber must not undo the publisher's committed work
        log.exception("event subscriber %r failed on %d events", handler, len(batch))
