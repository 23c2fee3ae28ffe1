"""Registry API over the cast: scoping, audited reads, masking, paging, clear errors."""

from __future__ import annotations

import pytest
from django.utils import timezone

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.registry.models import ImportBatch, ImportStatus
from iccc.registry.tests.factories import grant, make_person
from iccc.registry.tests.test_pages import ALL, assert_no_full_number

API = "/api/v1/registry"
PHONE_A = "+919876543210"


@pytest.fixture
def people(cast):
    asha = make_person(cast.district, cast.zone_a, "Asha Sharma", phone=PHONE_A, srf_id="SRF-A-1", sex="F")
    bilal = make_person(cast.district, cast.zone_b, "Bilal Khan", phone="+919822233344", srf_id="SRF-B-1")
    grant(asha, user=cast.volunteer_a)
    grant(asha, organisation=cast.partner)
    return {"asha": asha, "bilal": bilal}


def api_get(client, user, path, **params):
    client.force_login(user)
    return client.get(API + path, params)


def test_the_api_requires_a_signed_in_user(client, people):
    assert client.get(API + "/people", {"q": "Asha"}).status_code == 401
    assert client.get(f"{API}/people/{people['asha'].pk}").status_code == 401
    assert client.get(API + "/cases").status_code == 401


SEARCH = {
    "lead": (200, {"Asha Sharma", "Bilal Khan"}),
    "operator_a": (200, {"Asha Sharma"}),
    "operator_b": (200, {"Bilal Khan"}),
    "doctor_a": (200, {"Asha Sharma"}),
    "volunteer_a": (200, {"Asha Sharma"}),
    "partner_staff": (200, {"Asha Sharma"}),
    "rival_staff": (200, set()),
    "facility_staff": (200, set()),
    "analyst": (403, set()),
    "other_district_lead": (200, set()),
}


@pytest.mark.parametrize("who", ALL)
def test_people_search_returns_only_people_in_scope(client, cast, people, who):
    response = api_get(client, getattr(cast, who), "/people", q="sha kha")  # matches nobody by all words
    status, expected = SEARCH[who]
    assert response.status_code == status
    if status == 200:
        assert response.json() == []
        found = {p["name"] for p in api_get(client, getattr(cast, who), "/people", q="SRF-A-1").json()}
        found |= {p["name"] for p in api_get(client, getattr(cast, who), "/people", q="SRF-B-1").json()}
        assert found == expected


def test_a_too_short_query_is_a_422_naming_the_field(client, cast, people):
    response = api_get(client, cast.operator_a, "/people", q="a")
    assert response.status_code == 422
    assert response.json()["field"] == "q"


READ = {
    "lead": 200,
    "operator_a": 200,
    "operator_b": 404,
    "doctor_a": 200,
    "volunteer_a": 200,
    "partner_staff": 200,
    "rival_staff": 404,
    "facility_staff": 404,
    "analyst": 404,
    "other_district_lead": 404,
}


