"""The assistance and network pages through the test client: who may open what, scoping (a rival
partner gets 404), only the allowed actions, bulk actions, raising with per-service fields,
breaches, bounded queries, Hindi."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from iccc.assistance import services
from iccc.assistance.models import EventKind, RequestEvent, RequestState, ServiceRequest
from iccc.assistance.tests.factories import last_code, new_request, offer, routed
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.network.models import ServiceOffering
from iccc.outreach.tests.support import make_case
from iccc.testing.cast import Cast

# Word boundaries, not digit boundaries: a CSRF token or nonce may hold ten digits in a row.
FULL_PHONE = re.compile(r"(?<![\w])(?:\+?91)?[6-9]\d{9}(?!\w)")


def _client(user: Any, language: str = "en") -> Client:
    c = Client()
    c.cookies["django_language"] = language
    c.force_login(user)
    return c


def routed_in(cast: Cast, zone: str, **kw: Any) -> ServiceRequest:
    """A routed request raised by that zone's own operator (operators also see what they raised themselves)."""
    operator = cast.operator_a if zone == "a" else cast.operator_b
    r = new_request(cast, zone=zone, actor=operator, **kw)
    return services.triage_request(operator, r, now=r.created_at)


@pytest.fixture
def net(cast: Cast) -> Cast:
    offer(cast, cast.partner, "food", zones=[cast.zone_a])
    offer(cast, cast.rival_partner, "food", zones=[cast.zone_b])
    offer(cast, cast.hospital, "hospital_bed")
    return cast


# ---------------------------------------------------------------- who may open what

