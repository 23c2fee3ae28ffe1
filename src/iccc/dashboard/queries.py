"""The figures on the home pages. Read-only; every patient-level number goes through `visible_to`.

Analysts get aggregates over their district only, with small counts suppressed (PRIV).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from iccc.core.time import local_today, local_tz
from iccc.geo.models import Zone
from iccc.registry.models import (
    ACTIVE_CASE_STATUSES,
    Case,
    CaseStatus,
    ImportBatch,
    MatchStatus,
    Person,
    PossibleDuplicate,
)

# Counts from 1 to this minus one are shown as "<5" to analysts: too few to publish safely.
SMALL_COUNT_THRESHOLD = 5
NEW_CASE_WINDOW = timedelta(hours=48)


def start_of_local_day(now: datetime | None = None) -> datetime:
    """Midnight today in the district's time zone, as an aware datetime (compared with UTC storage)."""
    today = local_today(now)
    return datetime(today.year, today.month, today.day, tzinfo=local_tz())


@dataclass
class ZoneRow:
    zone_id: int | None
    label: str
    today: int = 0
    active: int = 0
    home: int = 0


@dataclass
class ZoneTable:
    rows: list[ZoneRow] = field(default_factory=list)

    @property
    def total(self) -> ZoneRow:
        return ZoneRow(
            None,
            "",
            today=sum(r.today for r in self.rows),
            active=sum(r.active for r in self.rows),
            home=sum(r.home for r in self.rows),
        )

    @property
    def max_active(self) -> int:
        return max([r.active for r in self.rows] + [1])


def _zone_label(zone: Zone, language: str) -> str:
    name = zone.name_hi if language == "hi" and zone.name_hi else zone.name
    return f"{zone.code} {name}"


def zone_table(cases: QuerySet[Case], zones: QuerySet[Zone], language: str, unplaced_label: str) -> ZoneTable:
    """Cases today / active / in home isolation by zone: two queries, whatever the size."""
    since = start_of_local_day()
    counts: dict[int | None, dict[str, Any]] = {
        row["zone_id"]: dict(row)
        for row in cases.order_by()
        .values("zone_id")
        .annotate(
            today=Count("id", filter=Q(result_received_at__gte=since)),
            active=Count("id", filter=Q(status__in=ACTIVE_CASE_STATUSES)),
            home=Count("id", filter=Q(status=CaseStatus.HOME_ISOLATION)),
        )
    }
    table = ZoneTable()
    for zone in zones:
        c: dict[str, Any] = counts.pop(zone.pk, {})
        table.rows.append(
            ZoneRow(zone.pk, _zone_label(zone, language), c.get("today", 0), c.get("active", 0), c.get("home", 0))
        )
    # Cases whose address could not be placed (or in a zone outside this list) are still counted.
    rest = list(counts.values())
    if rest:
        table.rows.append(
            ZoneRow(
                None,
                unplaced_label,
                sum(c["today"] for c in rest),
                sum(c["active"] for c in rest),
                sum(c["home"] for c in rest),
            )
        )
    return table


def zones_for(user: Any) -> QuerySet[Zone]:
    zones = Zone.objects.all() if user.is_superuser else Zone.objects.filter(district_id=user.district_id)
    zone_ids = user.zone_ids()
    if zone_ids is not None:
        zones = zones.filter(pk__in=zone_ids)
    # Geometry is large (GeoJSON polygons) and not needed for a table.
    return zones.order_by("district_id", "code").only("id", "district_id", "code", "name", "name_hi")


def recent_imports(user: Any, limit: int = 5) -> list[ImportBatch]:
    # A batch's row-error list can hold thousands of entries: not loaded for a summary line.
    batches = ImportBatch.objects.select_related("uploaded_by").defer("errors").order_by("-received_at")
    if not user.is_superuser:
        batches = batches.filter(district_id=user.district_id)
    return list(batches[:limit])


def pending_duplicates(user: Any) -> int:
    pairs = PossibleDuplicate.objects.filter(status=MatchStatus.PENDING)
    if not user.is_superuser:
        pairs = pairs.filter(district_id=user.district_id)
    return pairs.count()


def new_cases_awaiting_contact(user: Any, limit: int = 50) -> tuple[int, list[Case]]:
    """Recent cases in home isolation in the user's zones, longest-waiting first.

    Until the outreach desk records contacts, "awaiting contact" means: result received in
    the last 48 hours and still in home isolation.
    """
    cases = Case.objects.visible_to(user).filter(
        status=CaseStatus.HOME_ISOLATION, result_received_at__gte=timezone.now() - NEW_CASE_WINDOW
    )
    total = cases.count()
    rows = list(cases.select_related("person", "zone").order_by("result_received_at")[:limit])
    return total, rows


def assigned_people(user: Any, limit: int = 50) -> tuple[int, list[Person]]:
    """People whose work was handed to this user or their organisation (access grants)."""
    people = Person.objects.visible_to(user)
    total = people.count()
    return total, list(people.select_related("zone").order_by("name")[:limit])


def suppress(value: int) -> str:
    """Analysts' view of a count: exact when 0 or at least the threshold, else '<5'."""
    if 0 < value < SMALL_COUNT_THRESHOLD:
        return f"<{SMALL_COUNT_THRESHOLD}"
    return str(value)


@dataclass
class AggregateRow:
    label: str
    values: list[str]
    bar: int = 0


def district_cases(user: Any) -> QuerySet[Case]:
    """All cases of the analyst's district, for aggregation only (never listed row by row)."""
    if user.is_superuser:
        return Case.objects.all()
    if user.district_id is None:
        return Case.objects.none()
    return Case.objects.filter(district_id=user.district_id)


def daily_new_cases(cases: QuerySet[Case], days: int = 14) -> list[tuple[date, int]]:
    """New cases per day, by the local (IST) day their result reached the ICCC.

    The arrival time, not the lab's result date, is what the command centre acts on; a
    re-imported old line list shows up on the day it arrived.
    """
    today = local_today()
    first = today - timedelta(days=days - 1)
    since = start_of_local_day() - timedelta(days=days - 1)
    counts = {
        row["day"]: row["n"]
        for row in cases.filter(result_received_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("result_received_at", tzinfo=local_tz()))
        .values("day")
        .annotate(n=Count("id"))
    }
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)]


def status_counts(cases: QuerySet[Case]) -> list[tuple[str, int]]:
    counts = {row["status"]: row["n"] for row in cases.order_by().values("status").annotate(n=Count("id"))}
    return [(str(label), counts.get(value, 0)) for value, label in CaseStatus.choices]
