"""A patient's language, heard on the call, routes their later calls to agents who speak it."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from iccc.core.models import AuditEntry
from iccc.outreach import services
from iccc.outreach.models import OutreachTask, TaskKind, TaskStatus
from iccc.outreach.tests.support import T0, make_case


@pytest.fixture
def waiting(cast):
    case = make_case(cast.district, cast.zone_a)
    return services.first_contact_for(case, now=T0)


def test_setting_the_language_reroutes_waiting_calls_and_is_audited(cast, waiting):
    rerouted = services.set_patient_language(cast.operator_a, waiting.person, "bn")
    assert rerouted == 1
    waiting.refresh_from_db()
    assert waiting.language == "bn"
    assert waiting.person.language == "bn"
    entry = AuditEntry.objects.get(person_id=str(waiting.person_id), action="update")
    assert entry.changes == {"language": ["", "bn"]}


def test_an_agent_who_does_not_speak_it_is_not_given_the_call(cast, waiting):
    services.set_patient_language(cast.operator_a, waiting.person, "bn")
    cast.operator_a.languages = "en,hi"
    assert services.claim_next_task(cast.operator_a) is None
    cast.operator_a.languages = "en,hi,bn"
    claimed = services.claim_next_task(cast.operator_a)
    assert claimed is not None
    assert claimed.pk == waiting.pk


def test_an_unknown_language_is_refused_with_a_reason(cast, waiting):
    with pytest.raises(ValidationError, match="Unknown language"):
        services.set_patient_language(cast.operator_a, waiting.person, "xx")


def test_an_agent_cannot_set_the_language_of_a_patient_outside_their_zones(cast, waiting):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_patient_language(cast.operator_b, waiting.person, "hi")
    waiting.person.refresh_from_db()
    assert waiting.person.language == ""


def test_tomorrows_follow_up_carries_the_language(cast, waiting):
    services.set_patient_language(cast.operator_a, waiting.person, "pa")
    OutreachTask.objects.filter(pk=waiting.pk).update(status=TaskStatus.DONE)
    case = waiting.case
    services.schedule_follow_ups(T0.date() + timedelta(days=2), district_id=cast.district.pk, now=T0)
    follow_up = OutreachTask.objects.get(case=case, kind=TaskKind.FOLLOW_UP)
    assert follow_up.language == "pa"


def test_the_console_saves_the_language_through_htmx(client, cast, waiting):
    client.force_login(cast.operator_a)
    response = client.post(f"/outreach/tasks/{waiting.pk}/language/", {"language": "ur"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Saved" in response.content
    waiting.person.refresh_from_db()
    assert waiting.person.language == "ur"
    bad = client.post(f"/outreach/tasks/{waiting.pk}/language/", {"language": "zz"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert b"Unknown language" in bad.content