PAGES = {
    "assistance:board": {
        "lead": 200,
        "operator_a": 200,
        "operator_b": 200,
        "doctor_a": 200,
        "volunteer_a": 403,
        "partner_staff": 403,
        "rival_staff": 403,
        "facility_staff": 403,
        "analyst": 403,
        "other_district_lead": 200,
    },
    "assistance:new": {
        "lead": 200,
        "operator_a": 200,
        "operator_b": 200,
        "doctor_a": 200,
        "volunteer_a": 403,
        "partner_staff": 403,
        "rival_staff": 403,
        "facility_staff": 403,
        "analyst": 403,
        "other_district_lead": 200,
    },
    "assistance:breaches": {
        "lead": 200,
        "operator_a": 200,
        "operator_b": 200,
        "doctor_a": 200,
        "volunteer_a": 403,
        "partner_staff": 403,
        "rival_staff": 403,
        "facility_staff": 403,
        "analyst": 403,
        "other_district_lead": 200,
    },
    "assistance:partner": {
        "lead": 403,
        "operator_a": 403,
        "operator_b": 403,
        "doctor_a": 403,
        "volunteer_a": 403,
        "partner_staff": 200,
        "rival_staff": 200,
        "facility_staff": 200,
        "analyst": 403,
        "other_district_lead": 403,
    },
    "network:offerings": {
        "lead": 200,
        "operator_a": 200,
        "operator_b": 200,
        "doctor_a": 200,
        "volunteer_a": 403,
        "partner_staff": 200,
        "rival_staff": 200,
        "facility_staff": 200,
        "analyst": 403,
        "other_district_lead": 200,
    },
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_role_gets_the_pages_its_work_needs_and_no_others(net: Cast, page: str) -> None:
    routed(net, zone="a")
    url = reverse(page)
    assert Client().get(url).status_code == 302
    got = {name: _client(user).get(url).status_code for name, user in net.users().items()}
    assert got == PAGES[page]


def test_a_rival_partner_gets_404_for_another_partners_request_page_and_actions(net: Cast) -> None:
    r = routed(net, zone="a")
    rival = _client(net.rival_staff)
    assert rival.get(reverse("assistance:detail", args=[r.pk])).status_code == 404
    for action in ("accept", "decline", "note", "start"):
        response = rival.post(reverse("assistance:act", args=[r.pk, action]), {"reason": "mine now", "text": "x"})
        assert response.status_code == 404, action
    assert ServiceRequest.objects.get(pk=r.pk).state == RequestState.ASSIGNED
    # The operator of the other zone is out of scope too.
    assert _client(net.operator_b).get(reverse("assistance:detail", args=[r.pk])).status_code == 404
    assert "/" + str(r.pk) not in rival.get(reverse("assistance:partner")).content.decode()


def test_the_detail_page_offers_only_what_the_state_allows_and_is_audited(net: Cast) -> None:
    r = routed(net, zone="a", address="H. No. 7, Sector 46")
    partner = _client(net.partner_staff)
    html = partner.get(reverse("assistance:detail", args=[r.pk])).content.decode()
    assert 'data-action="accept"' in html
    assert 'data-action="fulfil"' not in html
    assert "H. No. 7" not in html  # not before accepting
    assert not FULL_PHONE.search(html)
    assert AuditEntry.objects.filter(action=AuditAction.READ, target_id=str(r.pk), actor=net.partner_staff).exists()
    response = partner.post(reverse("assistance:act", args=[r.pk, "accept"]), {"idem": "acc-page"})
    assert response.status_code == 302
    html = partner.get(reverse("assistance:detail", args=[r.pk])).content.decode()
    assert 'data-action="accept"' not in html
    assert 'data-action="fulfil"' in html
    assert 'data-action="start"' in html
    assert "H. No. 7" in html
    # An action the state no longer allows is refused with the reason, not a crash.
    again = partner.post(reverse("assistance:act", args=[r.pk, "accept"]), {"idem": "acc-page-2"}, follow=True)
    assert "cannot be done any more" in again.content.decode()
    # The operator sees the routing explanation and the full timeline.
    staff_html = _client(net.operator_a).get(reverse("assistance:detail", args=[r.pk])).content.decode()
    assert "Why this partner" in staff_html
    assert staff_html.count('class="timeline-item') == RequestEvent.objects.filter(request=r).count()


def test_a_double_submitted_page_form_applies_once(net: Cast) -> None:
    r = routed(net, zone="a")
    partner = _client(net.partner_staff)
    services.accept_request(net.partner_staff, r)
    for _ in range(2):
        partner.post(reverse("assistance:act", args=[r.pk, "note"]), {"idem": "same-form", "text": "rider left"})
    assert RequestEvent.objects.filter(request=r, kind=EventKind.NOTE).count() == 1


def test_the_operator_enters_the_code_and_the_demo_shows_what_was_sent(net: Cast) -> None:
    r = routed(net, zone="a")
    services.accept_request(net.partner_staff, r)
    services.fulfil_request(net.partner_staff, r)
    operator = _client(net.operator_a)
    html = operator.get(reverse("assistance:detail", args=[r.pk])).content.decode()
    assert 'id="demo-code"' in html
    assert last_code(r) in html
    wrong = operator.post(reverse("assistance:act", args=[r.pk, "confirm"]), {"code": "99999x"}, follow=True)
    assert "4 to 8 digits" in wrong.content.decode()
    operator.post(reverse("assistance:act", args=[r.pk, "confirm"]), {"code": last_code(r), "idem": "conf"})
    r.refresh_from_db()
    assert r.state == RequestState.CLOSED
    operator.post(reverse("assistance:act", args=[r.pk, "satisfaction"]), {"score": "4", "idem": "sat"})
    r.refresh_from_db()
    assert r.satisfaction == 4


def test_the_board_lists_the_zone_filters_and_stays_within_a_query_budget(
    net: Cast, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        routed_in(net, "a" if i % 3 else "b", phone=f"98200{i:05d}")
    new_request(net, "hospital_bed", zone="a", phone="9820099999", spo2=85)
    operator = _client(net.operator_a)
    url = reverse("assistance:board")
    # Session, user, zones, live counts (2), the page's rows, district name: the same however many are open.
    with django_assert_max_num_queries(8):
        html = operator.get(url).content.decode()
    assert html.count('name="ids"') == 21  # zone A only: 20 routed + 1 new
    assert "Critical" in html
    assert html.index("Hospital bed") < html.index("Food")  # critical first
    lead = _client(net.lead)
    with django_assert_max_num_queries(10):
        assert lead.get(url + "?kind=food&zone=B").content.decode().count('name="ids"') == 10
    assert lead.get(url + "?state=new").content.decode().count('name="ids"') == 1
    assert lead.get(url + "?breach=yes").content.decode().count('name="ids"') == 0
    assert lead.get(url + "?zone=NOPE&priority=bogus").status_code == 200


def test_bulk_triage_routes_the_selected_and_cancel_needs_a_reason(net: Cast) -> None:
    fresh = [new_request(net, zone="a", phone=f"983000000{i}") for i in range(3)]
    operator = _client(net.operator_a)
    url = reverse("assistance:bulk")
    operator.post(url, {"action": "triage", "ids": [str(r.pk) for r in fresh[:2]], "idem": "bulk-1"})
    states = {r.pk: ServiceRequest.objects.get(pk=r.pk).state for r in fresh}
    assert [states[r.pk] for r in fresh] == ["assigned", "assigned", "new"]
    refused = operator.post(url, {"action": "cancel", "ids": [str(fresh[2].pk)]}, follow=True).content.decode()
    assert "Give a reason" in refused
    operator.post(url, {"action": "cancel", "ids": [str(fresh[2].pk)], "reason": "duplicate call", "idem": "b2"})
    assert ServiceRequest.objects.get(pk=fresh[2].pk).state == RequestState.CANCELLED
    # Reassigning is a supervisor's decision.
    assert operator.post(url, {"action": "reassign", "ids": [str(fresh[0].pk)], "reason": "slow"}).status_code == 403
    # A request out of the operator's zones is silently not touched.
    other = new_request(net, zone="b", phone="9830000099", actor=net.operator_b)
    operator.post(url, {"action": "triage", "ids": [str(other.pk)], "idem": "bulk-3"})
    assert ServiceRequest.objects.get(pk=other.pk).state == RequestState.NEW


def test_raising_from_the_console_link_prefills_the_patient_and_checks_service_fields(net: Cast) -> None:
    case = make_case(net.district, net.zone_a, name="Sunita Yadav", age=58, phone="+919811122233")
    operator = _client(net.operator_a)
    url = reverse("assistance:new")
    html = operator.get(url, {"case": str(case.pk), "kind": "hospital_bed"}).content.decode()
    assert 'value="Sunita Yadav"' in html
    assert "+919811122233" in html
    assert AuditEntry.objects.filter(action=AuditAction.READ, person_id=str(case.person_id)).exists()
    assert _client(net.operator_b).get(url, {"case": str(case.pk)}).status_code == 404
    form = {
        "kind": "hospital_bed",
        "channel": "call_console",
        "case": str(case.pk),
        "patient_name": "Sunita Yadav",
        "requester_phone": "+919811122233",
        "zone": net.zone_a.pk,
        "route_now": "on",
        "idem": "raise-page",
    }
    missing = operator.post(url, form).content.decode()
    assert "bed type needed is required" in missing  # the service's field error, next to the field
    done = operator.post(url, {**form, "d_hospital_bed_bed_type": "icu", "spo2": "88"})
    assert done.status_code == 302
    r = ServiceRequest.objects.get()
    assert (r.case_id, r.details["bed_type"], r.state) == (case.pk, "icu", RequestState.ASSIGNED)
    assert done["Location"] == reverse("assistance:detail", args=[r.pk])


def test_the_partner_portal_shows_offers_and_work_in_hand_within_a_query_budget(
    net: Cast, django_assert_max_num_queries: Any
) -> None:
    offered = [routed(net, zone="a", phone=f"984000000{i}") for i in range(5)]
    services.accept_request(net.partner_staff, offered[0])
    routed(net, zone="b", phone="9840000099")  # the rival's
    partner = _client(net.partner_staff)
    with django_assert_max_num_queries(12):
        html = partner.get(reverse("assistance:partner")).content.decode()
    assert html.count('data-action="accept"') == 4
    assert html.count('data-action="fulfil"') == 1
    assert html.count('class="card req-card') == 5
    assert not FULL_PHONE.search(html)  # no full number, not even the accepted one's: calls go through the ICCC


def test_the_partner_queue_refreshes_itself_with_new_offers_and_nothing_else(net: Cast) -> None:
    partner = _client(net.partner_staff)
    page = partner.get(reverse("assistance:partner")).content.decode()
    assert 'id="partner-queue"' in page
    assert 'hx-trigger="every 20s"' in page
    assert 'data-offered="0"' in page
    routed(net, zone="a", phone="9840000011")  # a new offer arrives while the page is open
    routed(net, zone="b", phone="9840000012")  # the rival's: never in this queue
    part = partner.get(reverse("assistance:partner"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in part
    assert part.lstrip().startswith('<div id="partner-queue"')
    assert 'data-offered="1"' in part
    assert part.count('class="card req-card') == 1
    assert "Today's load" not in part  # only the queue is sent again
    assert not FULL_PHONE.search(part)


def test_breaches_list_late_requests_and_a_lead_reassigns_from_there(net: Cast) -> None:
    offer(net, net.dc_office, "food")  # a second partner for zone A
    r = routed(net, zone="a")
    services.tick(now=timezone.now())  # created in 2021: long past its SLA
    r.refresh_from_db()
    assert r.breached_at is not None
    html = _client(net.operator_a).get(reverse("assistance:breaches")).content.decode()
    assert r.reference in html
    assert " late" in html
    assert 'name="offering"' not in html  # operators see, supervisors reassign
    lead = _client(net.lead)
    html = lead.get(reverse("assistance:breaches")).content.decode()
    assert 'name="offering"' in html
    other = ServiceOffering.objects.get(organisation=net.dc_office)
    lead.post(
        reverse("assistance:act", args=[r.pk, "reassign"]),
        {"offering": other.pk, "reason": "partner not answering", "idem": "ra"},
    )
    r.refresh_from_db()
    assert r.assignee_org_id == net.dc_office.pk


def test_network_page_shows_coverage_to_staff_and_only_their_own_to_a_partner(net: Cast) -> None:
    staff_html = _client(net.lead).get(reverse("network:offerings")).content.decode()
    assert "Coverage by service" in staff_html
    assert "MyUpchar" in staff_html
    assert "Meddo" in staff_html
    partner_html = _client(net.partner_staff).get(reverse("network:offerings")).content.decode()
    assert "Coverage by service" not in partner_html
    assert "Meddo" not in partner_html
    mine = ServiceOffering.objects.get(organisation=net.partner)
    theirs = ServiceOffering.objects.get(organisation=net.rival_partner)
    form = {f"o{mine.pk}-daily_capacity": "40", f"o{mine.pk}-is_active": "on", f"o{mine.pk}-open_24x7": "on"}
    _client(net.partner_staff).post(reverse("network:update", args=[mine.pk]), form)
    mine.refresh_from_db()
    assert mine.daily_capacity == 40
    assert _client(net.partner_staff).post(reverse("network:update", args=[theirs.pk]), {}).status_code == 404
    paused = {f"o{mine.pk}-daily_capacity": "40", f"o{mine.pk}-open_24x7": "on"}
    html = _client(net.partner_staff).post(reverse("network:update", args=[mine.pk]), paused, follow=True)
    assert "say why the service is paused" in html.content.decode()


def test_the_network_page_shows_each_offerings_load_today(net: Cast) -> None:
    routed(net, zone="a", now=timezone.now())  # to the partner's kitchen, today
    html = _client(net.lead).get(reverse("network:offerings")).content.decode()
    kitchen = ServiceOffering.objects.get(organisation=net.partner)
    row = html.split(f'<tr id="offering-{kitchen.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "<strong>1</strong> / 20" in row
    assert 'value="1" max="20"' in row
    rival = ServiceOffering.objects.get(organisation=net.rival_partner)
    assert "<strong>0</strong> / 20" in html.split(f'<tr id="offering-{rival.pk}"', 1)[1].split("</tr>", 1)[0]


def test_the_pages_read_in_hindi(net: Cast) -> None:
    r = routed(net, zone="a")
    board = _client(net.operator_a, "hi").get(reverse("assistance:board")).content.decode()
    assert 'lang="hi"' in board
    assert "अनुरोध बोर्ड" in board
    portal = _client(net.partner_staff, "hi").get(reverse("assistance:partner")).content.decode()
    assert "आपकी कतार" in portal
    assert r.reference in portal


def test_time_left_reads_as_minutes_or_hours() -> None:
    from iccc.assistance.views import sla_clock

    now = timezone.now()
    assert sla_clock(now + timedelta(minutes=12, seconds=30), now).text == "12 min left"  # type: ignore[union-attr]
    late = sla_clock(now - timedelta(minutes=200), now)
    assert late is not None
    assert late.late
    assert late.text == "3 h 20 min late"