@pytest.mark.parametrize("who", ALL)
def test_reading_a_person_is_scoped_and_audited(client, cast, people, who):
    user = getattr(cast, who)
    asha = people["asha"]
    response = api_get(client, user, f"/people/{asha.pk}")
    assert response.status_code == READ[who]
    audited = AuditEntry.objects.filter(actor=user, action=AuditAction.READ, person_id=str(asha.pk)).count()
    assert audited == (1 if READ[who] == 200 else 0)
    # Invisible and non-existent answer exactly alike.
    missing = api_get(client, user, "/people/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    if READ[who] == 404:
        assert response.json() == missing.json()
    assert api_get(client, user, "/people/not-a-uuid").status_code == 404


@pytest.mark.parametrize("who", ["volunteer_a", "partner_staff"])
def test_masked_roles_never_get_a_full_number_from_the_api(client, cast, people, who):
    user = getattr(cast, who)
    record = api_get(client, user, f"/people/{people['asha'].pk}")
    search = api_get(client, user, "/people", q="Asha")
    for response in (record, search):
        assert response.status_code == 200
        assert_no_full_number(response.content.decode())
    assert record.json()["phone"] == "+91 98xxxxxx10"
    assert record.json()["address"] is None


def test_operators_get_the_real_number_and_address(client, cast, people):
    body = api_get(client, cast.operator_a, f"/people/{people['asha'].pk}").json()
    assert body["phone"] == PHONE_A
    assert body["address"]
    assert body["cases"][0]["srf_id"] == "SRF-A-1"
    assert body["cases"][0]["results"][0]["positive"] is True


def test_reads_over_quota_answer_429(client, cast, people, settings):
    settings.ICCC_PERSON_READS_PER_HOUR = 1
    assert api_get(client, cast.operator_a, f"/people/{people['asha'].pk}").status_code == 200
    refused = api_get(client, cast.operator_a, f"/people/{people['asha'].pk}")
    assert refused.status_code == 429
    assert "hour" in refused.json()["detail"]


CASES = {
    "lead": (200, {"SRF-A-1", "SRF-B-1"}),
    "operator_a": (200, {"SRF-A-1"}),
    "operator_b": (200, {"SRF-B-1"}),
    "doctor_a": (200, {"SRF-A-1"}),
    "volunteer_a": (200, {"SRF-A-1"}),
    "partner_staff": (200, {"SRF-A-1"}),
    "rival_staff": (200, set()),
    "facility_staff": (200, set()),
    "analyst": (403, set()),
    "other_district_lead": (200, set()),
}


@pytest.mark.parametrize("who", ALL)
def test_case_list_is_scoped(client, cast, people, who):
    response = api_get(client, getattr(cast, who), "/cases")
    status, expected = CASES[who]
    assert response.status_code == status
    if status == 200:
        assert {c["srf_id"] for c in response.json()["items"]} == expected


def test_case_list_filters_by_zone_and_status(client, cast, people):
    body = api_get(client, cast.lead, "/cases", zone="B", status="home_isolation").json()
    assert [c["srf_id"] for c in body["items"]] == ["SRF-B-1"]
    assert api_get(client, cast.lead, "/cases", status="recovered").json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "cured"}, "status"), ({"page": "0"}, "page"), ({"page": "9"}, "page")],
)
def test_bad_case_list_parameters_are_422_with_field_and_reason(client, cast, people, params, field):
    response = api_get(client, cast.lead, "/cases", **params)
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field
    assert body["reason"]


def test_a_non_numeric_page_is_a_422_not_a_500(client, cast, people):
    assert api_get(client, cast.lead, "/cases", page="two").status_code == 422


def test_case_list_pages_with_a_bounded_number_of_queries(client, cast, django_assert_max_num_queries):
    for i in range(120):
        make_person(cast.district, cast.zone_a, f"Person {i}", phone=f"+91981110{i:04d}")
    client.force_login(cast.operator_a)
    with django_assert_max_num_queries(8):
        first = client.get(API + "/cases").json()
    assert (first["count"], first["pages"], len(first["items"])) == (120, 3, 50)
    last = client.get(API + "/cases", {"page": 3}).json()
    assert len(last["items"]) == 20


@pytest.fixture
def batch(cast):
    return ImportBatch.objects.create(
        district=cast.district,
        file_name="lab.csv",
        sha256="x" * 64,
        uploaded_by=cast.operator_a,
        source="web",
        status=ImportStatus.RUNNING,
        received_at=timezone.now(),
        rows_total=200,
        rows_done=50,
    )


IMPORT = {
    "lead": 200,
    "operator_a": 200,
    "operator_b": 200,
    "doctor_a": 404,
    "volunteer_a": 404,
    "partner_staff": 404,
    "rival_staff": 404,
    "facility_staff": 404,
    "analyst": 404,
    "other_district_lead": 404,
}


@pytest.mark.parametrize("who", ALL)
def test_import_progress_is_visible_to_importers_of_the_district(client, cast, batch, who):
    response = api_get(client, getattr(cast, who), f"/imports/{batch.pk}")
    assert response.status_code == IMPORT[who]
    if response.status_code == 200:
        body = response.json()
        assert (body["progress_percent"], body["finished"]) == (25, False)
