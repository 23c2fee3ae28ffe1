"""Routing: candidates by service, zone, variant, hours and capacity; least loaded, then nearest; explained."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from iccc.accounts.models import Organisation, OrganisationKind
from iccc.assistance import routing, services
from iccc.assistance.models import (
    AlertKind,
    Assignment,
    AssignmentOutcome,
    EventKind,
    RequestAlert,
    RequestEvent,
    RequestState,
)
from iccc.assistance.tests.factories import T0, later, new_request, offer, routed, staff_of


def test_whole_district_offering_takes_a_request_the_zonal_one_does_not_cover(cast: Any) -> None:
    offer(cast, cast.partner, "food", zones=[cast.zone_b])
    district_wide = offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food", zone="a")
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_offering_id == district_wide.pk
    assert "does not cover this zone" in request.routing_note


def test_unplaced_request_goes_only_to_a_whole_district_offering(cast: Any) -> None:
    offer(cast, cast.partner, "food", zones=[cast.zone_a])
    request = routed(cast, "food", zone=None)
    assert request.state == RequestState.ESCALATED
    assert "request not placed" in request.routing_note


def test_a_full_offering_is_skipped(cast: Any) -> None:
    small = offer(cast, cast.partner, "food", capacity=1)
    routed(cast, "food")  # takes the only slot
    other = offer(cast, cast.rival_partner, "food", capacity=1)
    second = routed(cast, "food")
    assert second.assignee_offering_id == other.pk
    assert f"{cast.partner}: full today (1 of 1)" in second.routing_note
    assert small.pk != other.pk


def test_declined_offers_give_the_capacity_back(cast: Any) -> None:
    o = offer(cast, cast.partner, "food", capacity=1)
    first = routed(cast, "food")
    services.decline_assignment(cast.partner_staff, first, "no cook today", now=T0)
    assert routing.offering_loads([o.pk], T0) == {}
    second = routed(cast, "food")
    assert second.assignee_offering_id == o.pk


def test_yesterdays_work_does_not_count_against_today(cast: Any) -> None:
    o = offer(cast, cast.partner, "food", capacity=1)
    routed(cast, "food", now=T0 - timedelta(days=1))
    assert routing.offering_loads([o.pk], T0) == {}
    assert routing.offering_loads([o.pk], T0 - timedelta(days=1)) == {o.pk: 1}


def test_an_offering_outside_its_hours_is_skipped(cast: Any) -> None:
    offer(cast, cast.partner, "teleconsult", hours=(time(14, 0), time(18, 0)))
    night = offer(cast, cast.rival_partner, "teleconsult", hours=(time(20, 0), time(12, 0)))
    request = routed(cast, "teleconsult")  # 11:00 IST: the overnight desk is still open
    assert request.assignee_offering_id == night.pk
    assert "closed now (14:00-18:00)" in request.routing_note


def test_an_offering_closed_on_this_weekday_is_skipped(cast: Any) -> None:
    offer(cast, cast.partner, "food", days=[5, 6])  # weekends only; T0 is a Monday
    request = routed(cast, "food")
    assert request.state == RequestState.ESCALATED
    assert "closed now" in request.routing_note


def test_variant_needed_decides_the_candidates(cast: Any) -> None:
    offer(cast, cast.hospital, "hospital_bed", variants=["general"])
    icu = offer(cast, cast.partner, "hospital_bed", variants=["icu", "ventilator"])
    request = routed(cast, "hospital_bed", details={"bed_type": "icu"})
    assert request.assignee_offering_id == icu.pk
    assert "does not offer ICU" in request.routing_note  # the variant by its name


def test_least_loaded_wins_over_nearest(cast: Any) -> None:
    near = offer(cast, cast.partner, "food", capacity=10, base=(28.45, 77.05))
    far = offer(cast, cast.rival_partner, "food", capacity=10, base=(28.45, 77.19))
    for _ in range(3):
        routed(cast, "food", lat=28.45, lon=77.05)  # spread 2/1 by the rule itself
    loads = routing.offering_loads([near.pk, far.pk], T0)
    assert sorted(loads.values()) == [1, 2]
    lighter = min(loads, key=loads.__getitem__)
    request = routed(cast, "food", lat=28.45, lon=77.05)
    assert request.assignee_offering_id == lighter


def test_share_of_capacity_not_count_decides_load(cast: Any) -> None:
    big = offer(cast, cast.partner, "food", capacity=100)
    small = offer(cast, cast.rival_partner, "food", capacity=2)
    first = routed(cast, "food")
    assert first.assignee_offering_id == big.pk  # tie at 0: lower id
    second = routed(cast, "food")
    assert second.assignee_offering_id == small.pk  # 0 of 2 beats 1 of 100
    third = routed(cast, "food")
    assert third.assignee_offering_id == big.pk  # 1 of 100 beats 1 of 2


def test_nearest_breaks_a_tie_in_load(cast: Any) -> None:
    offer(cast, cast.partner, "ambulance", base=(28.45, 77.19))  # zone B, ~14 km away
    near = offer(cast, cast.rival_partner, "ambulance", base=(28.45, 77.06))
    request = routed(cast, "ambulance", lat=28.45, lon=77.05, details={"pickup": "House 4, Sector 14"})
    assert request.assignee_offering_id == near.pk
    assert "1.0 km away" in request.routing_note
    assert f"Next: {cast.partner}" in request.routing_note


def test_zone_centre_stands_in_for_an_unknown_location(cast: Any) -> None:
    offer(cast, cast.partner, "oxygen", base=(28.45, 77.15))  # zone B's centre
    near_a = offer(cast, cast.rival_partner, "oxygen", base=(28.45, 77.05))  # zone A's centre
    request = routed(cast, "oxygen", zone="a")
    assert request.assignee_offering_id == near_a.pk
    assert "0.0 km away" in request.routing_note


def test_the_explanation_is_on_the_request_the_assignment_and_the_timeline(cast: Any) -> None:
    offer(cast, cast.partner, "food", capacity=5)
    offer(cast, cast.rival_partner, "food", zones=[cast.zone_b])
    request = routed(cast, "food")
    assignment = Assignment.objects.get(request=request)
    assert assignment.explanation == request.routing_note
    assert request.routing_note.startswith(f"{cast.partner}: least loaded (0 of 5 today)")
    assert f"Skipped: {cast.rival_partner}: does not cover this zone" in request.routing_note
    routed_line = RequestEvent.objects.get(request=request, kind=EventKind.ROUTED, organisation__isnull=True)
    assert routed_line.message == request.routing_note
    assert routed_line.shared is False  # it names a rival: ICCC eyes only
    assert routed_line.data["organisation"] == cast.partner.pk


def test_route_request_returns_every_candidate_with_its_reason(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food", zones=[cast.zone_b])
    request = new_request(cast, "food")
    services.triage_request(cast.operator_a, request, route=False, now=T0)
    decision = services.route_request(cast.operator_a, request, now=T0)
    assert decision.offering is not None
    assert decision.offering.organisation_id == cast.partner.pk
    assert [c["skip"] for c in decision.candidates] == ["", "does not cover this zone"]
    assert request.state == RequestState.ASSIGNED


def test_decline_moves_the_request_to_the_next_partner_and_never_back(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food")
    first = request.assignee_org_id
    assert first is not None
    services.decline_assignment(staff_of(cast, request), request, "no vehicle in that area", now=later(2))
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_org_id != first
    declined = Assignment.objects.get(request=request, organisation_id=first)
    assert declined.outcome == AssignmentOutcome.DECLINED
    assert declined.reason == "no vehicle in that area"
    assert RequestEvent.objects.filter(request=request, kind=EventKind.DECLINED, organisation_id=first).exists()
    services.decline_assignment(staff_of(cast, request), request, "kitchen closed", now=later(3))
    assert request.state == RequestState.ESCALATED  # both declined: nobody is offered it twice
    assert request.assignee_org_id is None


def test_decline_needs_a_reason(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    with pytest.raises(ValidationError) as err:
        services.decline_assignment(cast.partner_staff, request, "  ", now=T0)
    assert "reason" in err.value.message_dict
    request.refresh_from_db()
    assert request.state == RequestState.ASSIGNED


def test_no_partner_left_escalates_and_alerts_the_supervisor(cast: Any) -> None:
    offer(cast, cast.partner, "funeral")
    request = routed(cast, "funeral", details={"rite": "cremation"})
    services.decline_assignment(cast.partner_staff, request, "no hearse free", now=later(1))
    assert request.state == RequestState.ESCALATED
    alert = RequestAlert.objects.get(request=request)
    assert alert.kind == AlertKind.NO_PARTNER
    assert request.reference in alert.message
    line = RequestEvent.objects.get(request=request, kind=EventKind.NO_PARTNER)
    assert "already tried on this request" in line.message


def test_no_offering_at_all_escalates_at_triage(cast: Any) -> None:
    request = routed(cast, "vaccination")
    assert request.state == RequestState.ESCALATED
    assert request.routing_note == "No partner offers this service in the district."


def test_withdrawal_after_acceptance_reroutes(cast: Any) -> None:
    offer(cast, cast.partner, "ambulance")
    offer(cast, cast.rival_partner, "ambulance")
    request = routed(cast, "ambulance")
    holder = staff_of(cast, request)
    services.accept_request(holder, request, now=later(1))
    services.decline_assignment(holder, request, "ambulance broke down", now=later(5))
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_org_id != holder.organisation_id
    assert Assignment.objects.get(request=request, organisation_id=holder.organisation_id).outcome == "withdrawn"


def test_supervisor_reassigns_to_a_chosen_offering_even_when_full(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    full = offer(cast, cast.rival_partner, "food", capacity=1)
    assert routed(cast, "food").assignee_org_id == cast.partner.pk  # 0 of 20 vs 0 of 1: lower id
    assert routed(cast, "food").assignee_offering_id == full.pk  # 0 of 1 beats 1 of 20: now full
    request = routed(cast, "food")
    assert request.assignee_org_id == cast.partner.pk
    services.reassign_request(cast.lead, request, full, "they know this family", now=later(3))
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_offering_id == full.pk
    assert "Supervisor override: over today's capacity (1 of 1)" in request.routing_note
    taken = Assignment.objects.get(request=request, organisation=cast.partner)
    assert taken.outcome == AssignmentOutcome.REASSIGNED
    given = Assignment.objects.get(request=request, organisation=cast.rival_partner)
    assert given.assigned_by == cast.lead


def test_supervisor_reassign_without_a_choice_takes_the_next_best(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    offer(cast, cast.rival_partner, "food")
    request = routed(cast, "food")
    first = request.assignee_org_id
    services.accept_request(staff_of(cast, request), request, now=later(1))
    services.reassign_request(cast.lead, request, None, "not moving for an hour", now=later(40))
    assert request.state == RequestState.ASSIGNED
    assert request.assignee_org_id not in (None, first)


def test_only_a_supervisor_reassigns(cast: Any) -> None:
    from django.core.exceptions import PermissionDenied

    offer(cast, cast.partner, "food")
    request = routed(cast, "food")
    with pytest.raises(PermissionDenied):
        services.reassign_request(cast.operator_a, request, None, "try another", now=T0)


def test_reassign_refuses_an_offering_of_another_service(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    wrong = offer(cast, cast.rival_partner, "oxygen")
    request = routed(cast, "food")
    with pytest.raises(ValidationError) as err:
        services.reassign_request(cast.lead, request, wrong, "try them", now=T0)
    assert "offering" in err.value.message_dict


def test_inactive_partner_organisation_is_never_chosen(cast: Any) -> None:
    offer(cast, cast.partner, "food")
    Organisation.objects.filter(pk=cast.partner.pk).update(is_active=False)
    request = routed(cast, "food")
    assert request.state == RequestState.ESCALATED


def test_routing_reads_a_bounded_number_of_queries_with_many_partners(
    cast: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        org = Organisation.objects.create(district=cast.district, name=f"Kitchen {i}", kind=OrganisationKind.NGO)
        offer(cast, org, "food", zones=[cast.zone_a] if i % 2 else None, base=(28.45, 77.0 + i / 300))
    request = new_request(cast, "food", lat=28.45, lon=77.05)
    request.refresh_from_db()
    with django_assert_max_num_queries(5):
        chosen, ranked, text = routing.choose(request, T0)
    assert chosen is not None
    assert len(ranked) == 30
    assert text
