from django.test import Client

from iccc.accounts import services
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.dashboard.tests.factories import make_case
from iccc.testing.cast import Cast


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_who_saw_a_person_lists_every_read_and_change_and_is_itself_audited(
    cast: Cast, django_assert_max_num_queries
) -> None:
    case = make_case(cast.zone_a, name="Kavita Sharma")
    person = case.person
    audit.record(cast.operator_a, AuditAction.READ, person, person_id=str(person.pk))
    audit.record(
        cast.doctor_a, AuditAction.UPDATE, case, person_id=str(person.pk), changes={"severity": ["mild", "severe"]}
    )
    audit.record(cast.operator_b, AuditAction.READ, target_type="registry.person", target_id=str(person.pk))
    client = _client(cast.lead)
    with django_assert_max_num_queries(14):
        html = client.get(f"/audit/person/?id={person.pk}").content.decode()
    assert "Kavita Sharma" in html
    assert "operator_a" in html
    assert "doctor_a" in html
    assert "operator_b" in html
    assert "severe" in html
    assert AuditEntry.objects.filter(actor=cast.lead, action=AuditAction.READ, person_id=str(person.pk)).exists()


def test_the_person_trail_is_paginated(cast: Cast) -> None:
    person = make_case(cast.zone_a).person
    for _ in range(60):
        audit.record(cast.operator_a, AuditAction.READ, person, person_id=str(person.pk))
    html = _client(cast.lead).get(f"/audit/person/?id={person.pk}").content.decode()
    assert "Page 1 of 2" in html
    assert f"id={person.pk}&amp;page=2" in html


def test_an_unknown_or_empty_id_gets_a_clear_reason(cast: Cast) -> None:
    response = _client(cast.lead).get("/audit/person/?id=12345")
    assert response.status_code == 404
    assert "No person with the id or SRF ID" in response.content.decode()
    assert _client(cast.lead).get("/audit/person/?id=").status_code == 400


def test_a_person_can_be_found_by_srf_id_within_the_leads_district_only(cast: Cast) -> None:
    case = make_case(cast.zone_a, name="Found By SRF")
    html = _client(cast.lead).get(f"/audit/person/?id={case.srf_id.lower()}").content.decode()
    assert "Found By SRF" in html
    assert _client(cast.other_district_lead).get(f"/audit/person/?id={case.srf_id}").status_code == 404


def test_what_a_user_did_shows_their_actions_only(cast: Cast) -> None:
    services.record_login(cast.operator_a)
    services.record_login(cast.operator_b)
    html = _client(cast.lead).get(f"/audit/user/{cast.operator_a.pk}/").content.decode()
    assert "What operator_a did" in html
    assert "operator_b" not in html.split("<table")[1]
    assert AuditEntry.objects.filter(actor=cast.lead, target_id=f"user:{cast.operator_a.pk}").exists()


def test_the_chain_check_reports_an_intact_log(cast: Cast) -> None:
    services.record_login(cast.operator_a)
    html = _client(cast.lead).get("/audit/chain/").content.decode()
    assert "Intact" in html


def test_the_audit_page_shows_the_last_chain_check_without_rereading_the_log(
    cast: Cast, django_assert_max_num_queries
) -> None:
    from django.core.cache import cache

    cache.clear()
    client = _client(cast.lead)
    assert "Not checked recently" in client.get("/audit/").content.decode()
    client.get("/audit/chain/")
    with django_assert_max_num_queries(6):
        html = client.get("/audit/").content.decode()
    assert "Intact" in html
    cache.clear()
