"""Duplicates: the same person asking for the same help on several channels is one request with several contacts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from iccc.assistance import services
from iccc.assistance.models import (
    AssistancePolicy,
    EventKind,
    Priority,
    RequestContact,
    RequestEvent,
    RequestState,
    ServiceRequest,
)
from iccc.assistance.tests.factories import T0, later, new_request, offer, routed
from iccc.core.models import AuditEntry
from iccc.registry.models import Person


def _ask(cast: Any, channel: str, phone: str, *, minutes: float = 0, kind: str = "ambulance", **kw: Any) -> tuple:
    data = services.NewRequest(
        district=cast.district.pk,
        kind=kind,
        channel=channel,
        requester_name=kw.pop("requester_name", "Ravi Kumar"),
        requester_phone=phone,
        zone=cast.zone_a,
        details=kw.pop("details", {"pickup": "H.No. 12, Sector 14"}),
        **kw,
    )
    actor = None if channel in ("whatsapp", "web_portal", "sms") else cast.operator_a
    return services.raise_request(actor, data, now=later(minutes))


def test_three_channels_within_the_window_make_one_request_with_three_contacts(cast: Any) -> None:
    first, created1 = _ask(cast, "helpline_1950", "98765 43210")
    second, created2 = _ask(cast, "whatsapp", "+91 98765-43210", minutes=10, external_ref="wamid.A1")
    third, created3 = _ask(cast, "web_portal", "09876543210", minutes=25)
    assert (created1, created2, created3) == (True, False, False)
    assert first.pk == second.pk == third.pk
    assert ServiceRequest.objects.count() == 1
    request = ServiceRequest.objects.get()
    assert request.contact_count == 3
    assert list(request.contacts.values_list("channel", flat=True)) == ["helpline_1950", "whatsapp", "web_portal"]
    merged = RequestEvent.objects.filter(request=request, kind=EventKind.CONTACT_MERGED)
    assert merged.count() == 2
    assert all(not e.shared for e in merged)  # contacts carry phone numbers: ICCC eyes only


def test_outside_the_window_it_is_a_new_request(cast: Any) -> None:
    first, _ = _ask(cast, "helpline_1950", "9876543210")
    second, created = _ask(cast, "whatsapp", "9876543210", minutes=6 * 60 + 1)
    assert created is True
    assert first.pk != second.pk


def test_the_window_is_the_district_policy(cast: Any) -> None:
    AssistancePolicy.objects.create(district=cast.district, duplicate_window_minutes=30)
    _ask(cast, "helpline_1950", "9876543210")
    _second, created = _ask(cast, "whatsapp", "9876543210", minutes=31)
    assert created is True


def test_a_different_service_is_a_different_request(cast: Any) -> None:
    _ask(cast, "helpline_1950", "9876543210")
    _food, created = _ask(cast, "whatsapp", "9876543210", kind="food", details={"people": 3, "days": 5})
    assert created is True


def test_the_same_registry_person_from_two_phones_is_one_request(cast: Any) -> None:
    person = Person.objects.create(district=cast.district, name="Meena Yadav", zone=cast.zone_a, phone="+919811111111")
    a, _ = _ask(cast, "helpline_1950", "9822222222", person=person)
    b, created = _ask(cast, "call_console", "9833333333", person=person, minutes=5)
    assert created is False
    assert a.pk == b.pk


def test_two_patients_from_one_family_phone_stay_two_requests(cast: Any) -> None:
    """A son asking beds for both parents from his phone must not lose one of them to 'deduplication'."""
    _mother, _ = _ask(cast, "helpline_1950", "9876543210", kind="hospital_bed", details={"bed_type": "general"},
                      patient_name="Kamla Devi")  # fmt: skip
    _father, created = _ask(cast, "helpline_1950", "9876543210", kind="hospital_bed", details={"bed_type": "icu"},
                            patient_name="Ram Prakash", minutes=3)  # fmt: skip
    assert created is True
    assert ServiceRequest.objects.count() == 2


def test_the_same_patient_name_spelt_differently_is_still_one_request(cast: Any) -> None:
    _ask(cast, "helpline_1950", "9876543210", patient_name="Kamla Devi")
    _again, created = _ask(cast, "whatsapp", "9876543210", patient_name="Kamala Devi", minutes=4)
    assert created is False


def test_a_finished_request_is_not_reopened_by_a_new_ask(cast: Any) -> None:
    first, _ = _ask(cast, "helpline_1950", "9876543210")
    services.cancel_request(cast.operator_a, first, "family found a private ambulance", now=later(2))
    second, created = _ask(cast, "whatsapp", "9876543210", minutes=3)
    assert created is True
    assert second.pk != first.pk


def test_a_redelivered_channel_message_is_not_a_second_contact(cast: Any) -> None:
    a, _ = _ask(cast, "whatsapp", "9876543210", external_ref="wamid.X9")
    b, created = _ask(cast, "whatsapp", "9876543210", external_ref="wamid.X9", minutes=1)
    assert created is False
    assert a.pk == b.pk
    assert RequestContact.objects.count() == 1


def test_a_replayed_idempotency_key_applies_once(cast: Any) -> None:
    data = services.NewRequest(
        district=cast.district.pk, kind="food", channel="call_console", requester_phone="9876543210",
        zone=cast.zone_a, details={"people": 2, "days": 3},
    )  # fmt: skip
    a, created_a = services.raise_request(cast.operator_a, data, idempotency_key="form-1", now=T0)
    b, created_b = services.raise_request(cast.operator_a, data, idempotency_key="form-1", now=later(1))
    assert (created_a, created_b) == (True, False)
    assert a.pk == b.pk
    assert RequestContact.objects.count() == 1
    assert AuditEntry.objects.filter(target_id=str(a.pk)).count() == 1


def test_a_new_contact_with_worse_signs_raises_the_priority_and_brings_the_due_time_forward(cast: Any) -> None:
    first, _ = _ask(cast, "helpline_1950", "9876543210", details={"pickup": "Sector 14", "urgency": "scheduled"})
    assert first.priority == Priority.URGENT
    due_before = first.due_at
    merged, _ = _ask(cast, "whatsapp", "9876543210", minutes=5, spo2=86, signs=["breathlessness"])
    merged.refresh_from_db()
    assert merged.priority == Priority.CRITICAL
    assert merged.spo2 == 86
    assert merged.due_at == first.created_at + timedelta(minutes=15) < due_before
    assert RequestEvent.objects.filter(request=merged, kind=EventKind.PRIORITY).exists()


def test_a_merged_contact_never_lowers_the_priority(cast: Any) -> None:
    first, _ = _ask(cast, "helpline_1950", "9876543210", spo2=85)
    assert first.priority == Priority.CRITICAL
    merged, _ = _ask(cast, "whatsapp", "9876543210", minutes=5, spo2=97)
    merged.refresh_from_db()
    assert merged.priority == Priority.CRITICAL
    assert merged.spo2 == 85


def test_a_duplicate_of_a_request_already_with_a_partner_joins_it(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    first = routed(cast, "food", phone="9876543210")
    assert first.state == RequestState.ASSIGNED
    again = new_request(cast, "food", phone="9876543210", channel="whatsapp", actor=None, now=later(30))
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.state == RequestState.ASSIGNED
    assert again.contact_count == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_three_channels_at_the_same_instant_still_make_one_request(cast: Any) -> None:
    import threading

    from django.db import connection

    barrier = threading.Barrier(3)
    results: list[Any] = []
    errors: list[BaseException] = []

    def ask(channel: str) -> None:
        try:
            barrier.wait()
            results.append(_ask(cast, channel, "9876543210"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(c,)) for c in ("helpline_1950", "whatsapp", "web_portal")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert ServiceRequest.objects.count() == 1
    assert sorted(created for _r, created in results) == [False, False, True]
    assert RequestContact.objects.count() == 3
