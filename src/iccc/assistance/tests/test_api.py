"""The assistance and network APIs over the cast: partners by token, ICCC staff by session.

Each rule of the API has its test: scoping (a rival partner gets 404 and never learns a
request exists), minimum data for partners, Idempotency-Key replays, 400/422 naming the
field, 409 with the reason, 401 for bad tokens, bounded queries on the list.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from iccc.accounts import services as accounts
from iccc.assistance.models import EventKind, RequestEvent, RequestState, ServiceRequest
from iccc.assistance.tests.factories import last_code, new_request, offer, routed
from iccc.network.models import ServiceOffering
from iccc.testing.cast import Cast

BASE = "/api/v1/assistance/requests"


class Api:
    """A JSON client that signs every call with a partner's token or a staff session."""

    def __init__(self, *, token: str = "", user: Any = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if user is not None:
            self.client.force_login(user)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body: Any = None, *, key: str | None = None, raw: str | None = None) -> Any:
        extra = dict(self.headers)
        if key is not None:
            extra["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body or {})
        return self.client.post(path, data, content_type="application/json", headers=extra)

    def patch(self, path: str, body: Any, *, key: str | None = None) -> Any:
        extra = dict(self.headers)
        if key is not None:
            extra["Idempotency-Key"] = key
        return self.client.patch(path, json.dumps(body), content_type="application/json", headers=extra)


@pytest.fixture
def net(cast: Cast) -> Cast:
    """Food offered by the partner in zone A and by the rival in zone B; beds by the hospital everywhere."""
    offer(cast, cast.partner, "food", zones=[cast.zone_a])
    offer(cast, cast.rival_partner, "food", zones=[cast.zone_b])
    offer(cast, cast.hospital, "hospital_bed")
    return cast


def _token(cast: Cast, org: Any) -> str:
    return accounts.issue_api_token(cast.lead, org, "dispatch system")[1]


@pytest.fixture
def partner_api(net: Cast) -> Api:
    return Api(token=_token(net, net.partner))


@pytest.fixture
def rival_api(net: Cast) -> Api:
    return Api(token=_token(net, net.rival_partner))


def test_a_partner_token_lists_only_its_own_requests(net: Cast, partner_api: Api, rival_api: Api) -> None:
    mine = routed(net, zone="a")
    theirs = routed(net, zone="b")
    assert (mine.assignee_org_id, theirs.assignee_org_id) == (net.partner.pk, net.rival_partner.pk)
    listed = partner_api.get(BASE).json()
    assert [item["reference"] for item in listed["items"]] == [mine.reference]
    assert [item["reference"] for item in rival_api.get(BASE).json()["items"]] == [theirs.reference]


def test_a_rival_partner_gets_404_for_another_partners_request_read_or_write(
    net: Cast, partner_api: Api, rival_api: Api
) -> None:
    mine = routed(net, zone="a")
    for response in (
        rival_api.get(f"{BASE}/{mine.pk}"),
        rival_api.post(f"{BASE}/{mine.pk}/accept", key="r1"),
        rival_api.post(f"{BASE}/{mine.pk}/decline", {"reason": "not ours"}, key="r2"),
        rival_api.post(f"{BASE}/{mine.pk}/notes", {"text": "peeking"}, key="r3"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "No such request."}
    # The same answer as for a request that does not exist at all.
    assert rival_api.get(f"{BASE}/00000000-0000-4000-8000-000000000000").json() == {"detail": "No such request."}
    mine.refresh_from_db()
    assert mine.state == RequestState.ASSIGNED
    assert not RequestEvent.objects.filter(request=mine, kind=EventKind.NOTE).exists()


def test_a_partner_sees_the_minimum_until_it_accepts_then_the_address_and_phone(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a", address="H. No. 12, Sector 45", patient_name="Ram Lal")
    offered = partner_api.get(f"{BASE}/{r.pk}").json()
    assert offered["details"] == {"people": 4, "days": 7, "diet": "vegetarian", "meals_per_day": 2}
    assert offered["actions"] == ["accept", "decline", "note"]
    for hidden in ("patient_name", "requester_phone", "address", "requester_name", "channel", "routing_note"):
        assert offered[hidden] is None, hidden
    accepted = partner_api.post(f"{BASE}/{r.pk}/accept", key="acc-1")
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert body["state"] == "accepted"
    assert body["address"] == "H. No. 12, Sector 45"
    assert body["requester_phone"].startswith("+91")
    assert body["actions"] == ["start", "fulfil", "decline", "note"]
    assert body["routing_note"] is None  # names the rivals considered: ICCC-internal


def test_a_replayed_accept_applies_once_and_returns_the_first_answer(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a")
    first = partner_api.post(f"{BASE}/{r.pk}/accept", key="same-key")
    partner_api.post(f"{BASE}/{r.pk}/start", {"note": "rider left"}, key="start-1")
    again = partner_api.post(f"{BASE}/{r.pk}/accept", key="same-key")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()  # the first answer, though the request has moved on
    assert again["Idempotent-Replayed"] == "true"
    accepts = RequestEvent.objects.filter(request=r, to_state=RequestState.ACCEPTED)
    assert accepts.count() == 1


def test_writes_need_a_key_and_a_key_reused_for_another_request_is_refused(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a")
    missing = partner_api.post(f"{BASE}/{r.pk}/accept")
    assert missing.status_code == 400
    assert "Idempotency-Key" in missing.json()["detail"]
    assert partner_api.post(f"{BASE}/{r.pk}/accept", key="has spaces").status_code == 400
    assert partner_api.post(f"{BASE}/{r.pk}/notes", {"text": "on it"}, key="k-9").status_code == 200
    reused = partner_api.post(f"{BASE}/{r.pk}/notes", {"text": "something else"}, key="k-9")
    assert reused.status_code == 422
    assert "different request" in reused.json()["detail"]


def test_an_invalid_transition_is_409_with_the_reason(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a")
    response = partner_api.post(f"{BASE}/{r.pk}/start", key="too-soon")
    assert response.status_code == 409
    assert r.reference in response.json()["detail"]
    partner_api.post(f"{BASE}/{r.pk}/accept", key="a1")
    partner_api.post(f"{BASE}/{r.pk}/fulfil", {"note": "7 days of meals"}, key="f1")
    late = partner_api.post(f"{BASE}/{r.pk}/decline", {"reason": "van broke down"}, key="d1")
    assert late.status_code == 409
    assert "fulfilled" in late.json()["detail"]


def test_malformed_input_names_the_field_and_the_reason(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a")
    short = partner_api.post(f"{BASE}/{r.pk}/decline", {"reason": ""}, key="d0")
    assert short.status_code == 422
    assert "reason" in json.dumps(short.json())
    broken = partner_api.post(f"{BASE}/{r.pk}/decline", raw="{not json", key="d00")
    assert broken.status_code in (400, 422)
    assert partner_api.get(BASE, priority="sometimes").status_code == 422
    assert partner_api.get(f"{BASE}/not-a-uuid").status_code == 422
    assert r.state == ServiceRequest.objects.get(pk=r.pk).state


def test_staff_raise_with_bad_details_gets_422_naming_the_detail(net: Cast) -> None:
    api = Api(user=net.operator_a)
    bad = api.post(
        BASE,
        {"kind": "hospital_bed", "requester_phone": "9810012345", "zone": "A", "details": {"bed_type": "sofa"}},
        key="raise-bad",
    )
    assert bad.status_code == 422
    assert "details.bed_type" in bad.json()["errors"]
    phone = api.post(
        BASE,
        {"kind": "food", "requester_phone": "12", "zone": "A", "details": {"people": 2, "days": 3}},
        key="raise-bad-2",
    )
    assert phone.status_code == 422
    assert "requester_phone" in phone.json()["errors"]
    unknown_zone = api.post(BASE, {"kind": "food", "zone": "Q", "details": {"people": 2, "days": 3}}, key="rz")
    assert unknown_zone.status_code == 422
    assert "zone" in unknown_zone.json()["errors"]


def test_staff_raise_routes_and_the_same_person_again_is_merged(net: Cast) -> None:
    api = Api(user=net.operator_a)
    body = {
        "kind": "food",
        "channel": "helpline_1950",
        "requester_name": "Asha Devi",
        "requester_phone": "98100 12345",
        "zone": "A",
        "details": {"people": 3, "days": 5},
    }
    first = api.post(BASE, body, key="raise-1")
    assert first.status_code == 201, first.content
    assert first.json()["request"]["state"] == "assigned"
    assert first.json()["request"]["partner"] == str(net.partner)
    again = api.post(BASE, {**body, "channel": "whatsapp"}, key="raise-2")
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["request"]["id"] == first.json()["request"]["id"]
    assert again.json()["request"]["contact_count"] == 2
    replay = api.post(BASE, body, key="raise-1")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert ServiceRequest.objects.count() == 1


def test_partners_and_analysts_cannot_raise_or_confirm(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a")
    raised = partner_api.post(BASE, {"kind": "food", "details": {"people": 1, "days": 1}}, key="p-raise")
    assert raised.status_code == 403
    assert partner_api.post(f"{BASE}/{r.pk}/confirm", {"code": "123456"}, key="p-conf").status_code == 403
    assert Api(user=net.analyst).get(BASE).status_code == 403


def test_the_full_round_trip_partner_fulfils_staff_confirms_with_the_code(net: Cast, partner_api: Api) -> None:
    r = routed(net, zone="a")
    assert partner_api.post(f"{BASE}/{r.pk}/accept", key="a").status_code == 200
    assert partner_api.post(f"{BASE}/{r.pk}/start", {"note": "cooking"}, key="s").json()["state"] == "in_progress"
    assert partner_api.post(f"{BASE}/{r.pk}/fulfil", {}, key="f").json()["state"] == "fulfilled"
    staff = Api(user=net.operator_a)
    wrong = staff.post(f"{BASE}/{r.pk}/confirm", {"code": "000000" if last_code(r) != "000000" else "111111"}, key="c0")
    assert wrong.status_code == 409
    assert staff.post(f"{BASE}/{r.pk}/confirm", {"code": "12ab"}, key="c1").status_code == 422
    done = staff.post(f"{BASE}/{r.pk}/confirm", {"code": last_code(r)}, key="c2")
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "closed"
    timeline = staff.get(f"{BASE}/{r.pk}").json()["timeline"]
    kinds = [e["kind"] for e in timeline]
    assert "confirmed" in kinds
    assert "routed" in kinds
    # The partner's view of its own timeline has its work but not the ICCC's routing reasons.
    partner_timeline = partner_api.get(f"{BASE}/{r.pk}").json()["timeline"]
    assert all(e["kind"] != "routed" or "considered" not in e["message"] for e in partner_timeline)


def _delivered(net: Cast, partner_api: Api, key: str) -> ServiceRequest:
    r = routed(net, zone="a")
    partner_api.post(f"{BASE}/{r.pk}/accept", key=f"{key}-a")
    assert partner_api.post(f"{BASE}/{r.pk}/fulfil", {}, key=f"{key}-f").json()["state"] == "fulfilled"
    return r


def test_staff_reject_and_escalate_through_the_api_and_partners_may_not(net: Cast, partner_api: Api) -> None:
    staff = Api(user=net.operator_a)
    fresh = new_request(net, zone="a")
    # Refused for the role before anything is looked up: the answer says nothing about the request.
    assert partner_api.post(f"{BASE}/{fresh.pk}/reject", {"reason": "prank call"}, key="p-rej").status_code == 403
    rejected = staff.post(f"{BASE}/{fresh.pk}/reject", {"reason": "prank call"}, key="rej")
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["state"] == "rejected"
    assert staff.post(f"{BASE}/{fresh.pk}/reject", {"reason": "prank call"}, key="rej").json()["state"] == "rejected"

    r = routed(net, zone="a")
    refused = partner_api.post(f"{BASE}/{r.pk}/escalate", {"reason": "too far"}, key="p-esc")
    assert refused.status_code == 403
    partner_api.headers["Accept-Language"] = "hi"
    in_hindi = partner_api.post(f"{BASE}/{r.pk}/escalate", {"reason": "too far"}, key="p-esc-hi")
    assert in_hindi.json()["detail"] == "अनुरोध केवल ICCC कर्मचारी सुपरवाइज़र को भेजते हैं।"
    assert staff.post(f"{BASE}/{r.pk}/escalate", {"reason": "no"}, key="esc0").status_code == 422  # too short
    escalated = staff.post(f"{BASE}/{r.pk}/escalate", {"reason": "family asks for a supervisor"}, key="esc")
    assert escalated.json()["state"] == "escalated"
    assert r.alerts.filter(kind="no_partner").exists()


def test_a_disputed_delivery_goes_to_a_supervisor_and_only_a_lead_closes_unconfirmed(
    net: Cast, partner_api: Api
) -> None:
    staff, lead = Api(user=net.operator_a), Api(user=net.lead)
    disputed = _delivered(net, partner_api, "d")
    assert partner_api.post(f"{BASE}/{disputed.pk}/dispute", {"reason": "not here"}, key="p-d").status_code == 403
    answer = staff.post(f"{BASE}/{disputed.pk}/dispute", {"reason": "no food reached the house"}, key="dis")
    assert answer.json()["state"] == "escalated"
    assert disputed.alerts.filter(kind="disputed").exists()

    delivered = _delivered(net, partner_api, "c")
    assert staff.post(f"{BASE}/{delivered.pk}/close", {"reason": "phone off"}, key="op-close").status_code == 403
    closed = lead.post(f"{BASE}/{delivered.pk}/close", {"reason": "phone switched off for 3 days"}, key="close")
    assert closed.json()["state"] == "closed"
    assert delivered.alerts.filter(kind="unconfirmed").exists()


def test_the_requesters_score_is_taken_once_by_staff(net: Cast, partner_api: Api) -> None:
    staff = Api(user=net.operator_a)
    r = _delivered(net, partner_api, "s")
    assert partner_api.post(f"{BASE}/{r.pk}/satisfaction", {"score": 5}, key="p-s").status_code == 403
    out_of_range = staff.post(f"{BASE}/{r.pk}/satisfaction", {"score": 6}, key="s0")
    assert out_of_range.status_code == 422
    assert "score" in json.dumps(out_of_range.json())
    assert staff.post(f"{BASE}/{r.pk}/satisfaction", {"score": 4}, key="s1").status_code == 200
    again = staff.post(f"{BASE}/{r.pk}/satisfaction", {"score": 1}, key="s2")
    assert again.status_code == 409
    assert ServiceRequest.objects.get(pk=r.pk).satisfaction == 4


def test_a_lead_reassigns_to_a_named_offering_or_the_next_best(net: Cast, partner_api: Api) -> None:
    lead, staff = Api(user=net.lead), Api(user=net.operator_a)
    r = routed(net, zone="a")
    rival_kitchen = ServiceOffering.objects.get(organisation=net.rival_partner, service="food")
    body = {"offering_id": rival_kitchen.pk, "reason": "partner's van broke down"}
    assert staff.post(f"{BASE}/{r.pk}/reassign", body, key="op-ra").status_code == 403
    unknown = lead.post(f"{BASE}/{r.pk}/reassign", {**body, "offering_id": 10**9}, key="ra0")
    assert unknown.status_code == 422
    assert "offering_id" in unknown.json()["errors"]
    moved = lead.post(f"{BASE}/{r.pk}/reassign", body, key="ra1")
    assert moved.status_code == 200, moved.content
    assert ServiceRequest.objects.get(pk=r.pk).assignee_org_id == net.rival_partner.pk
    # The partner that lost it keeps its history of it (visible_to) but can no longer take it.
    assert partner_api.post(f"{BASE}/{r.pk}/accept", key="late-accept").status_code in (403, 409)
    next_best = lead.post(f"{BASE}/{r.pk}/reassign", {"reason": "rival kitchen closed"}, key="ra2")
    assert next_best.status_code == 200, next_best.content


def test_bad_tokens_answer_401_with_the_reason(net: Cast) -> None:
    assert Api(token="iccc_00000000_" + "z" * 43).get(BASE).status_code == 401
    token, raw = accounts.issue_api_token(net.lead, net.partner, "old system")
    accounts.revoke_api_token(net.lead, token, "rotated")
    revoked = Api(token=raw).get(BASE)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    assert Client().get(BASE).status_code == 401


def test_list_filters_and_pages_with_bounded_queries(net: Cast, django_assert_max_num_queries: Any) -> None:
    for i in range(6):
        routed(net, zone="a" if i % 2 else "b", phone=f"981000000{i}")
    new_request(net, "hospital_bed", zone="a", phone="9810000099", spo2=86)
    staff = Api(user=net.lead)
    assert staff.get(BASE).json()["count"] == 7
    assert staff.get(BASE, kind="hospital_bed").json()["count"] == 1
    assert staff.get(BASE, zone="A").json()["count"] == 4
    assert staff.get(BASE, state="new").json()["count"] == 1
    assert staff.get(BASE, state=["new", "assigned"]).json()["count"] == 7
    assert staff.get(BASE, priority="critical").json()["count"] >= 1
    assert staff.get(BASE, breached="true").json()["count"] == 0
    assert staff.get(BASE, zone="Q").status_code == 404
    paged = staff.get(BASE, page_size=4, page=2).json()
    assert (paged["pages"], paged["page"], len(paged["items"])) == (2, 2, 3)
    first = staff.get(BASE).json()["items"][0]
    assert first["priority"] == "critical"  # critical first
    with django_assert_max_num_queries(8):
        assert len(staff.get(BASE, page_size=200).json()["items"]) == 7


# ============================================================================ network API


OFFERINGS = "/api/v1/network/offerings"


def test_a_partner_reads_and_updates_only_its_own_offerings(net: Cast, partner_api: Api, rival_api: Api) -> None:
    mine = ServiceOffering.objects.get(organisation=net.partner)
    listed = partner_api.get(OFFERINGS).json()
    assert [o["id"] for o in listed] == [mine.pk]
    assert listed[0]["zones"] == ["A"]
    changed = partner_api.patch(
        f"{OFFERINGS}/{mine.pk}",
        {"daily_capacity": 35, "open_24x7": False, "opens_at": "08:00", "closes_at": "20:00"},
        key="cap-1",
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["daily_capacity"], changed.json()["hours"]) == (35, "08:00-20:00")
    assert rival_api.patch(f"{OFFERINGS}/{mine.pk}", {"daily_capacity": 1}, key="cap-r").status_code == 404
    assert rival_api.get(f"{OFFERINGS}/{mine.pk}").status_code == 404
    refused = partner_api.patch(f"{OFFERINGS}/{mine.pk}", {"is_active": False}, key="pause")
    assert refused.status_code == 422
    assert "reason" in refused.json()["errors"]
    bad = partner_api.patch(f"{OFFERINGS}/{mine.pk}", {"daily_capacity": 0}, key="cap-0")
    assert bad.status_code == 422
    mine.refresh_from_db()
    assert (mine.daily_capacity, mine.is_active) == (35, True)


@pytest.mark.postgres_only
def test_the_same_key_sent_twice_at_once_applies_once(transactional_db: Any) -> None:
    """Two copies of one retried request racing in (FLT-1): one accept, both get the same answer."""
    import threading

    from django.db import connection

    from iccc.testing.cast import build_cast

    cast = build_cast()
    offer(cast, cast.partner, "food", zones=[cast.zone_a])
    r = routed(cast, zone="a")
    raw = _token(cast, cast.partner)
    answers: list[Any] = []
    start = threading.Barrier(2)

    def send() -> None:
        try:
            start.wait()
            answers.append(Api(token=raw).post(f"{BASE}/{r.pk}/accept", key="raced"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert RequestEvent.objects.filter(request=r, to_state=RequestState.ACCEPTED).count() == 1
