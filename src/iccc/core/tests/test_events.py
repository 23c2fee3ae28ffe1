from django.db import transaction

from iccc.core import events
from iccc.core.models import Event


def test_published_events_are_stored_and_delivered_after_commit(transactional_db):
    seen: list[str] = []
    events.subscribe("thing_happened", lambda batch: seen.extend(e.subject_id for e in batch))
    with transaction.atomic():
        events.publish([events.NewEvent("thing_happened", "test.thing", "t1", {"n": 1})])
        assert seen == []  # not before commit
    assert seen == ["t1"]
    assert Event.objects.get(subject_id="t1").payload == {"n": 1}


def test_rolled_back_events_leave_no_row_and_reach_no_subscriber(transactional_db):
    seen: list[str] = []
    events.subscribe("rolled_back", lambda batch: seen.extend(e.subject_id for e in batch))
    try:
        with transaction.atomic():
            events.publish([events.NewEvent("rolled_back", "test.thing", "t2")])
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert seen == []
    assert not Event.objects.filter(name="rolled_back").exists()


def test_a_failing_subscriber_does_not_undo_the_publisher(transactional_db):
    def boom(batch):
        raise ValueError("subscriber bug")

    events.subscribe("fragile", boom)
    with transaction.atomic():
        events.publish([events.NewEvent("fragile", "test.thing", "t3")])
    assert Event.objects.filter(name="fragile").count() == 1


def test_a_bulk_publish_stores_every_event_with_its_id_and_payload(transactional_db):
    seen: list[int] = []
    events.subscribe("bulk_happened", lambda batch: seen.extend(e.pk for e in batch))
    many = [events.NewEvent("bulk_happened", "test.thing", f"b{i}", {"i": i}) for i in range(events._FAST_INSERT_MIN)]
    with transaction.atomic():
        created = events.publish(many)
    stored = dict(Event.objects.filter(name="bulk_happened").values_list("pk", "payload"))
    assert [e.pk for e in created] == seen
    assert {pk: p["i"] for pk, p in stored.items()} == {e.pk: e.payload["i"] for e in created}
