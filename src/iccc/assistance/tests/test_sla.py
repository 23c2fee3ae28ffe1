"""SLAs: due times by kind and priority, breaches escalate, partners who do not answer lose the request."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from iccc.assistance import services
from iccc.assistance.models import (
    DEFAULT_SLA_MINUTES,
    AlertKind,
    Assignment,
    AssignmentOutcome,
    AssistancePolicy,
    EventKind,
    Priority,
    RequestAlert,
    RequestEvent,
    RequestState,
    ServiceRequest,
)
from iccc.assistance.tests.factories import T0, later, new_request, offer, routed, staff_of
from iccc.assistance.triage import triage


@pytest.mark.parametrize(
    ("kind", "details", "signs", "priority", "minutes"),
    [
        ("ambulance", {"pickup": "Sector 14"}, ["confusion"], Priority.CRITICAL, 15),
        ("ambulance", {"pickup": "Sector 14"}, [], Priority.URGENT, 30),
        ("hospital_bed", {"bed_type": "icu"}, [], Priority.CRITICAL, 60),
        ("hospital_bed", {"bed_type": "general"}, [], Priority.URGENT, 240),
        ("food", {"people": 3, "days": 7}, [], Priority.ROUTINE, 720),
        ("food", {"people": 3, "days": 7, "no_food_at_home": True}, [], Priority.URGENT, 480),
        ("funeral", {"rite": "burial"}, [], Priority.URGENT, 360),
        ("teleconsult", {}, [], Priority.ROUTINE, 480),
        ("test_booking", {}, [], Priority.ROUTINE, 1440),
    ],
)
def test_due_time_by_kind_and_priority(
    cast: Any, kind: str, details: dict, signs: list, priority: str, minutes: int
) -> None:
    request = new_request(cast, kind, details=details, signs=signs)
    assert request.priority == priority
    assert request.due_at == T0 + timedelta(minutes=minutes)
    assert DEFAULT_SLA_MINUTES[kind][priority] == minutes


def test_a_district_policy_overrides_the_defaults(cast: Any) -> None:
    AssistancePolicy.objects.create(district=cast.district, sla_minutes={"ambulance": {"critical": 12}})
    request = new_request(cast, "ambulance", details={"pickup": "Sector 14"}, spo2=82)
    assert request.priority == Priority.CRITICAL
    assert request.due_at == T0 + timedelta(minutes=12)


def test_an_override_of_priority_needs_a_reason_and_moves_the_due_time(cast: Any) -> None:
    from django.core.exceptions import ValidationError

    request = new_request(cast, "food")
    with pytest.raises(ValidationError):
        services.triage_request(cast.operator_a, request, priority=Priority.CRITICAL, now=later(2))
    services.triage_request(
        cast.operator_a, request, priority=Priority.URGENT, reason="diabetic, alone, no food for 2 days", now=later(2)
    )
    assert request.priority == Priority.URGENT
    assert request.priority_auto == Priority.ROUTINE
    assert request.priority_overridden
    assert request.due_at == T0 + timedelta(minutes=480)  # from when it was raised, not from triage


def test_the_triage_rule_is_explained_and_staff_urgency_is_a_floor() -> None:
    t = triage("oxygen", {}, spo2=88)
    assert t.priority == Priority.CRITICAL
    assert "SpO2 88% is below 90%" in t.why
    assert triage("oxygen", {}, spo2=92).priority == Priority.URGENT
    assert triage("teleconsult", {}, age=67).priority == Priority.URGENT
    assert triage("vaccination", {}).priority == Priority.ROUTINE
    assert triage("vaccination", {}, declared=Priority.URGENT).priority == Priority.URGENT
    assert triage("ambulance", {}, signs=["chest_pain"], declared=Priority.ROUTINE).priority == Priority.CRITICAL


def test_a_breach_before_any_partner_accepted_escalates_and_alerts(cast: Any) -> None:
    offer(cast, cast.partner, "ambulance")
    request = routed(cast, "ambulance", details={"pickup": "Sector 14"}, spo2=84)  # critical: 15 min, accept 5 min
    AssistancePolicy.objects.create(district=cast.district, accept_minutes={"critical": 30})
    Assignment.objects.filter(request=request).update(accept_by=later(30))
    ServiceRequest.objects.filter(pk=request.pk).update(accept_by=later(30))
    report = services.tick(later(16))
    assert report.breaches == 1
    assert report.escalated == 1
    request.refresh_from_db()
    assert request.state == RequestState.ESCALATED
    assert request.breached_at == later(16)
    assert request.escalated_at == later(16)
    assert request.assignee_org_id is None
    assert Assignment.objects.get(request=request).outcome == AssignmentOutcome.EXPIRED
    alert = RequestAlert.objects.get(request=request, kind=AlertKind.BREACH)
    assert request.reference in alert.message
    assert RequestEvent.objects.filter(request=request, kind=EventKind.BREACH).count() == 1


def test_a_breach_while_a_partner_is_working_flags_but_leaves_it_with_them(cast: Any) -> None:
    offer(cast, cast.partner, "ambulance")
    request = routed(cast, "ambulance", details={"pickup": "Sector 14"})  # urgent: 30 min
    services.accept_request(cast.partner_staff, request, now=later(2))
    services.start_request(cast.partner_staff, request, now=later(4))
    report = services.tick(later(31))
    assert report.breaches == 1
    assert report.escalated == 0
    request.refresh_from_db()
    assert request.state == RequestState.IN_PROGRESS
    assert request.assignee_org_id == cast.partner.pk
    assert request.breached_at == later(31)
    assert request.escalated_at == later(31)
    assert "still with" in RequestAlert.objects.get(request=request).message
    assert ServiceRequest.objects.needing_supervisor().filter(pk=request.pk).exists()
    services.fulfil_request(cast.partner_staff, request, now=later(40))
    assert request.state == RequestState.FULFILLED
    assert request.is_breached(later(41))


def test_the_tick_marks_each_breach_once(cast: Any) -> None:
    new_request(cast, "ambulance", details={"pickup": "Sector 14"})
    first = services.tick(later(31))
    second = services.tick(later(45))
    assert (first.breaches, second.breaches) == (1, 0)
    assert RequestAlert.objects.count() == 1


def test_a_partner_silent_past_the_acceptance_window_loses_it_to_the_next(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food")  # routine: 60 minutes to answer
    silent = request.assignee_org_id
    assert silent is not None
    assert request.accept_by == T0 + timedelta(minutes=60)
    assert services.tick(later(59)).acceptances_expired == 0
    report = services.tick(later(61))
    assert (report.acceptances_expired, report.rerouted) == (1, 1)
    request.refresh_from_db()
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_org_id not in (None, silent)
    lapsed = Assignment.objects.get(request=request, organisation_id=silent)
    assert lapsed.outcome == AssignmentOutcome.EXPIRED
    assert RequestAlert.objects.filter(request=request, kind=AlertKind.ACCEPT_EXPIRED).count() == 1
    assert RequestEvent.objects.filter(request=request, kind=EventKind.EXPIRED, organisation_id=silent).exists()


def test_when_nobody_answers_in_time_it_escalates(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    report = services.tick(later(61))
    assert report.escalated == 1
    request.refresh_from_db()
    assert request.state == RequestState.ESCALATED
    kinds = set(RequestAlert.objects.filter(request=request).values_list("kind", flat=True))
    assert kinds == {AlertKind.ACCEPT_EXPIRED, AlertKind.NO_PARTNER}


def test_late_acceptance_before_the_tick_still_counts(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    services.accept_request(cast.partner_staff, request, now=later(65))
    assert request.state == RequestState.ACCEPTED
    assert "(late)" in RequestEvent.objects.filter(request=request, to_state=RequestState.ACCEPTED).get().message
    assert services.tick(later(66)).acceptances_expired == 0


def test_an_acceptance_after_the_tick_moved_it_on_is_refused(cast: Any) -> None:
    from iccc.assistance.models import TransitionError

    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food")
    late = staff_of(cast, request)
    services.tick(later(61))
    with pytest.raises(TransitionError) as err:
        services.accept_request(late, request, now=later(62))
    assert err.value.code == "not_holder"


def test_the_management_command_runs_the_tick(cast: Any) -> None:
    out = StringIO()
    call_command("assistance_tick", stdout=out)
    assert "breaches 0" in out.getvalue()


def test_the_task_runs_the_tick(cast: Any) -> None:
    from iccc.assistance.tasks import assistance_tick_task

    result = assistance_tick_task.enqueue()
    assert result.return_value is not None
    assert result.return_value["breaches"] == 0
