"""Check-ins: refused readings get a reason; every default red-flag rule fires when it should, and only then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from iccc.outreach import services
from iccc.outreach.models import (
    DEFAULT_RED_FLAG_RULES,
    Alert,
    AlertKind,
    CheckIn,
    Escalation,
    NeedFlag,
    OutreachTask,
    RedFlagRule,
    TaskKind,
)
from iccc.outreach.services import claim_next_task, record_checkin
from iccc.outreach.tests.support import T0, make_case

CALM = {"spo2": 97, "temperature_c": 37.0, "pulse": 80}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"spo2": 140}, "spo2", "140% is not a possible SpO2 reading"),
        ({"temperature_c": 60}, "temperature_c", "60°C is not a possible temperature reading"),
        ({"pulse": 400}, "pulse", "not a possible pulse"),
        ({"spo2": "ninety"}, "spo2", "must be a number"),
        ({"symptoms": ["hiccups"]}, "symptoms", "unknown symptom: hiccups"),
        ({"symptom_onset": "2099-01-01"}, "symptom_onset", "future"),
        ({"blood_group": "O+"}, "blood_group", "unknown field"),
    ],
)
def test_impossible_readings_are_refused_with_a_reason(crew: Any, data: dict, field: str, words: str) -> None:
    case = make_case(crew.district, crew.zone_a)
    with pytest.raises(ValidationError) as err:
        record_checkin(crew.operator_a, case, data, now=T0)
    assert words in " ".join(str(m) for m in err.value.message_dict[field])
    assert CheckIn.objects.count() == 0


def test_a_calm_check_in_escalates_nothing(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a, age=45)
    result = record_checkin(
        crew.operator_a,
        case,
        {**CALM, "symptoms": ["cough"], "contacts": [{"name": "Mohan", "phone": "9812345678"}]},
        now=T0,
    )
    assert result.escalations == []
    assert result.alert is None
    assert result.checkin.contacts == [{"name": "Mohan", "phone": "9812345678"}]


# (rule, check-in that fires it, a near miss that does not, age, previous check-in)
CASES = [
    ("spo2_critical", {"spo2": 89}, {"spo2": 90}, 40, None),
    ("spo2_low", {"spo2": 93}, {"spo2": 94}, 40, None),
    ("spo2_falling", {"spo2": 95}, {"spo2": 96}, 40, {"spo2": 98}),
    ("confusion", {"symptoms": ["confusion"]}, {"symptoms": ["headache"]}, 40, None),
    ("breathlessness", {"symptoms": ["breathlessness"]}, {"symptoms": ["cough"]}, 40, None),
    ("chest_pain", {"symptoms": ["chest_pain"]}, {"symptoms": ["body_ache"]}, 40, None),
    ("pulse_high", {"pulse": 120}, {"pulse": 119}, 40, None),
    (
        "fever_beyond_day_3",
        {"symptoms": ["fever"], "symptom_onset": (T0 - timedelta(days=4)).date().isoformat()},
        {"symptoms": ["fever"], "symptom_onset": (T0 - timedelta(days=3)).date().isoformat()},
        40,
        None,
    ),
    ("elderly_comorbid", {"comorbidities": ["diabetes"]}, {"comorbidities": ["diabetes"]}, 61, None),
]


def test_every_default_rule_is_covered_here() -> None:
    assert {c[0] for c in CASES} == {r.code for r in DEFAULT_RED_FLAG_RULES}


@pytest.mark.parametrize(("code", "fires", "misses", "age", "previous"), CASES, ids=[c[0] for c in CASES])
def test_each_default_red_flag_rule_fires_and_does_not(
    crew: Any, code: str, fires: dict, misses: dict, age: int, previous: dict | None
) -> None:
    hit = make_case(crew.district, crew.zone_a, age=age)
    # The near miss of the age rule is the same comorbidity at 60.
    miss = make_case(crew.district, crew.zone_a, age=60 if code == "elderly_comorbid" else age)
    for case in (hit, miss):
        if previous:
            record_checkin(crew.operator_a, case, {**CALM, **previous}, now=T0 - timedelta(days=1))
    fired = record_checkin(crew.operator_a, hit, {**CALM, **fires}, now=T0)
    missed = record_checkin(crew.operator_a, miss, {**CALM, **misses}, now=T0)
    assert code in [e.rule_code for e in fired.escalations]
    assert code not in [e.rule_code for e in missed.escalations]


def test_a_low_spo2_makes_a_doctor_callback_and_alerts_the_zone(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    result = record_checkin(crew.operator_a, case, {**CALM, "spo2": 92}, now=T0)
    (esc,) = result.escalations
    assert esc.rule.code == "spo2_low"
    assert esc.action == "doctor_callback"
    task = OutreachTask.objects.get(kind=TaskKind.DOCTOR_CALLBACK)
    assert task.doctor_only
    assert esc.task_id == task.pk
    assert task.due_at == T0 + timedelta(minutes=60)
    assert claim_next_task(crew.operator_a, now=T0) is None  # operators do not take doctor calls
    assert claim_next_task(crew.doctor_a, now=T0).pk == task.pk  # type: ignore[union-attr]
    alert = Alert.objects.get(kind=AlertKind.RED_FLAG)
    assert alert.zone_id == crew.zone_a.pk
    assert "SpO2 below 94%" in alert.message
    # A second red flag before the doctor called does not stack a second callback.
    record_checkin(crew.operator_a, case, {**CALM, "spo2": 93}, now=T0 + timedelta(minutes=5))
    assert OutreachTask.objects.filter(kind=TaskKind.DOCTOR_CALLBACK).count() == 1


def test_a_critical_spo2_flags_an_urgent_oxygen_need(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    result = record_checkin(crew.operator_a, case, {**CALM, "spo2": 86}, now=T0)
    codes = {e.rule_code for e in result.escalations}
    assert codes == {"spo2_critical", "spo2_low"}
    need = NeedFlag.objects.get()
    assert (need.kind, need.urgency) == ("oxygen", "urgent")
    assert Escalation.objects.get(rule_code="spo2_critical").need_id == need.pk


def test_rules_are_data_a_district_can_tighten(crew: Any) -> None:
    RedFlagRule.objects.filter(district=crew.district, code="spo2_low").update(
        params={"field": "spo2", "op": "<", "value": 95}
    )
    case = make_case(crew.district, crew.zone_a)
    assert [e.rule_code for e in record_checkin(crew.operator_a, case, {**CALM, "spo2": 94}, now=T0).escalations] == [
        "spo2_low"
    ]
    RedFlagRule.objects.filter(district=crew.district, code="spo2_low").update(is_active=False)
    case2 = make_case(crew.district, crew.zone_a)
    assert record_checkin(crew.operator_a, case2, {**CALM, "spo2": 93}, now=T0).escalations == []


def test_a_comorbidity_learned_on_a_call_moves_the_patients_calls_up(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a, age=40)
    task = services.first_contact_for(case, now=T0)
    before = task.priority
    record_checkin(crew.operator_a, case, {**CALM, "comorbidities": ["diabetes"]}, now=T0)
    task.refresh_from_db()
    assert task.priority == before + 30


def test_only_people_who_see_the_patient_record_check_ins(crew: Any) -> None:
    from django.core.exceptions import PermissionDenied

    case = make_case(crew.district, crew.zone_a)
    for who in (crew.operator_b, crew.volunteer_a, crew.analyst, crew.partner_staff):
        with pytest.raises(PermissionDenied):
            record_checkin(who, case, CALM, now=T0)


def test_raising_a_need_from_a_call(crew: Any) -> None:
    case = make_case(crew.district, crew.zone_a)
    need = services.raise_need(crew.operator_a, case, "food", urgency="normal", notes="family of 5 all positive")
    assert need.kind == "food"
    assert need.zone_id == crew.zone_a.pk
    with pytest.raises(ValidationError, match="unknown need"):
        services.raise_need(crew.operator_a, case, "pizza")
