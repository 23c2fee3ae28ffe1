"""Live outreach KPIs for the supervisor page and the API: a bounded number of queries each.

* Time to first contact: for first-contact tasks whose clock started in the window,
  minutes from the result arriving to the first human contact (any task of the case:
  a callback or a field visit that reaches them counts). Median and p90 are over the
  contacts made; "% within SLA" is contacts made by the due time over every task whose
  due time has passed or that was contacted (a task still waiting past its SLA counts
  against it, one still inside its SLA is not yet judged).
* Queue depth: open tasks available now, by kind; the oldest waiting one.
* Follow-up adherence: home-isolation patients with a check-in or a contact today,
  over those who were due a follow-up today.
* Calls per agent-hour: call attempts over the distinct (agent, clock hour) pairs in which
  that agent made at least one call.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from iccc.outreach.models import (
    CONTACT_OUTCOMES,
    LIVE_TASK_STATUSES,
    CallAttempt,
    CheckIn,
    OutreachTask,
    TaskKind,
    TaskStatus,
)
from iccc.registry.models import Case, CaseStatus

if TYPE_CHECKING:
    from iccc.accounts.models import User


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100) of `values`; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class ContactStats:
    tasks: int = 0
    contacted: int = 0
    waiting: int = 0
    median_min: float | None = None
    p90_min: float | None = None
    within_sla: int = 0
    judged: int = 0
    pct_within_sla: float | None = None


def _contact_stats(rows: list[tuple[datetime, datetime | None, datetime]], now: datetime) -> ContactStats:
    st = ContactStats(tasks=len(rows))
    minutes = []
    for start, contacted, due in rows:
        if contacted is not None:
            st.contacted += 1
            minutes.append((contacted - start).total_seconds() / 60)
            st.judged += 1
            st.within_sla += contacted <= due
        else:
            st.waiting += 1
            st.judged += due <= now
    st.median_min = _r(percentile(minutes, 50))
    st.p90_min = _r(percentile(minutes, 90))
    st.pct_within_sla = _r(100 * st.within_sla / st.judged) if st.judged else None
    return st


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def first_contact_stats(
    district_id: int,
    *,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
    zone_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Time to first contact overall and per zone over [since, until): one query."""
    now = now or timezone.now()
    qs = OutreachTask.objects.filter(
        district_id=district_id, kind=TaskKind.FIRST_CONTACT, clock_start__gte=since, clock_start__lt=until
    ).exclude(status=TaskStatus.CANCELLED, contacted_at__isnull=True)
    if zone_ids is not None:
        qs = qs.filter(zone_id__in=zone_ids)
    by_zone: dict[Any, list[tuple[datetime, datetime | None, datetime]]] = defaultdict(list)
    every = []
    for zone_id, start, contacted, due in qs.values_list("zone_id", "clock_start", "contacted_at", "due_at"):
        by_zone[zone_id].append((start, contacted, due))
        every.append((start, contacted, due))
    return {
        "overall": asdict(_contact_stats(every, now)),
        "zones": {str(z): asdict(_contact_stats(rows, now)) for z, rows in by_zone.items()},
    }


def queue_depth(district_id: int, *, now: datetime | None = None, zone_ids: list[int] | None = None) -> dict[str, Any]:
    """Waiting tasks (available now) by kind, tasks with agents, scheduled later, and the oldest waiting: 2 queries."""
    now = now or timezone.now()
    qs = OutreachTask.objects.filter(district_id=district_id, status__in=LIVE_TASK_STATUSES)
    if zone_ids is not None:
        qs = qs.filter(zone_id__in=zone_ids)
    ready = Q(status=TaskStatus.OPEN, available_at__lte=now)
    rows = qs.values("kind").annotate(
        waiting=Count("pk", filter=ready),
        leased=Count("pk", filter=Q(status=TaskStatus.LEASED)),
        later=Count("pk", filter=Q(status=TaskStatus.OPEN, available_at__gt=now)),
        overdue=Count("pk", filter=ready & Q(due_at__lt=now)),
    )
    by_kind = {r["kind"]: {k: r[k] for k in ("waiting", "leased", "later", "overdue")} for r in rows}
    oldest = qs.filter(ready).order_by("clock_start").values("pk", "kind", "clock_start", "due_at").first()
    return {
        "waiting": sum(v["waiting"] for v in by_kind.values()),
        "leased": sum(v["leased"] for v in by_kind.values()),
        "later": sum(v["later"] for v in by_kind.values()),
        "overdue": sum(v["overdue"] for v in by_kind.values()),
        "by_kind": by_kind,
        "oldest": None
        if oldest is None
        else {
            "task_id": oldest["pk"],
            "kind": oldest["kind"],
            "waiting_min": round((now - oldest["clock_start"]).total_seconds() / 60, 1),
            "due_at": oldest["due_at"].isoformat(),
        },
    }


