"""Call outcomes: contact, retries to a field visit, callbacks, wrong numbers, deaths, idempotency."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from iccc.accounts.models import Organisation, OrganisationKind
from iccc.core.models import AuditEntry
from iccc.outreach import services
from iccc.outreach.models import Alert, AlertKind, CallAttempt, OutreachTask, TaskKind, TaskStatus
from iccc.outreach.services import TaskConflict, claim_next_task, record_call_outcome
from iccc.outreach.tests.support import T0, make_task
from iccc.registry.models import Case, CaseStatus, Person


def _call(agent: Any, outcome: str, now: Any, key: str, **kw: Any) -> OutreachTask:
    task = claim_next_task(agent, now=now)
    assert task is not None, f"nothing to claim at {now}"
    record_call_outcome(agent, task, outcome, idempotency_key=key, now=now, **kw)
    task.refresh_from_db()
    return task


def test_reaching_the_patient_records_the_time_to_first_contact(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a, received_at=T0 - timedelta(minutes=40))
    done = _call(crew.operator_a, "reached", T0, "a1")
    assert done.pk == task.pk
    assert done.status == TaskStatus.DONE
    assert done.contacted_at == T0
    assert done.minutes_to_contact() == 40
    assert not done.is_breached(T0 + timedelta(hours=5))
    entry = AuditEntry.objects.about("outreach.callattempt", str(CallAttempt.objects.get().pk)).get()
    assert entry.changes["outcome"] == [None, "reached"]
    assert entry.actor_id == crew.operator_a.pk


def test_the_same_outcome_submitted_twice_is_recorded_once(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    claim_next_task(crew.operator_a, now=T0)
    first = record_call_outcome(crew.operator_a, task, "not_reachable", idempotency_key="dbl", now=T0)
    second = record_call_outcome(crew.operator_a, task, "not_reachable", idempotency_key="dbl", now=T0)
    assert first.pk == second.pk
    assert CallAttempt.objects.count() == 1
    task.refresh_from_db()
    assert task.attempts == 1
    with pytest.raises(TaskConflict):  # the key reused for another outcome is a conflict, not a silent drop
        record_call_outcome(crew.operator_a, task, "reached", idempotency_key="dbl", now=T0)


def test_unreachable_patient_becomes_field_visit(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a, received_at=T0)
    t = T0
    outcomes = ["not_reachable", "switched_off", "not_reachable"]
    for i, outcome in enumerate(outcomes):
        # Not offered again before the retry gap has passed.
        if i:
            assert claim_next_task(crew.operator_a, now=t - timedelta(minutes=1)) is None
        got = _call(crew.operator_a, outcome, t, f"u{i}")
        assert got.pk == task.pk
        t += timedelta(minutes=30)
    task.refresh_from_db()
    assert task.status == TaskStatus.ESCALATED
    assert task.attempts == 3
    visit = OutreachTask.objects.get(kind=TaskKind.FIELD_VISIT)
    assert visit.assigned_to_id == crew.volunteer_a.pk
    assert visit.parent_id == task.pk
    # The volunteer sees the patient now, works the visit, and loses access once it is done.
    assert Person.objects.visible_to(crew.volunteer_a).filter(pk=task.person_id).exists()
    assert claim_next_task(crew.operator_a, now=t) is None  # operators do not get field visits
    done = _call(crew.volunteer_a, "visited", t, "v1")
    assert done.pk == visit.pk
    assert done.status == TaskStatus.DONE
    task.refresh_from_db()
    assert task.contacted_at == t  # the visit is the first contact
    assert not Person.objects.visible_to(crew.volunteer_a).filter(pk=task.person_id).exists()


def test_a_zone_without_volunteers_hands_the_visit_to_the_volunteer_group(crew: Any) -> None:
    group = Organisation.objects.create(
        district=crew.district, name="Civil Defence", kind=OrganisationKind.VOLUNTEER_GROUP
    )
    task = make_task(crew.district, crew.zone_b)
    _call(crew.operator_b, "wrong_number", T0, "w1")
    visit = OutreachTask.objects.get(kind=TaskKind.FIELD_VISIT)
    assert visit.assigned_to_id is None
    assert visit.assigned_org_id == group.pk
    assert Person.objects.get(pk=task.person_id).phone_kind == "none"  # the phone is flagged


def test_a_field_visit_nobody_can_make_alerts_the_supervisors(crew: Any) -> None:
    make_task(crew.district, crew.zone_b)
    _call(crew.operator_b, "wrong_number", T0, "w1")
    alert = Alert.objects.get(kind=AlertKind.FIELD_VISIT)
    assert alert.zone_id == crew.zone_b.pk
    assert list(Alert.objects.visible_to(crew.operator_b)) == [alert]
    assert list(Alert.objects.visible_to(crew.operator_a)) == []
    assert list(Alert.objects.visible_to(crew.lead)) == [alert]


def test_call_back_later_makes_a_callback_task_at_that_time(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    at = T0 + timedelta(hours=3)
    _call(crew.operator_a, "call_back_later", T0, "c1", callback_at=at)
    cb = OutreachTask.objects.get(kind=TaskKind.CALLBACK)
    assert cb.available_at == at
    assert cb.parent_id == task.pk
    assert claim_next_task(crew.operator_a, now=at - timedelta(minutes=1)) is None
    assert _call(crew.operator_a, "reached", at, "c2").pk == cb.pk
    task.refresh_from_db()
    assert task.contacted_at == at


def test_call_back_later_needs_a_time_in_the_next_days(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    claim_next_task(crew.operator_a, now=T0)
    with pytest.raises(ValidationError, match="when to call back"):
        record_call_outcome(crew.operator_a, task, "call_back_later", idempotency_key="x", now=T0)
    with pytest.raises(ValidationError, match="next 3 days"):
        record_call_outcome(
            crew.operator_a, task, "call_back_later", idempotency_key="x", now=T0, callback_at=T0 - timedelta(hours=1)
        )


@pytest.mark.parametrize(
    ("outcome", "status"), [("deceased", CaseStatus.DECEASED), ("moved_out", CaseStatus.MOVED_OUT)]
)
def test_death_or_moving_out_closes_the_case_and_its_other_tasks(crew: Any, outcome: str, status: str) -> None:
    task = make_task(crew.district, crew.zone_a)
    other = services._create_task(
        task, TaskKind.CALLBACK, clock_start=T0 + timedelta(hours=5), due_at=T0 + timedelta(hours=6), now=T0
    )
    _call(crew.operator_a, outcome, T0, "d1")
    case = Case.objects.get(pk=task.case_id)
    assert case.status == status
    assert case.closed_on == T0.date()
    other.refresh_from_db()
    assert other.status == TaskStatus.CANCELLED
    assert AuditEntry.objects.about("registry.case", str(case.pk)).filter(changes__status__1=status).exists()


def test_a_refusal_is_a_contact_and_stops_todays_calls(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    cb = services._create_task(
        task, TaskKind.CALLBACK, clock_start=T0 + timedelta(hours=1), due_at=T0 + timedelta(hours=2), now=T0
    )
    done = _call(crew.operator_a, "refused", T0, "r1")
    assert done.status == TaskStatus.DONE
    assert done.contacted_at == T0
    cb.refresh_from_db()
    assert cb.status == TaskStatus.CANCELLED


def test_a_closed_task_takes_no_more_outcomes(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    _call(crew.operator_a, "reached", T0, "z1")
    with pytest.raises(TaskConflict):
        record_call_outcome(crew.operator_a, task, "reached", idempotency_key="z2", now=T0)


def test_unknown_outcome_and_missing_key_are_refused_with_a_reason(crew: Any) -> None:
    task = make_task(crew.district, crew.zone_a)
    claim_next_task(crew.operator_a, now=T0)
    with pytest.raises(ValidationError, match="unknown outcome"):
        record_call_outcome(crew.operator_a, task, "maybe", idempotency_key="q", now=T0)
    with pytest.raises(ValidationError, match="idempotency key"):
        record_call_outcome(crew.operator_a, task, "reached", idempotency_key=" ", now=T0)
    with pytest.raises(ValidationError, match="field visits"):
        record_call_outcome(crew.operator_a, task, "visited", idempotency_key="q", now=T0)


def test_field_visits_go_to_the_least_busy_volunteer_of_the_zone(crew: Any) -> None:
    from iccc.accounts.models import Role
    from iccc.testing.cast import make_user

    second = make_user("volunteer_a2", Role.VOLUNTEER, crew.district, zones=[crew.zone_a])
    for i in range(3):
        make_task(crew.district, crew.zone_a)
        _call(crew.operator_a, "wrong_number", T0, f"wn{i}")
    loads = sorted(OutreachTask.objects.filter(kind=TaskKind.FIELD_VISIT).values_list("assigned_to_id", flat=True))
    # 0-0: the first volunteer; 1-0: the second; 1-1: the first again.
    assert loads.count(crew.volunteer_a.pk) == 2
    assert loads.count(second.pk) == 1


def test_a_field_visit_takes_only_visit_outcomes(crew: Any) -> None:
    make_task(crew.district, crew.zone_a)
    _call(crew.operator_a, "wrong_number", T0, "w1")
    visit = claim_next_task(crew.volunteer_a, now=T0)
    assert visit is not None
    with pytest.raises(ValidationError, match="field visit ends"):
        record_call_outcome(crew.volunteer_a, visit, "switched_off", idempotency_key="v-bad", now=T0)
    phone = make_task(crew.district, crew.zone_a)
    with pytest.raises(ValidationError, match="field visits only"):
        services.reassign_task(crew.lead, phone, crew.volunteer_a, "walk")
