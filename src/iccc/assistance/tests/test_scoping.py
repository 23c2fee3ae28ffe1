"""Who sees which request, which timeline lines and which fields: the cast, one rule per role."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from iccc.assistance import services
from iccc.assistance.models import (
    EventKind,
    RequestAlert,
    RequestEvent,
    RequestState,
    ServiceRequest,
)
from iccc.assistance.tests.factories import later, new_request, offer, routed
from iccc.network.models import ServiceOffering

ROLES_SEEING_ZONE_A_REQUEST = {"lead", "operator_a", "doctor_a", "partner_staff"}


def _with_partner(cast: Any, **kw: Any) -> ServiceRequest:
    offer(cast, cast.partner, "oxygen")
    return routed(cast, "oxygen", phone="9876543210", **kw)


def test_each_role_sees_exactly_its_requests(cast: Any) -> None:
    request = _with_partner(cast)
    assert request.assignee_org_id == cast.partner.pk
    seen = {
        name
        for name, user in cast.users().items()
        if ServiceRequest.objects.visible_to(user).filter(pk=request.pk).exists()
    }
    assert seen == ROLES_SEEING_ZONE_A_REQUEST


def test_partner_cannot_see_rival_request(cast: Any) -> None:
    offer(cast, cast.rival_partner, "food")
    rivals = routed(cast, "food")
    assert rivals.assignee_org_id == cast.rival_partner.pk
    assert not ServiceRequest.objects.visible_to(cast.partner_staff).filter(pk=rivals.pk).exists()
    assert not RequestEvent.objects.visible_to(cast.partner_staff).filter(request=rivals).exists()
    with pytest.raises(PermissionDenied):
        services.accept_request(cast.partner_staff, rivals, now=later(1))
    with pytest.raises(PermissionDenied):
        services.decline_assignment(cast.partner_staff, rivals, "not ours", now=later(1))
    with pytest.raises(PermissionDenied):
        services.add_note(cast.partner_staff, rivals, "peeking", now=later(1))
    rivals.refresh_from_db()
    assert rivals.state == RequestState.ASSIGNED


def test_operators_see_their_zones_and_what_they_raised(cast: Any) -> None:
    in_b = new_request(cast, "food", zone="b", actor=cast.lead)
    raised_by_a = new_request(cast, "food", zone="b", actor=cast.operator_a)
    assert not ServiceRequest.objects.visible_to(cast.operator_a).filter(pk=in_b.pk).exists()
    assert ServiceRequest.objects.visible_to(cast.operator_b).filter(pk=in_b.pk).exists()
    assert ServiceRequest.objects.visible_to(cast.operator_a).filter(pk=raised_by_a.pk).exists()


def test_an_operator_outside_the_zone_cannot_act_on_it(cast: Any) -> None:
    request = new_request(cast, "food", zone="a")
    with pytest.raises(PermissionDenied):
        services.triage_request(cast.operator_b, request, now=later(1))
    with pytest.raises(PermissionDenied):
        services.reject_request(cast.operator_b, request, "prank", now=later(1))


def test_analyst_volunteer_and_another_district_see_nothing(cast: Any) -> None:
    _with_partner(cast)
    for user in (cast.analyst, cast.volunteer_a, cast.other_district_lead, cast.facility_staff):
        assert not ServiceRequest.objects.visible_to(user).exists()
        assert not RequestEvent.objects.visible_to(user).exists()


def test_a_partner_that_declined_still_sees_it_but_only_its_reference(cast: Any) -> None:
    request = _with_partner(cast)
    offer(cast, cast.rival_partner, "oxygen")
    services.decline_assignment(cast.partner_staff, request, "no cylinders", now=later(2))
    assert request.assignee_org_id == cast.rival_partner.pk
    assert ServiceRequest.objects.visible_to(cast.partner_staff).filter(pk=request.pk).exists()
    view = request.partner_view(cast.partner.pk)
    assert set(view) == {"id", "reference", "kind", "state", "zone_id", "created_at"}
    lines = RequestEvent.objects.visible_to(cast.partner_staff).filter(request=request)
    assert all(e.organisation_id in (None, cast.partner.pk) for e in lines)
    assert not lines.filter(organisation_id=cast.rival_partner.pk).exists()
    assert not lines.filter(kind=EventKind.ROUTED, organisation__isnull=True).exists()  # names rivals


def test_partner_fields_grow_with_acceptance_and_shrink_after_delivery(cast: Any) -> None:
    request = _with_partner(cast, patient_name="Sunita Sharma", address="H.No. 221, Sector 14")
    offered = request.partner_view(cast.partner.pk)
    assert "details" in offered
    assert "priority" in offered
    assert not {"patient_name", "requester_phone", "address", "lat", "requester_name"} & set(offered)
    services.accept_request(cast.partner_staff, request, now=later(2))
    working = request.partner_view(cast.partner.pk)
    assert working["requester_phone"] == "+91 98xxxxxx10"  # masked even now: calls go through the ICCC
    assert working["address"] == "H.No. 221, Sector 14"
    assert working["patient_name"] == "Sunita Sharma"
    services.fulfil_request(cast.partner_staff, request, now=later(30))
    done = request.partner_view(cast.partner.pk)
    assert done["requester_phone"] == "+91 98xxxxxx10"
    assert "address" not in done
    assert "routing_note" not in done
    assert "routing_note" not in working


def test_the_partner_sees_its_own_lines_and_the_shared_ones_only(cast: Any) -> None:
    request = _with_partner(cast)
    services.add_note(cast.operator_a, request, "Gate code 4411", shared=True, now=later(1))
    services.add_note(cast.operator_a, request, "Caller sounded drunk", shared=False, now=later(1))
    services.add_note(cast.partner_staff, request, "Vehicle leaving now", now=later(2))
    mine = set(
        RequestEvent.objects.visible_to(cast.partner_staff).filter(request=request).values_list("message", flat=True)
    )
    assert "Gate code 4411" in mine
    assert "Vehicle leaving now" in mine
    assert "Caller sounded drunk" not in mine
    iccc = set(
        RequestEvent.objects.visible_to(cast.operator_a).filter(request=request).values_list("message", flat=True)
    )
    assert {"Gate code 4411", "Caller sounded drunk", "Vehicle leaving now"} <= iccc


def test_a_partner_cannot_act_once_the_request_left_it(cast: Any) -> None:
    from iccc.assistance.models import TransitionError

    request = _with_partner(cast)
    services.reassign_request(cast.lead, request, None, "slow to answer", now=later(3))
    with pytest.raises(TransitionError):
        services.accept_request(cast.partner_staff, request, now=later(4))
    with pytest.raises(TransitionError):
        services.add_note(cast.partner_staff, request, "still coming", now=later(4))


def test_only_iccc_staff_raise_requests(cast: Any) -> None:
    from iccc.assistance.models import Channel

    data = services.NewRequest(
        district=cast.district.pk, kind="food", channel=Channel.PARTNER, requester_phone="9876543210",
        details={"people": 1, "days": 1},
    )  # fmt: skip
    for user in (cast.partner_staff, cast.volunteer_a, cast.analyst):
        with pytest.raises(PermissionDenied):
            services.raise_request(user, data, now=later(0))


def test_offerings_partners_see_their_own_only(cast: Any) -> None:
    mine = offer(cast, cast.partner, "food")
    theirs = offer(cast, cast.rival_partner, "food")
    assert set(ServiceOffering.objects.visible_to(cast.partner_staff)) == {mine}
    assert set(ServiceOffering.objects.visible_to(cast.rival_staff)) == {theirs}
    assert set(ServiceOffering.objects.visible_to(cast.operator_b)) == {mine, theirs}
    assert not ServiceOffering.objects.visible_to(cast.analyst).exists()
    assert not ServiceOffering.objects.visible_to(cast.other_district_lead).exists()


def test_alerts_go_to_the_zone_supervisors(cast: Any) -> None:
    new_request(cast, "ambulance", zone="a", details={"pickup": "Sector 14"})
    services.tick(later(31))
    assert RequestAlert.objects.count() == 1
    assert RequestAlert.objects.visible_to(cast.lead).count() == 1
    assert RequestAlert.objects.visible_to(cast.operator_a).count() == 1
    assert RequestAlert.objects.visible_to(cast.operator_b).count() == 0
    assert RequestAlert.objects.visible_to(cast.partner_staff).count() == 0
    alert = RequestAlert.objects.get()
    with pytest.raises(PermissionDenied):
        services.acknowledge_alert(cast.operator_b, alert)
    services.acknowledge_alert(cast.lead, alert)
    assert RequestAlert.objects.open().count() == 0


def test_a_partners_list_costs_a_fixed_number_of_queries(cast: Any, django_assert_max_num_queries: Any) -> None:
    offer(cast, cast.partner, "food")
    for _ in range(12):
        routed(cast, "food")
    with django_assert_max_num_queries(2):
        rows = list(ServiceRequest.objects.visible_to(cast.partner_staff).select_related("zone").board_order()[:50])
        views = [r.partner_view(cast.partner.pk) for r in rows]
    assert len(views) == 12
