"""The outreach API over the cast: claim, outcome with Idempotency-Key, check-ins, KPIs, scoping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from ninja import NinjaAPI
from ninja.testing import TestClient

from iccc.outreach.api import router
from iccc.outreach.models import CallAttempt, OutreachTask
from iccc.outreach.tests.support import make_task

_api = NinjaAPI(urls_namespace="outreach-api-test")
_api.add_router("/outreach", router)


@pytest.fixture
def api() -> TestClient:
    return TestClient(_api)


@pytest.fixture
def waiting(crew: Any) -> Any:
    now = timezone.now()
    return make_task(crew.district, crew.zone_a, received_at=now - timedelta(minutes=30), now=now)


def test_next_gives_a_task_in_the_callers_zones_phone_masked_for_volunteers(
    api: TestClient, crew: Any, waiting: Any
) -> None:
    r = api.post("/outreach/next", user=crew.operator_a)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == waiting.pk
    assert body["phone"].startswith("+91")
    assert "x" not in body["phone"]
    assert body["waited_min"] >= 29
    assert api.post("/outreach/next", user=crew.operator_b).status_code == 204
    assert api.post("/outreach/next", user=crew.analyst).status_code == 403
    visit = make_task(crew.district, crew.zone_a)
    OutreachTask.objects.filter(pk=visit.pk).update(kind="field_visit", assigned_to=crew.volunteer_a)
    r = api.post("/outreach/next", user=crew.volunteer_a)
    assert r.json()["id"] == visit.pk
    assert "x" in r.json()["phone"]


def test_outcome_needs_a_key_and_a_retried_request_records_once(api: TestClient, crew: Any, waiting: Any) -> None:
    api.post("/outreach/next", user=crew.operator_a)
    url = f"/outreach/tasks/{waiting.pk}/outcome"
    assert api.post(url, json={"outcome": "not_reachable"}, user=crew.operator_a).status_code == 400
    first = api.post(url, json={"outcome": "not_reachable"}, user=crew.operator_a, headers={"Idempotency-Key": "abc"})
    again = api.post(url, json={"outcome": "not_reachable"}, user=crew.operator_a, headers={"Idempotency-Key": "abc"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["task_status"] == "open"
    assert first.json()["next_try_at"] is not None
    assert CallAttempt.objects.count() == 1
    bad = api.post(url, json={"outcome": "maybe"}, user=crew.operator_a, headers={"Idempotency-Key": "x2"})
    assert bad.status_code == 422
    assert "unknown outcome" in bad.json()["detail"]


def test_a_task_out_of_scope_answers_404_and_a_taken_one_409(api: TestClient, crew: Any, waiting: Any) -> None:
    url = f"/outreach/tasks/{waiting.pk}/outcome"
    r = api.post(url, json={"outcome": "reached"}, user=crew.operator_b, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 404
    crew.doctor_a.zones.add(crew.zone_a)
    api.post("/outreach/next", user=crew.operator_a)
    r = api.post(url, json={"outcome": "reached"}, user=crew.doctor_a, headers={"Idempotency-Key": "k2"})
    assert r.status_code == 409


def test_checkin_refuses_impossible_readings_and_reports_red_flags(api: TestClient, crew: Any, waiting: Any) -> None:
    url = f"/outreach/tasks/{waiting.pk}/checkins"
    r = api.post(url, json={"spo2": 140, "temperature_c": 60}, user=crew.operator_a)
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"spo2", "temperature_c"}
    r = api.post(url, json={"spo2": 91, "symptoms": ["breathlessness"]}, user=crew.operator_a)
    assert r.status_code == 201
    assert {f["code"] for f in r.json()["red_flags"]} == {"spo2_low", "breathlessness"}
    assert r.json()["alert_id"] is not None


def test_kpis_by_role_and_zone(api: TestClient, crew: Any, waiting: Any) -> None:
    assert api.get("/outreach/kpis", user=crew.lead).json()["queue"]["waiting"] == 1
    assert api.get("/outreach/kpis", user=crew.analyst).status_code == 200
    assert api.get("/outreach/kpis?zone=B", user=crew.operator_a).status_code == 403
    assert api.get("/outreach/kpis?zone=A", user=crew.operator_a).json()["queue"]["waiting"] == 1
    assert api.get("/outreach/kpis?zone=Q", user=crew.lead).status_code == 404
    assert api.get("/outreach/kpis", user=crew.partner_staff).status_code == 403