def follow_up_adherence(
    district_id: int, today: date, *, zone_ids: list[int] | None = None, tz: Any = None
) -> dict[str, Any]:
    """% of home-isolation patients (result before today) checked today: 3 queries."""
    from iccc.outreach.services import local_tz

    tz = tz or local_tz()
    start = datetime.combine(today, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    cases = Case.objects.filter(district_id=district_id, status=CaseStatus.HOME_ISOLATION, result_received_at__lt=start)
    if zone_ids is not None:
        cases = cases.filter(zone_id__in=zone_ids)
    due = cases.count()
    checked_ids = set(
        CheckIn.objects.filter(district_id=district_id, at__gte=start, at__lt=end, case__in=cases.values("pk"))
        .values_list("case_id", flat=True)
        .distinct()
    )
    checked_ids |= set(
        CallAttempt.objects.filter(
            at__gte=start, at__lt=end, outcome__in=list(CONTACT_OUTCOMES), case__in=cases.values("pk")
        )
        .values_list("case_id", flat=True)
        .distinct()
    )
    checked = len(checked_ids)
    return {"isolated": due, "checked_today": checked, "pct": _r(100 * checked / due) if due else None}


def calls_per_agent_hour(
    district_id: int, *, since: datetime, until: datetime, zone_ids: list[int] | None = None
) -> dict[str, Any]:
    """Calls made per agent-hour worked (an agent-hour = an hour in which the agent made a call): 1 query."""
    qs = CallAttempt.objects.filter(task__district_id=district_id, at__gte=since, at__lt=until)
    if zone_ids is not None:
        qs = qs.filter(task__zone_id__in=zone_ids)
    hours: set[tuple[int | None, datetime]] = set()
    calls = 0
    agents: set[int | None] = set()
    for agent_id, at in qs.values_list("agent_id", "at"):
        calls += 1
        agents.add(agent_id)
        hours.add((agent_id, at.replace(minute=0, second=0, microsecond=0)))
    return {
        "calls": calls,
        "agents": len(agents),
        "agent_hours": len(hours),
        "per_agent_hour": _r(calls / len(hours)) if hours else None,
    }


def breach_list(
    district_id: int, *, now: datetime | None = None, zone_ids: list[int] | None = None, limit: int = 50
) -> QuerySet[OutreachTask]:
    """Live tasks past their due time, the longest overdue first (1 query with the case, person, zone)."""
    now = now or timezone.now()
    qs = OutreachTask.objects.filter(district_id=district_id, status__in=LIVE_TASK_STATUSES, due_at__lt=now)
    if zone_ids is not None:
        qs = qs.filter(zone_id__in=zone_ids)
    return qs.select_related("case", "person", "zone", "leased_by", "assigned_to").order_by("due_at")[:limit]


def queue_by_zone(
    district_id: int, *, now: datetime | None = None, zone_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Per zone: waiting, with agents, overdue, oldest waiting start (1 query)."""
    now = now or timezone.now()
    qs = OutreachTask.objects.filter(district_id=district_id, status__in=LIVE_TASK_STATUSES)
    if zone_ids is not None:
        qs = qs.filter(zone_id__in=zone_ids)
    ready = Q(status=TaskStatus.OPEN, available_at__lte=now)
    rows = (
        qs.values("zone_id", "zone__name")
        .annotate(
            waiting=Count("pk", filter=ready),
            leased=Count("pk", filter=Q(status=TaskStatus.LEASED)),
            overdue=Count("pk", filter=Q(due_at__lt=now)),
            oldest=Min("clock_start", filter=ready),
        )
        .order_by("zone__name")
    )
    return [
        {
            "zone_id": r["zone_id"],
            "zone": r["zone__name"] or "—",
            "waiting": r["waiting"],
            "leased": r["leased"],
            "overdue": r["overdue"],
            "oldest_waiting_min": None if r["oldest"] is None else round((now - r["oldest"]).total_seconds() / 60, 1),
        }
        for r in rows
    ]


@dataclass
class KpiWindow:
    since: datetime
    until: datetime
    today: date
    now: datetime = field(default_factory=timezone.now)


def default_window(now: datetime | None = None, hours: int = 24) -> KpiWindow:
    from iccc.outreach.services import local_today

    now = now or timezone.now()
    return KpiWindow(
        since=now - timedelta(hours=hours), until=now + timedelta(seconds=1), today=local_today(now), now=now
    )


def kpis_for(user: User, *, zone_id: int | None = None, window: KpiWindow | None = None) -> dict[str, Any]:
    """Every KPI for `user`'s scope (their zones, or one of them): a fixed number of queries.

    Analysts and leads get the district; operators and doctors their zones; the others
    nothing (PermissionError).
    """
    from iccc.accounts.models import Role

    if not user.is_authenticated or user.district_id is None or user.role not in (
        Role.COMMAND_LEAD, Role.ANALYST, Role.OPERATOR, Role.DOCTOR,
    ):  # fmt: skip
        raise PermissionError("no KPIs for this role")
    w = window or default_window()
    zones = user.zone_ids()
    if zone_id is not None:
        if zones is not None and zone_id not in zones:
            raise PermissionError("zone not in scope")
        zones = [zone_id]
    did = int(user.district_id)
    return {
        "window": {"since": w.since.isoformat(), "until": w.until.isoformat(), "today": w.today.isoformat()},
        "first_contact": first_contact_stats(did, since=w.since, until=w.until, now=w.now, zone_ids=zones),
        "queue": queue_depth(did, now=w.now, zone_ids=zones),
        "follow_up": follow_up_adherence(did, w.today, zone_ids=zones),
        "calls": calls_per_agent_hour(did, since=w.since, until=w.until, zone_ids=zones),
        "breaches": [
            {
                "task_id": t.pk,
                "kind": t.kind,
                "zone": t.zone.name if t.zone else None,
                "overdue_min": round((w.now - t.due_at).total_seconds() / 60, 1),
                "status": t.status,
            }
            for t in breach_list(did, now=w.now, zone_ids=zones, limit=20)
        ],
    }
