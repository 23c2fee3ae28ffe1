"""KPIs on a small constructed day (exact numbers, bounded queries) and who sees which task."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from iccc.outreach import kpis
from iccc.outreach.models import OutreachTask
from iccc.outreach.services import claim_next_task, record_call_outcome, record_checkin, schedule_follow_ups
from iccc.outreach.tests.support import T0, make_case, make_task

DAY = T0.replace(hour=0)


def _reach(agent: Any, task: OutreachTask, at: Any, key: str) -> None:
    got = claim_next_task(agent, now=at)
    assert got is not None
    assert got.pk == task.pk
    record_call_outcome(agent, got, "reached", idempotency_key=key, now=at)


def test_time_to_first_contact_on_a_small_day(crew: Any) -> None:
    # Zone A: contacts after 30, 60 and 150 minutes (the last past the 2-hour SLA).
    starts = [T0 - timedelta(hours=5), T0 - timedelta(hours=4), T0 - timedelta(hours=3)]
    waits = [30, 60, 150]
    tasks = [make_task(crew.district, crew.zone_a, received_at=s, now=s) for s in starts]
    for i, (t, s, w) in enumerate(zip(tasks, starts, waits, strict=True)):
        _reach(crew.operator_a, t, s + timedelta(minutes=w), f"k{i}")
    # Zone B: one waiting for 3 hours (breached), one received 10 minutes ago (not judged yet).
    make_task(crew.district, crew.zone_b, received_at=T0 - timedelta(hours=3))
    make_task(crew.district, crew.zone_b, received_at=T0 - timedelta(minutes=10))
    stats = kpis.first_contact_stats(crew.district.pk, since=DAY, until=DAY + timedelta(days=1), now=T0)
    overall = stats["overall"]
    assert (overall["tasks"], overall["contacted"], overall["waiting"]) == (5, 3, 2)
    assert overall["median_min"] == 60.0
    assert overall["p90_min"] == 132.0  # 60 + 0.8 * (150 - 60)
    assert (overall["within_sla"], overall["judged"]) == (2, 4)
    assert overall["pct_within_sla"] == 50.0
    zone_a = stats["zones"][str(crew.zone_a.pk)]
    assert zone_a["pct_within_sla"] == pytest.approx(66.7)
    depth = kpis.queue_depth(crew.district.pk, now=T0)
    assert (depth["waiting"], depth["overdue"]) == (2, 1)
    assert depth["oldest"]["waiting_min"] == 180.0
    assert [t.zone_id for t in kpis.breach_list(crew.district.pk, now=T0)] == [crew.zone_b.pk]
    calls = kpis.calls_per_agent_hour(crew.district.pk, since=DAY, until=DAY + timedelta(days=1))
    # Calls at 09:30, 11:00, 13:30: three distinct hours of one agent.
    assert (calls["calls"], calls["agent_hours"], calls["per_agent_hour"]) == (3, 3, 1.0)


def test_follow_up_adherence_counts_patients_checked_today(crew: Any) -> None:
    checked = make_case(crew.district, crew.zone_a, result_days_ago=2)
    make_case(crew.district, crew.zone_a, result_days_ago=3)
    make_case(crew.district, crew.zone_b, result_days_ago=4)
    schedule_follow_ups(T0.date(), now=T0)
    record_checkin(crew.operator_a, checked, {"spo2": 97}, now=T0)
    adherence = kpis.follow_up_adherence(crew.district.pk, T0.date())
    assert adherence == {"isolated": 3, "checked_today": 1, "pct": 33.3}
    assert kpis.follow_up_adherence(crew.district.pk, T0.date(), zone_ids=[crew.zone_b.pk])["pct"] == 0.0


def test_kpis_cost_a_fixed_number_of_queries(crew: Any, django_assert_max_num_queries: Any) -> None:
    for i in range(12):
        make_task(crew.district, crew.zone_a if i % 2 else crew.zone_b, received_at=T0 - timedelta(minutes=10 * i))
    window = kpis.KpiWindow(since=DAY, until=DAY + timedelta(days=1), today=T0.date(), now=T0)
    with django_assert_max_num_queries(10):
        result = kpis.kpis_for(crew.lead, window=window)
    assert result["queue"]["waiting"] == 12
    with django_assert_max_num_queries(10):
        assert kpis.kpis_for(crew.operator_a, window=window)["queue"]["waiting"] == 6
    with pytest.raises(PermissionError):
        kpis.kpis_for(crew.partner_staff, window=window)
    with pytest.raises(PermissionError):
        kpis.kpis_for(crew.operator_a, zone_id=crew.zone_b.pk, window=window)
    assert kpis.kpis_for(crew.analyst, window=window)["queue"]["waiting"] == 12


def test_who_sees_which_task(crew: Any) -> None:
    a = make_task(crew.district, crew.zone_a)
    b = make_task(crew.district, crew.zone_b)
    visit = make_task(crew.district, crew.zone_a)
    OutreachTask.objects.filter(pk=visit.pk).update(kind="field_visit", assigned_to=crew.volunteer_a)
    other = make_case(crew.other_district_lead.district, None)
    from iccc.outreach.services import first_contact_for

    elsewhere = first_contact_for(other, now=T0)
    expected = {
        "lead": {a.pk, b.pk, visit.pk},
        "operator_a": {a.pk, visit.pk},
        "operator_b": {b.pk},
        "doctor_a": {a.pk, visit.pk},
        "volunteer_a": {visit.pk},
        "partner_staff": set(),
        "rival_staff": set(),
        "facility_staff": set(),
        "analyst": set(),
        "other_district_lead": {elsewhere.pk},
    }
    for name, user in crew.users().items():
        seen = set(OutreachTask.objects.visible_to(user).values_list("pk", flat=True))
        assert seen == expected[name], name
