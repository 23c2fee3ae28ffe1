"""Insight test builders: a district's epidemic in the registry, beds on record, a computed run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from iccc.capacity.models import BedCapacity, BedType, Facility, FacilityKind
from iccc.geo.models import District, Zone
from iccc.insight import services
from iccc.insight.models import InsightRun
from iccc.registry.models import Case, Person, Placement
from iccc.testing.cast import Cast

IST = ZoneInfo("Asia/Kolkata")
AS_OF = date(2021, 4, 20)
NOW = datetime.combine(AS_OF + timedelta(days=1), time(9, 0), tzinfo=IST)
_srf = count(880000000001)


def add_cases(district: District, zone: Zone | None, per_day: Mapping[date, int], *, late_share: float = 0.2) -> int:
    """People and their cases, `per_day[d]` with result date d; about `late_share` reach us a day later."""
    people, cases = [], []
    for day, n in per_day.items():
        for i in range(n):
            person = Person(district=district, name="Test Person", name_key="test person", zone=zone,
                            placement=Placement.GAZETTEER if zone else Placement.UNPLACED)  # fmt: skip
            late = (i % 10) < round(late_share * 10)
            received = datetime.combine(day + timedelta(days=1 if late else 0), time(18, 0), tzinfo=IST)
            people.append(person)
            cases.append(Case(district=district, person=person, srf_id=str(next(_srf)), result_date=day,
                              result_received_at=received, zone=zone))  # fmt: skip
    Person.objects.bulk_create(people, batch_size=1000)
    Case.objects.bulk_create(cases, batch_size=1000)
    return len(cases)


def growing(days: int, start_level: float, weekly_factor: float, end: date = AS_OF) -> dict[date, int]:
    """A wave: `start_level` cases a day `days` days before `end`, times `weekly_factor` a week."""
    out = {}
    for i in range(days):
        day = end - timedelta(days=days - 1 - i)
        out[day] = round(start_level * weekly_factor ** (i / 7))
    return out


def add_beds(district: District, **beds: tuple[int, int]) -> Facility:
    """One hospital with (total, occupied) beds per type, reported at NOW."""
    hospital = Facility.objects.create(
        district=district, name=f"Hospital {next(_srf)}", kind=FacilityKind.HOSPITAL, lat=28.45, lon=77.05
    )
    for bed_type, (total, occupied) in beds.items():
        BedCapacity.objects.create(
            facility=hospital, bed_type=BedType(bed_type), total=total, occupied=occupied, updated_at=NOW
        )
    return hospital


@dataclass
class Epidemic:
    cast: Cast
    run: InsightRun


@pytest.fixture
def epidemic(cast: Cast) -> Cast:
    """The cast's district with ten weeks of a growing wave in zone A, a trickle in zone B, beds on record."""
    add_cases(cast.district, cast.zone_a, growing(70, 4, 1.25))
    add_cases(cast.district, cast.zone_b, {AS_OF - timedelta(days=d): 1 for d in (1, 3, 9, 12, 20, 30)})
    add_cases(cast.district, None, {AS_OF - timedelta(days=2): 2})
    add_beds(cast.district, general=(300, 200), icu=(40, 35))
    return cast


@pytest.fixture
def computed(epidemic: Cast) -> Epidemic:
    run = services.compute_insight(epidemic.district, as_of=AS_OF, now=NOW)
    assert run.status == "done", run.error
    return Epidemic(epidemic, run)


def zone_of(cast: Cast, code: str) -> Any:
    return cast.zone_a if code == "A" else cast.zone_b
