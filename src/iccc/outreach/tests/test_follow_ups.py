"""Daily follow-ups until release, the isolation protocol, closure counts, and the housekeeping tick."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from iccc.outreach import services
from iccc.outreach.models import Alert, AlertKind, CheckIn, IsolationProtocol, OutreachTask, TaskKind, TaskStatus
from iccc.outreach.services import claim_next_task, record_checkin, schedule_follow_ups
from iccc.outreach.tests.support import IST, T0, make_case, make_task
from iccc.registry.models import Case, CaseStatus

TODAY = T0.date()


def test_one_follow_up_per_isolated_patient_per_day(crew: Any) -> None:
    old = make_case(crew.district, crew.zone_a, result_days_ago=3)
    make_case(crew.district, crew.zone_b, result_days_ago=0)  # today's result: the first contact is today's call
    waiting = make_case(crew.district, crew.zone_a, result_days_ago=1)
    services.first_contact_for(waiting, now=T0)  # still not reached: no follow-up on top
    in_hospital = make_case(crew.district, crew.zone_a, result_days_ago=2)
    Case.objects.filter(pk=in_hospital.pk).update(status=CaseStatus.IN_FACILITY)
    report = schedule_follow_ups(TODAY, now=T0)
    assert report.created == 1
    task = OutreachTask.objects.get(kind=TaskKind.FOLLOW_UP)
    assert task.case_id == old.pk
    assert task.for_date == TODAY
    assert task.due_at.astimezone(IST).hour == 18
    assert schedule_follow_ups(TODAY, now=T0).created == 0  # idempotent
    assert schedule_follow_ups(TODAY + timedelta(days=1), now=T0 + timedelta(days=1)).created >= 1


def test_protocol_releases_after_ten_days_without_fever_in_the_last_three(crew: Any) -> None:
    protocol = IsolationProtocol.objects.get(district=crew.district)
    feverish = make_case(crew.district, crew.zone_a, result_days_ago=11)
    well = make_case(crew.district, crew.zone_a, result_days_ago=11)
    early = make_case(crew.district, crew.zone_a, result_days_ago=9)
    record_checkin(crew.operator_a, feverish, {"temperature_c": 38.4}, now=T0 - timedelta(days=1))
    record_checkin(crew.operator_a, well, {"temperature_c": 38.4}, now=T0 - timedelta(days=5))
    checkins = list(CheckIn.objects.filter(case=feverish))
    assert not protocol.can_release(TODAY, onset=None, result_date=feverish.result_date, checkins=checkins)
    report = schedule_follow_ups(TODAY, now=T0)
    assert report.released == 1
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert statuses[well.pk] == CaseStatus.RECOVERED
    assert statuses[feverish.pk] == statuses[early.pk] == CaseStatus.HOME_ISOLATION
    assert set(OutreachTask.objects.filter(kind=TaskKind.FOLLOW_UP).values_list("case_id", flat=True)) == {
        feverish.pk,
        early.pk,
    }
    counts = services.closure_counts(crew.district.pk)
    assert counts["recovered"] == 1
    assert counts["home_isolation"] == 2


def test_symptom_onset_counts_the_ten_days_from_onset(crew: Any) -> None:
    protocol = IsolationProtocol(release_after_days=10, fever_free_days=3)
    result_day = date(2021, 4, 20)
    assert protocol.release_date(date(2021, 4, 17), result_day) == date(2021, 4, 27)
    assert protocol.release_date(None, result_day) == date(2021, 4, 30)


def test_manual_release_cancels_waiting_calls(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a, result_days_ago=4)
    schedule_follow_ups(TODAY, now=T0)
    services.release_from_isolation(crew.doctor_a, case, "clinically recovered", now=T0)
    assert OutreachTask.objects.get(kind=TaskKind.FOLLOW_UP).status == TaskStatus.CANCELLED
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RECOVERED


def test_the_tick_releases_leases_creates_follow_ups_and_alerts_breaches_once(crew: Any) -> None:
    make_case(crew.district, crew.zone_a, result_days_ago=2)
    late = make_task(crew.district, crew.zone_b, received_at=T0 - timedelta(hours=3))
    make_task(crew.district, crew.zone_a, received_at=T0 - timedelta(minutes=40))
    assert claim_next_task(crew.operator_a, now=T0 - timedelta(minutes=30)) is not None
    report = services.outreach_tick(T0)
    assert report.leases_released == 1
    assert report.follow_ups_created == 1
    assert report.breaches_marked == 1
    assert report.alerts == 1
    alert = Alert.objects.get(kind=AlertKind.BREACH)
    assert alert.zone_id == crew.zone_b.pk
    assert alert.task_id == late.pk
    again = services.outreach_tick(T0 + timedelta(minutes=1))
    assert (again.breaches_marked, again.follow_ups_created) == (0, 0)


def test_yesterdays_unmade_follow_ups_are_closed_as_missed(crew: Any) -> None:
    make_case(crew.district, crew.zone_a, result_days_ago=3)
    schedule_follow_ups(TODAY - timedelta(days=1), now=T0 - timedelta(days=1))
    report = schedule_follow_ups(TODAY, now=T0)
    assert report.missed == 1
    statuses = dict(OutreachTask.objects.filter(kind=TaskKind.FOLLOW_UP).values_list("for_date", "status"))
    assert statuses == {TODAY - timedelta(days=1): TaskStatus.CANCELLED, TODAY: TaskStatus.OPEN}


def test_the_tick_gives_a_recent_case_without_a_task_its_first_contact(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a, received_at=T0 - timedelta(hours=1))
    report = services.outreach_tick(T0)
    assert report.backfilled == 1
    assert OutreachTask.objects.get(case=case).kind == TaskKind.FIRST_CONTACT
    assert services.outreach_tick(T0).backfilled == 0
