"""Small builders of people and cases for read-side tests (the importer has its own tests)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from iccc.registry import names
from iccc.registry.models import Case, Household, Person, PersonAccess, Placement, TestResult

_srf = count(660101000001)


def make_person(
    district: Any,
    zone: Any,
    name: str,
    *,
    phone: str = "",
    age: int | None = 40,
    sex: str = "M",
    srf_id: str | None = None,
    result_date: date | None = None,
    household: Household | None = None,
    address: str = "H.No 12, Sector 45",
) -> Person:
    person = Person.objects.create(
        district=district,
        name=name,
        name_key=names.name_key(name),
        age=age,
        sex=sex,
        phone=phone,
        phone_kind="mobile" if phone else "none",
        address=address,
        zone=zone,
        placement=Placement.GAZETTEER if zone else Placement.UNPLACED,
        household=household,
    )
    result_date = result_date or timezone.localdate() - timedelta(days=3)
    case = Case.objects.create(
        district=district,
        person=person,
        srf_id=srf_id or str(next(_srf)),
        result_date=result_date,
        sample_date=result_date - timedelta(days=1),
        result_received_at=timezone.now(),
        lab_name="Civil Hospital Lab",
        zone=zone,
    )
    TestResult.objects.create(
        case=case, sample_id=case.srf_id, result_date=result_date, positive=True, lab_name=case.lab_name
    )
    return person


def make_household(district: Any, zone: Any, key: str = "h no 12 sector 45") -> Household:
    return Household.objects.create(district=district, address_key=key, zone=zone)


def grant(person: Person, *, user: Any = None, organisation: Any = None, days: int = 7) -> PersonAccess:
    return PersonAccess.objects.create(
        person=person,
        user=user,
        organisation=organisation,
        reason="test grant",
        until=timezone.now() + timedelta(days=days),
    )
