"""Registry rows for page tests, written directly (the page code only reads them)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from iccc.accounts.models import User
from iccc.geo.models import Zone
from iccc.registry.models import Case, CaseStatus, Person, PersonAccess

_srf = itertools.count(1)


def make_case(
    zone: Zone | None,
    *,
    district: Any = None,
    name: str = "Asha Devi",
    phone: str = "+919876543210",
    status: CaseStatus = CaseStatus.HOME_ISOLATION,
    received_hours_ago: float = 1,
    age: int = 34,
) -> Case:
    district = district or zone.district  # type: ignore[union-attr]
    received = timezone.now() - timedelta(hours=received_hours_ago)
    person = Person.objects.create(
        district=district, name=name, name_key=name.lower(), age=age, phone=phone, zone=zone, address="Sector 45"
    )
    return Case.objects.create(
        district=district,
        person=person,
        zone=zone,
        srf_id=f"SRF{next(_srf):08d}",
        result_date=timezone.localdate(received),
        result_received_at=received,
        status=status,
    )


def grant(person: Person, *, user: User | None = None, organisation: Any = None, days: int = 3) -> PersonAccess:
    return PersonAccess.objects.create(
        person=person, user=user, organisation=organisation, reason="test", until=timezone.now() + timedelta(days=days)
    )
