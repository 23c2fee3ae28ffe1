"""The outreach pages through the test client: who may open what, the console flow, bad input, masking."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from iccc.outreach import services
from iccc.outreach.models import Alert, CallAttempt, CheckIn, NeedFlag, OutreachTask, TaskKind, TaskStatus
from iccc.outreach.tests.support import make_case

_key = count(1)
# A full Indian mobile number anywhere in a page (with or without +91), not part of a longer number.
FULL_PHONE = re.compile(r"(?<![\w])(?:\+?91)?[6-9]\d{9}(?!\w)")  # word boundaries: tokens hold digit runs
IDEMPOTENCY_VALUES = re.compile(r'name="idempotency_key" value="[0-9a-f]+"')


def _task(crew: Any, zone: Any, *, name: str = "Ravi Kumar", minutes_ago: int = 30, **kw: Any) -> OutreachTask:
    case = make_case(crew.district, zone, name=name, received_at=timezone.now() - timedelta(minutes=minutes_ago), **kw)
    return services.first_contact_for(case)


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _outcome(
    task: OutreachTask | None, outcome: str = "reached", key: str | None = None, **fields: Any
) -> dict[str, Any]:
    return {"outcome": outcome, "idempotency_key": key or f"k{next(_key)}", "temperature_unit": "C", **fields}


# ---------------------------------------------------------------- who may open what

PAGES = {
    "console": {"lead": 200, "operator_a": 200, "operator_b": 200, "doctor_a": 200, "volunteer_a": 302,
                "partner_staff": 403, "rival_staff": 403, "facility_staff": 403, "analyst": 403,
                "other_district_lead": 200},
    "visits": {"lead": 403, "operator_a": 403, "operator_b": 403, "doctor_a": 403, "volunteer_a": 200,
               "partner_staff": 403, "rival_staff": 403, "facility_staff": 403, "analyst": 403,
               "other_district_lead": 403},
    "supervisor": {"lead": 200, "operator_a": 403, "operator_b": 403, "doctor_a": 403, "volunteer_a": 403,
                   "partner_staff": 403, "rival_staff": 403, "facility_staff": 403, "analyst": 403,
                   "other_district_lead": 200},
    "supervisor_live": {"lead": 200, "operator_a": 403, "operator_b": 403, "doctor_a": 403, "volunteer_a": 403,
                        "partner_staff": 403, "rival_staff": 403, "facility_staff": 403, "analyst": 403,
                        "other_district_lead": 200},
    "planner": {"lead": 200, "operator_a": 403, "operator_b": 403, "doctor_a": 403, "volunteer_a": 403,
                "partner_staff": 403, "rival_staff": 403, "facility_staff": 403, "analyst": 403,
                "other_district_lead": 200},
}  # fmt: skip


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_role_gets_the_pages_its_work_needs_and_no_others(crew: Any, page: str) -> None:
    _task(crew, crew.zone_a)
    url = reverse(f"outreach:{page}")
    assert Client().get(url).status_code == 302  # anonymous: to the sign-in page
    got = {name: _client(user).get(url).status_code for name, user in crew.users().items()}
    assert got == PAGES[page]


# Task actions on a task in zone A that operator_a holds: nobody else may act on it, and
# users who may not see it get the same answer as for a task that does not exist.
ACTIONS = ("outcome", "heartbeat", "release", "call", "need")
ACTION_STATUS = {"operator_b": 404, "volunteer_a": 404, "other_district_lead": 404, "partner_staff": 403,
                 "rival_staff": 403, "facility_staff": 403, "analyst": 403}  # fmt: skip


@pytest.mark.parametrize("action", ACTIONS)
def test_nobody_outside_the_task_scope_can_act_on_it(crew: Any, action: str) -> None:
    task = _task(crew, crew.zone_a)
    assert services.claim_next_task(crew.operator_a) == task
    url = reverse(f"outreach:{action}", args=[task.pk])
    data = _outcome(task) | {"kind": "food", "urgency": "high"}
    got = {name: _client(crew.users()[name]).post(url, data).status_code for name in ACTION_STATUS}
    assert got == ACTION_STATUS
    assert Client().post(url, data).status_code == 302
    assert not CallAttempt.objects.exists()
    assert not NeedFlag.objects.exists()
    task.refresh_from_db()
    assert task.leased_by_id == crew.operator_a.pk


def test_an_agent_cannot_record_on_a_task_another_agent_holds(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    services.claim_next_task(crew.operator_a)
    r = _client(crew.doctor_a).post(reverse("outreach:outcome", args=[task.pk]), _outcome(task))
    assert r.status_code == 409
    assert "another agent is working this task" in r.content.decode()
    assert not CallAttempt.objects.exists()


def test_supervisor_actions_are_for_command_leads_only(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    alert = Alert.objects.create(district=crew.district, zone=crew.zone_a, kind="breach", message="late",
                                 created_at=timezone.now())  # fmt: skip
    for user in (crew.operator_a, crew.doctor_a, crew.volunteer_a, crew.analyst, crew.partner_staff):
        c = _client(user)
        assert c.get(reverse("outreach:reassign", args=[task.pk])).status_code == 403
        assert c.post(reverse("outreach:acknowledge", args=[alert.pk])).status_code == 403
    other = _client(crew.other_district_lead)
    assert other.get(reverse("outreach:reassign", args=[task.pk])).status_code == 404
    assert other.post(reverse("outreach:acknowledge", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


# ---------------------------------------------------------------- the console flow


def test_console_claims_a_patient_records_the_call_and_opens_the_next(crew: Any) -> None:
    first = _task(crew, crew.zone_a, name="Asha Devi", minutes_ago=90)
    second = _task(crew, crew.zone_a, name="Mohan Lal", minutes_ago=20)
    c = _client(crew.operator_a)
    page = c.get(reverse("outreach:console")).content.decode()
    assert "Next patient" in page
    assert "2 patients are waiting in your zones" in page
    assert "Asha Devi" not in page

    r = c.post(reverse("outreach:next"))
    assert r.status_code == 302
    page = c.get(reverse("outreach:console")).content.decode()
    assert "Asha Devi" in page
    assert first.person.phone in page
    assert "Call script" in page
    assert "नमस्ते" in page
    assert "1950" in page

    data = _outcome(first, spo2="96", temperature="37.2", pulse="88", symptoms=["cough"], household_members="4")
    r = c.post(reverse("outreach:outcome", args=[first.pk]), data)
    assert r.status_code == 302
    page = c.get(reverse("outreach:console")).content.decode()
    assert "Mohan Lal" in page
    assert "Recorded for Asha Devi" in page
    first.refresh_from_db()
    assert first.status == TaskStatus.DONE
    assert first.contacted_at is not None
    checkin = CheckIn.objects.get()
    assert (checkin.spo2, checkin.temperature_c, checkin.symptoms, checkin.task_id) == (96, 37.2, ["cough"], first.pk)
    assert OutreachTask.objects.get(pk=second.pk).leased_by_id == crew.operator_a.pk


def test_htmx_outcome_answers_with_the_next_patient(crew: Any) -> None:
    first = _task(crew, crew.zone_a, name="Asha Devi", minutes_ago=90)
    _task(crew, crew.zone_a, name="Mohan Lal", minutes_ago=20)
    c = _client(crew.operator_a)
    r = c.post(reverse("outreach:next"), HTTP_HX_REQUEST="true")
    assert "Asha Devi" in r.content.decode()
    assert "<html" not in r.content.decode()
    r = c.post(reverse("outreach:outcome", args=[first.pk]), _outcome(first, "not_reachable"), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "Mohan Lal" in body
    assert "Not reachable" in body


def test_a_double_submission_is_recorded_once(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    _task(crew, crew.zone_a, name="Next One", minutes_ago=5)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    data = _outcome(task, key="same-key-twice", spo2="97")
    first = c.post(reverse("outreach:outcome", args=[task.pk]), data, HTTP_HX_REQUEST="true")
    again = c.post(reverse("outreach:outcome", args=[task.pk]), data, HTTP_HX_REQUEST="true")
    assert first.status_code == again.status_code == 200
    assert CallAttempt.objects.count() == 1
    assert CheckIn.objects.count() == 1
    # Both answers show the same next patient: the repeat claimed nothing more.
    assert "Next One" in again.content.decode()
    assert OutreachTask.objects.filter(status=TaskStatus.LEASED).count() == 1


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("spo2", "140", "140% is not a possible SpO2 reading (allowed 50 to 100%)"),
        ("temperature", "60", "60°C is not a possible Temperature reading (allowed 30 to 45°C)"),
        ("pulse", "400", "400/min is not a possible Pulse reading"),
    ],
)
def test_an_impossible_vital_sign_is_refused_with_the_reason_beside_it(
    crew: Any, field: str, value: str, reason: str
) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    r = c.post(reverse("outreach:outcome", args=[task.pk]), _outcome(task, **{field: value}))
    assert r.status_code == 422
    body = r.content.decode()
    assert reason in body
    assert "Nothing was recorded" in body
    assert not CallAttempt.objects.exists()
    assert not CheckIn.objects.exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.LEASED  # still the agent's, to correct and submit


def test_a_fahrenheit_reading_is_converted_and_a_likely_one_in_celsius_explained(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    r = c.post(reverse("outreach:outcome", args=[task.pk]), _outcome(task, temperature="101"))
    assert r.status_code == 422
    assert "it looks like °F" in r.content.decode()
    r = c.post(reverse("outreach:outcome", args=[task.pk]), _outcome(task, temperature="101", temperature_unit="F"))
    assert r.status_code == 302
    assert CheckIn.objects.get().temperature_c == 38.3


def test_call_back_later_needs_a_time_and_makes_a_callback(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    r = c.post(reverse("outreach:outcome", args=[task.pk]), _outcome(task, "call_back_later"))
    assert r.status_code == 422
    assert "Say when to call back" in r.content.decode()
    when = timezone.localtime(timezone.now() + timedelta(hours=3), timezone.get_fixed_timezone(330))
    r = c.post(
        reverse("outreach:outcome", args=[task.pk]),
        _outcome(task, "call_back_later", callback_at=when.strftime("%Y-%m-%dT%H:%M")),
    )
    assert r.status_code == 302
    callback = OutreachTask.objects.get(kind=TaskKind.CALLBACK)
    assert abs((callback.clock_start - when).total_seconds()) < 60


def test_a_red_flag_on_the_call_is_reported_to_the_agent(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    r = c.post(
        reverse("outreach:outcome", args=[task.pk]),
        _outcome(task, spo2="89", symptoms=["breathlessness"]),
        HTTP_HX_REQUEST="true",
    )
    assert "Red flags raised" in r.content.decode()
    assert Alert.objects.filter(kind="red_flag").exists()


def test_heartbeat_renews_the_lease_and_says_when_it_was_lost(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    OutreachTask.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    r = c.post(reverse("outreach:heartbeat", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert "Yours until" in r.content.decode()
    task.refresh_from_db()
    assert task.lease_expires_at is not None
    assert task.lease_expires_at > timezone.now() + timedelta(minutes=1)
    services.release_task(crew.operator_a, task)
    r = c.post(reverse("outreach:heartbeat", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert "Lease lost" in r.content.decode()


def test_bridge_call_and_raise_a_request_from_the_console(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    r = c.post(reverse("outreach:call", args=[task.pk]), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "demo-" in body
    assert 'name="call_id"' in body
    r = c.post(
        reverse("outreach:need", args=[task.pk]), {"kind": "oxygen", "urgency": "urgent"}, HTTP_HX_REQUEST="true"
    )
    assert "Request raised" in r.content.decode()
    need = NeedFlag.objects.get()
    assert (need.kind, need.urgency, need.raised_by_id) == ("oxygen", "urgent", crew.operator_a.pk)
    r = c.post(reverse("outreach:need", args=[task.pk]), {"kind": "spaceship"}, HTTP_HX_REQUEST="true")
    assert "notice-error" in r.content.decode()
    assert NeedFlag.objects.count() == 1


def test_empty_queue_says_so_with_the_depth_of_the_agents_zones(crew: Any) -> None:
    _task(crew, crew.zone_b)  # not operator_a's zone
    c = _client(crew.operator_a)
    r = c.post(reverse("outreach:next"), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert "Nobody is waiting for a call in your zones" in body
    assert "Waiting now: 0" in body


def test_the_patient_read_is_audited(crew: Any) -> None:
    from iccc.core.models import AuditEntry

    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    c.get(reverse("outreach:console"))
    assert AuditEntry.objects.filter(actor_id=crew.operator_a.pk, action="read", person_id=str(task.person_id)).exists()


def test_skipping_puts_the_patient_back_in_the_queue(crew: Any) -> None:
    task = _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    c.post(reverse("outreach:release", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.leased_by_id is None


def test_the_console_page_needs_a_fixed_number_of_queries(crew: Any, django_assert_max_num_queries: Any) -> None:
    task = _task(crew, crew.zone_a)
    for i in range(12):  # history on the case must not add queries
        CallAttempt.objects.create(
            task=task,
            case_id=task.case_id,
            agent=crew.operator_a,
            outcome="not_reachable",
            idempotency_key=f"hist{next(_key)}",
            at=timezone.now() - timedelta(minutes=i),
        )
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    with django_assert_max_num_queries(25):
        assert c.get(reverse("outreach:console")).status_code == 200


# ---------------------------------------------------------------- supervisor


def _busy_district(crew: Any, n: int) -> None:
    now = timezone.now()
    for i in range(n):
        task = _task(crew, crew.zone_a if i % 2 else crew.zone_b, name=f"Patient {i}", minutes_ago=10 + i * 7)
        if i % 3 == 0:
            CallAttempt.objects.create(task=task, case_id=task.case_id, agent=crew.operator_a, outcome="reached",
                                       idempotency_key=f"busy{next(_key)}", at=now)  # fmt: skip
            OutreachTask.objects.filter(pk=task.pk).update(status="done", contacted_at=now)
        if i % 5 == 0:
            Alert.objects.create(district=crew.district, zone=task.zone, kind="red_flag", message=f"flag {i}",
                                 case_id=task.case_id, task=task, created_at=now)  # fmt: skip


def test_supervisor_page_queries_do_not_grow_with_the_queue(crew: Any, django_assert_max_num_queries: Any) -> None:
    c = _client(crew.lead)
    _busy_district(crew, 6)
    with django_assert_max_num_queries(30) as few:
        assert c.get(reverse("outreach:supervisor")).status_code == 200
    _busy_district(crew, 90)
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = c.get(reverse("outreach:supervisor"))
    body = r.content.decode()
    assert "Time to first contact by zone" in body
    assert "<svg" in body
    assert "flag 0" in body


def test_supervisor_acknowledges_an_alert_and_reassigns_a_task_with_a_reason(crew: Any) -> None:
    task = _task(crew, crew.zone_a, minutes_ago=300)
    alert = Alert.objects.create(district=crew.district, zone=crew.zone_a, kind="breach", message="late one",
                                 created_at=timezone.now())  # fmt: skip
    c = _client(crew.lead)
    page = c.get(reverse("outreach:supervisor")).content.decode()
    assert "late one" in page
    assert reverse("outreach:reassign", args=[task.pk]) in page
    r = c.post(reverse("outreach:acknowledge", args=[alert.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert "late one" not in r.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by_id == crew.lead.pk

    url = reverse("outreach:reassign", args=[task.pk])
    r = c.post(url, {"agent": crew.operator_b.pk, "reason": "  "})
    assert r.status_code == 422
    assert "Give a reason" in r.content.decode()
    r = c.post(url, {"agent": crew.operator_b.pk, "reason": "zone A desk is short today"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.assigned_to_id == crew.operator_b.pk
    # operator_b (zone B) now finds it in their queue.
    assert services.claim_next_task(crew.operator_b) == task


# ---------------------------------------------------------------- volunteers: masked numbers only


def test_a_volunteer_never_receives_a_full_phone_number(crew: Any) -> None:
    parent = _task(crew, crew.zone_a, name="Kamla Devi", phone="+919812345678")
    visit = services.create_field_visit(parent, reason="not reachable after 3 calls")
    assert visit.assigned_to_id == crew.volunteer_a.pk
    c = _client(crew.volunteer_a)
    bodies = [c.get(reverse("outreach:visits")).content.decode()]
    assert "Kamla Devi" in bodies[0]
    c.post(reverse("outreach:next"))
    bodies.append(c.get(reverse("outreach:visits")).content.decode())
    assert "Call via bridge" in bodies[-1]
    assert "Visited at home" in bodies[-1]
    bodies.append(c.post(reverse("outreach:call", args=[visit.pk]), HTTP_HX_REQUEST="true").content.decode())
    bodies.append(c.get(reverse("outreach:console"), follow=True).content.decode())
    bodies.append(
        c.post(reverse("outreach:outcome", args=[visit.pk]), _outcome(visit, "visited", spo2="150")).content.decode()
    )
    for body in bodies:
        scrubbed = IDEMPOTENCY_VALUES.sub("", body)
        assert "9812345678" not in scrubbed
        assert not FULL_PHONE.search(scrubbed), FULL_PHONE.search(scrubbed)
    assert "98xxxxxx78" in bodies[1]
    r = c.post(reverse("outreach:outcome", args=[visit.pk]), _outcome(visit, "visited", spo2="95"))
    assert r.status_code == 302
    visit.refresh_from_db()
    assert visit.status == TaskStatus.DONE
    assert CheckIn.objects.get().source == "field_visit"


# ---------------------------------------------------------------- Hindi


def test_the_pages_speak_hindi(crew: Any) -> None:
    _task(crew, crew.zone_a)
    c = _client(crew.operator_a)
    c.post(reverse("outreach:next"))
    body = c.get(reverse("outreach:console"), HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "कॉल कंसोल" in body
    assert "मरीज़ से बात हुई" in body
    assert "Reached the patient" not in body
    lead = _client(crew.lead)
    body = lead.get(reverse("outreach:planner"), HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "योजना चलाएँ" in body
    assert "Run the plan" not in body
    r = c.post(reverse("outreach:outcome", args=[OutreachTask.objects.get().pk]), _outcome(None, spo2="140"),
               HTTP_ACCEPT_LANGUAGE="hi")  # fmt: skip
    assert "Nothing was recorded" not in r.content.decode()


# ---------------------------------------------------------------- staffing planner


def test_the_planner_runs_the_domain_planner_and_draws_p90_against_agents(crew: Any) -> None:
    c = _client(crew.lead)
    page = c.get(reverse("outreach:planner")).content.decode()
    assert 'value="5042"' in page
    data = {"arrivals": "400", "isolated": "1000", "agents": "20", "shift_hours": "12", "handling_minutes": "6",
            "sla_minutes": "120", "scale": "0.05"}  # fmt: skip
    r = c.post(reverse("outreach:planner"), data, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "Simulation and Erlang-C side by side" in body
    assert "<svg" in body
    assert "Agents needed for p90" in body
    r = c.post(reverse("outreach:planner"), {**data, "agents": "0"})
    assert r.status_code == 422
    assert "greater than or equal to 1" in r.content.decode()
