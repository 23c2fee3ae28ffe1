"""Outreach hands needs found on calls to assistance: a request, triaged and routed at once, linked to the need."""

from __future__ import annotations

from typing import Any

from iccc.assistance.models import Channel, Priority, RequestState, ServiceRequest
from iccc.network import services as network
from iccc.outreach import services
from iccc.outreach.models import NeedFlag, NeedStatus
from iccc.outreach.tests.support import T0, make_case


def _oxygen_partner(crew: Any) -> None:
    network.create_offering(crew.lead, crew.partner, "oxygen", daily_capacity=10)


def test_a_need_raised_on_a_call_becomes_a_routed_request(crew: Any) -> None:
    _oxygen_partner(crew)
    case = make_case(crew.district, crew.zone_a, name="Suresh Kumar", phone="+919812345678")
    need = services.raise_need(crew.operator_a, case, "oxygen", urgency="high", notes="cylinder empty by night", now=T0)
    assert need.status == NeedStatus.HANDED_OVER
    request = ServiceRequest.objects.get()
    assert need.request == request
    assert NeedFlag.objects.get().request_id == request.pk
    assert request.kind == "oxygen"
    assert request.channel == Channel.CALL_CONSOLE
    assert (request.person_id, request.case_id, request.zone_id) == (case.person_id, case.pk, crew.zone_a.pk)
    assert request.requester_phone == "+919812345678"
    assert request.priority == Priority.URGENT  # the agent's "high" is the floor
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_org_id == crew.partner.pk
    assert request.created_by == crew.operator_a
    assert request.summary == "cylinder empty by night"


def test_an_icu_need_asks_for_an_icu_bed(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    services.raise_need(crew.operator_a, case, "icu", urgency="urgent", now=T0)
    request = ServiceRequest.objects.get()
    assert request.kind == "hospital_bed"
    assert request.details["bed_type"] == "icu"
    assert request.priority == Priority.CRITICAL
    assert request.state == RequestState.ESCALATED  # no hospital offers beds in Testpur yet: the lead must act


def test_a_medicine_kit_need_stays_open_for_the_supervisor(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    need = services.raise_need(crew.operator_a, case, "medicine", now=T0)
    assert need.status == NeedStatus.OPEN
    assert need.request is None
    assert not ServiceRequest.objects.exists()


def test_a_red_flag_on_a_check_in_raises_a_critical_oxygen_request(crew: Any) -> None:
    _oxygen_partner(crew)
    case = make_case(crew.district, crew.zone_a)
    services.record_checkin(crew.operator_a, case, {"spo2": 87, "symptoms": ["breathlessness"]}, now=T0)
    need = NeedFlag.objects.get(kind="oxygen")
    request = ServiceRequest.objects.get(kind="oxygen")
    assert need.request_id == request.pk
    assert need.status == NeedStatus.HANDED_OVER
    assert request.priority == Priority.CRITICAL
    assert request.spo2 == 87
    assert request.signs == ["breathlessness"]
    assert request.created_by is None  # raised by the rule, not a person
    assert request.state == RequestState.ASSIGNED


def test_the_same_need_raised_twice_is_one_request(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    services.raise_need(crew.operator_a, case, "food", now=T0)
    services.raise_need(crew.operator_a, case, "food", now=T0)
    assert ServiceRequest.objects.count() == 1
    assert ServiceRequest.objects.get().contact_count == 2
    assert NeedFlag.objects.filter(status=NeedStatus.HANDED_OVER).count() == 2


def test_a_patient_without_a_phone_still_gets_the_request(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a, phone="")
    need = services.raise_need(crew.operator_a, case, "food", now=T0)
    assert need.request is not None
    assert need.request.requester_phone == ""


def test_a_volunteer_raising_a_need_hands_it_over_as_the_system(crew: Any) -> None:
    from iccc.registry.models import PersonAccess

    case = make_case(crew.district, crew.zone_a)
    PersonAccess.objects.create(
        person=case.person, user=crew.volunteer_a, reason="field visit", until=T0.replace(year=2030)
    )
    need = services.raise_need(crew.volunteer_a, case, "food", urgency="urgent", now=T0)
    assert need.request is not None
    assert need.request.created_by is None
    assert need.request.priority == Priority.ROUTINE  # only ICCC staff declare a priority
