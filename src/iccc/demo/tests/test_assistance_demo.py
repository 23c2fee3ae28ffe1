"""The demo's partner network and its live requests: every service offered, partner1 with work, the board alive."""

from __future__ import annotations

import random
from typing import Any

import pytest

from iccc.accounts.models import ApiToken, User
from iccc.assistance.models import RequestContact, RequestState, ServiceRequest
from iccc.demo import assistance as demo_assistance
from iccc.demo.services import seed_demo
from iccc.network.models import ServiceKind, ServiceOffering

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> Any:
    seed_demo(backlog_days=2)
    return ServiceOffering.objects.select_related("organisation")


def test_every_service_is_offered_and_every_hospital_offers_its_beds(seeded: Any) -> None:
    assert {o.service for o in seeded} == set(ServiceKind.values)
    beds = seeded.filter(service=ServiceKind.HOSPITAL_BED)
    assert beds.count() > 19
    assert all(o.base_lat is not None for o in beds)
    myupchar = seeded.get(organisation__name="MyUpchar")
    assert myupchar.service == ServiceKind.TELECONSULT


def test_partner1_has_requests_to_act_on_and_the_board_has_every_state(seeded: Any) -> None:
    partner1 = User.objects.get(username="partner1")
    mine = ServiceRequest.objects.visible_to(partner1)
    assert mine.filter(state__in=(RequestState.ASSIGNED, RequestState.ACCEPTED)).exists()
    states = set(ServiceRequest.objects.values_list("state", flat=True))
    assert {
        RequestState.NEW,
        RequestState.ASSIGNED,
        RequestState.IN_PROGRESS,
        RequestState.FULFILLED,
        RequestState.CLOSED,
        RequestState.ESCALATED,
    } <= states
    assert ServiceRequest.objects.filter(breached_at__isnull=False).exists()
    # The simulator acts for partners through their tokens, never for partner1's organisation.
    assert not ApiToken.objects.filter(organisation=partner1.organisation).exists()


def test_seeding_again_adds_nothing(seeded: Any) -> None:
    before = (ServiceOffering.objects.count(), ServiceRequest.objects.count(), ApiToken.objects.count())
    seed_demo(backlog_days=2)
    assert (ServiceOffering.objects.count(), ServiceRequest.objects.count(), ApiToken.objects.count()) == before


def test_the_live_demo_raises_requests_merges_a_repeat_and_works_them(seeded: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(demo_assistance, "RAISE_CHANCE", 1.0)
    monkeypatch.setattr(demo_assistance, "DUPLICATE_CHANCE", 0.0)
    lines: list[str] = []
    rng = random.Random(7)
    before, contacts = ServiceRequest.objects.count(), RequestContact.objects.count()
    demo_assistance.step(say=lines.append, rng=rng)
    assert ServiceRequest.objects.count() == before + 1
    monkeypatch.setattr(demo_assistance, "DUPLICATE_CHANCE", 1.0)
    demo_assistance.step(say=lines.append, rng=rng)
    assert ServiceRequest.objects.count() == before + 1  # the same person again: merged
    assert RequestContact.objects.count() == contacts + 2
    assert any("asked again" in line for line in lines)
