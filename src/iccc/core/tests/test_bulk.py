import uuid

from django.db import connection, transaction
from django.utils import timezone

from iccc.core.bulk import insert_rows
from iccc.core.models import Event


def _row(subject_id: str) -> tuple[object, ...]:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return ("bulk_row", now, None, "test.thing", subject_id, '{"n": 1}', now)


FIELDS = ("name", "occurred_at", "district_id", "subject_type", "subject_id", "payload", "created_at")


def test_inserted_rows_are_stored_with_every_value(db):
    insert_rows(Event, FIELDS, [_row("a"), _row("b")])
    stored = Event.objects.filter(name="bulk_row").order_by("subject_id")
    assert [(e.subject_id, e.payload) for e in stored] == [("a", {"n": 1}), ("b", {"n": 1})]


def test_ignore_conflicts_skips_rows_that_break_a_unique_constraint(db):
    from iccc.geo.models import District
    from iccc.registry.models import Household

    district = District.objects.create(
        code="bulk", name="Bulk", boundary={}, min_lon=0, min_lat=0, max_lon=1, max_lat=1
    )
    first = Household.objects.create(district=district, address_key="house 1 sector 45")
    now = connection.ops.adapt_datetimefield_value(timezone.now())  # the database's own form
    rows = [
        (uuid.uuid4().hex, district.pk, "house 1 sector 45", None, now),  # already there: skipped
        (uuid.uuid4().hex, district.pk, "house 2 sector 45", None, now),
    ]
    with transaction.atomic():
        insert_rows(Household, ("id", "district", "address_key", "zone", "created_at"), rows, ignore_conflicts=True)
    stored = dict(Household.objects.filter(district=district).values_list("address_key", "id"))
    assert stored["house 1 sector 45"] == first.pk
    assert set(stored) == {"house 1 sector 45", "house 2 sector 45"}
