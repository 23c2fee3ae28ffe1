"""Builders for outreach tests (no tests here): cases with their first-contact task, a fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from iccc.outreach import services
from iccc.outreach.models import OutreachTask
from iccc.registry import names
from iccc.registry.models import Case, Person, Placement

IST = ZoneInfo("Asia/Kolkata")
# A fixed "now" for frozen-clock tests: the Gurugram peak afternoon.
T0 = datetime(2021, 4, 29, 14, 0, tzinfo=IST)
_srf = count(770101000001)
_phone = count(9810000001)


def make_case(
    district: Any,
    zone: Any,
    *,
    name: str = "Ravi Kumar",
    age: int | None = 40,
    received_at: datetime = T0,
    severity: str = "unknown",
    symptomatic: bool | None = None,
    result_days_ago: int = 0,
    phone: str | None = None,
) -> Case:
    """A person and their case, as the import would leave them (no task yet)."""
    person = Person.objects.create(
        district=district,
        name=name,
        name_key=names.name_key(name),
        age=age,
        phone=phone if phone is not None else f"+91{next(_phone)}",
        phone_kind="mobile",
        zone=zone,
        placement=Placement.GAZETTEER if zone else Placement.UNPLACED,
    )
    return Case.objects.create(
        district=district,
        person=person,
        srf_id=str(next(_srf)),
        result_date=(received_at - timedelta(days=result_days_ago)).date(),
        result_received_at=received_at - timedelta(days=result_days_ago),
        zone=zone,
        severity=severity,
        symptomatic=symptomatic,
    )


def make_task(district: Any, zone: Any, *, now: datetime = T0, **kw: Any) -> OutreachTask:
    """A case with its first-contact task (through the service the event subscriber uses)."""
    case = make_case(district, zone, **kw)
    return services.first_contact_for(case, now=now)
