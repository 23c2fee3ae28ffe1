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
    # The payload already serialised, by a bulk publisher that made it in another process.
    payload_json: str | None = None


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
    if len(rows) >= _FAST_INSERT_MIN:
        dumps = DjangoJSONEncoder().encode
        created = _insert(rows, [e.payload_json or dumps(e.payload) for e in events])
    else:
        created = Event.objects.bulk_create(rows, batch_size=batch_size)
    by_name: dict[str, list[Event]] = defaultdict(list)
    for row in created:
        by_name[row.name].append(row)
    for name, batch in by_name.items():
        for handler in _subscribers.get(name, []):
            transaction.on_commit(lambda h=handler, b=batch: _deliver(h, b))  # type: ignore[misc]
    return created


# Bulk publishers (the lab import: one event per new case, 100,000 in a file) spend more
# time in bulk_create's per-value SQL compilation than in the database; above this many
# events the rows go in with one executemany (SQLite) or one COPY (PostgreSQL) and get
# their ids back, so subscribers still receive saved Event objects.
_FAST_INSERT_MIN = 200


def _assemble(**values: Any) -> Event:
    event = Event.__new__(Event)
    event._state = ModelState()
    event.__dict__.update(id=None, created_at=None, **values)
    return event


def _mark_saved(rows: list[Event], ids: list[int]) -> None:
    """Give inserted rows their ids and the state of a saved instance (as bulk_create does)."""
    alias = connection.alias
    for row, pk in zip(rows, ids, strict=True):
        row.__dict__["id"] = pk  # the attribute itself: `pk` is a property, a call per row
        state = row._state
        state.adding = False
        state.db = alias


def _insert(rows: list[Event], payloads: list[str]) -> list[Event]:
    """Insert `rows` (with `payloads`, their JSON text) and give them their ids."""
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
                for pk, r, text in zip(ids, rows, payloads, strict=True):
                    copy.write_row((pk, r.name, r.occurred_at, r.district_id, r.subject_type, r.subject_id, text, now))
        elif connection.vendor == "sqlite":
            adapt = connection.ops.adapt_datetimefield_value
            created = adapt(now)
            occurred = {t: adapt(t) for t in {r.occurred_at for r in rows}}  # a bulk publisher shares a few
            with transaction.atomic():  # ids are consecutive only while this connection holds the write lock
                cur.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                    [
                        (r.name, occurred[r.occurred_at], r.district_id, r.subject_type, r.subject_id, text, created)
                        for r, text in zip(rows, payloads, strict=True)
                    ],
                )  # fmt: skip
                cur.execute("SELECT last_insert_rowid()")
                last = cur.fetchone()[0]
            ids = list(range(last - len(rows) + 1, last + 1))
        else:
            return Event.objects.bulk_create(rows)
    _mark_saved(rows, ids)
    return rows


def _deliver(handler: Handler, batch: list[Event]) -> None:
    try:
        handler(batch)
    except Exception:  # a failing subscriber must not undo the publisher's committed work
        log.exception("event subscriber %r failed on %d events", handler, len(batch))
