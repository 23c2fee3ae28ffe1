"""Registry pages over the cast: who gets 200 / 403 / 404, audited reads, masking, duplicates."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.registry.models import PossibleDuplicate
from iccc.registry.tests.factories import grant, make_household, make_person

# A full Indian mobile number in any common spelling (10 digits, optionally +91 and separators).
FULL_NUMBER = re.compile(
    r"(?<![\d\w])(?:\+?91[\s-]?)?[6-9]\d{4}[\s-]?\d{5}(?!\w)"
)  # word boundaries: a CSRF token may start with ten digits

PHONE_A = "+919876543210"
PHONE_B = "+919822233344"

ALL = [
    "lead",
    "operator_a",
    "operator_b",
    "doctor_a",
    "volunteer_a",
    "partner_staff",
    "rival_staff",
    "facility_staff",
    "analyst",
    "other_district_lead",
]


@pytest.fixture
def people(cast):
    home = make_household(cast.district, cast.zone_a)
    asha = make_person(
        cast.district, cast.zone_a, "Asha Sharma", phone=PHONE_A, srf_id="SRF-A-1", household=home, sex="F"
    )
    make_person(cast.district, cast.zone_a, "Rohit Sharma", phone="+919811100000", household=home)
    bilal = make_person(cast.district, cast.zone_b, "Bilal Khan", phone=PHONE_B, srf_id="SRF-B-1")
    # Work handed over: the volunteer calls Asha; the partner delivers to Asha too.
    grant(asha, user=cast.volunteer_a)
    grant(asha, organisation=cast.partner)
    return {"asha": asha, "bilal": bilal}


def get_as(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


def assert_no_full_number(html: str) -> None:
    found = FULL_NUMBER.findall(html)
    assert not found, f"full phone number on a masked page: {found}"
    for number in (PHONE_A, PHONE_B, "9876543210", "98765 43210", "9822233344"):
        assert number not in html


def test_anonymous_visitors_are_sent_to_sign_in(client, people):
    for url in [
        reverse("registry:search"),
        reverse("registry:person", args=[people["asha"].pk]),
        reverse("registry:duplicates"),
        reverse("registry:import"),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


SEARCH_STATUS = {
    "lead": 200,
    "operator_a": 200,
    "operator_b": 200,
    "doctor_a": 200,
    "volunteer_a": 200,
    "partner_staff": 200,
    "rival_staff": 200,
    "facility_staff": 200,
    "analyst": 403,
    "other_district_lead": 200,
}
# Who finds Asha (zone A) by name.
FINDS_ASHA = {"lead", "operator_a", "doctor_a", "volunteer_a", "partner_staff"}


@pytest.mark.parametrize("who", ALL)
def test_search_page_shows_only_people_in_scope(client, cast, people, who):
    response = get_as(client, getattr(cast, who), reverse("registry:search"), data={"q": "Asha"})
    assert response.status_code == SEARCH_STATUS[who]
    if response.status_code == 200:
        assert ("Asha Sharma" in response.content.decode()) == (who in FINDS_ASHA)


def test_live_search_answers_htmx_with_the_results_fragment_only(client, cast, people):
    response = get_as(client, cast.operator_a, reverse("registry:search"), data={"q": "sharma"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Asha Sharma" in html
    assert "Rohit Sharma" in html
    assert PHONE_A in html  # operators see real numbers
    assert "SRF-A-1" in html


def test_search_page_has_an_empty_state_and_a_no_result_message(client, cast, people):
    html = get_as(client, cast.operator_a, reverse("registry:search")).content.decode()
    assert 'class="empty"' in html
    html = get_as(client, cast.operator_a, reverse("registry:search"), data={"q": "Nobody Here"}).content.decode()
    assert "No patient you may see matches" in html


RECORD_STATUS = {
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
def test_patient_record_is_404_outside_scope_and_every_read_is_audited(client, cast, people, who):
    user = getattr(cast, who)
    asha = people["asha"]
    response = get_as(client, user, reverse("registry:person", args=[asha.pk]))
    assert response.status_code == RECORD_STATUS[who]
    reads = AuditEntry.objects.filter(action=AuditAction.READ, actor=user, person_id=str(asha.pk))
    if response.status_code == 200:
        assert reads.count() == 1
        assert "your access to this record is recorded" in response.content.decode().lower()
    else:
        assert not reads.exists()
        missing = get_as(client, user, reverse("registry:person", args=["00000000-0000-0000-0000-000000000000"]))
        assert missing.status_code == 404


@pytest.mark.parametrize("who", ["volunteer_a", "partner_staff"])
def test_masked_roles_never_see_a_full_number_on_any_page(client, cast, people, who):
    user = getattr(cast, who)
    pages = [
        get_as(client, user, reverse("registry:person", args=[people["asha"].pk])),
        get_as(client, user, reverse("registry:search"), data={"q": "Asha"}),
        # By full number (the user typed it, so only the fragment without the echoed query is scanned).
        get_as(client, user, reverse("registry:search"), data={"q": "98765 43210"}, HTTP_HX_REQUEST="true"),
        get_as(client, user, reverse("registry:search"), data={"q": "Sharma"}, HTTP_HX_REQUEST="true"),
    ]
    for response in pages:
        assert response.status_code == 200
        assert_no_full_number(response.content.decode())
    assert "+91 98xxxxxx10" in pages[0].content.decode()
    assert "Asha Sharma" in pages[2].content.decode()


def test_the_record_shows_cases_results_household_and_placement(client, cast, people):
    html = get_as(client, cast.operator_a, reverse("registry:person", args=[people["asha"].pk])).content.decode()
    assert "SRF-A-1" in html
    assert "Positive" in html
    assert "Rohit Sharma" in html  # household member in the operator's zone
    assert "From the address text" in html
    assert "H.No 12, Sector 45" in html
    assert PHONE_A in html


def test_masked_roles_do_not_see_the_address(client, cast, people):
    html = get_as(client, cast.volunteer_a, reverse("registry:person", args=[people["asha"].pk])).content.decode()
    assert "H.No 12" not in html
    assert "Rohit Sharma" not in html  # the household member was not handed to the volunteer


def test_the_record_page_is_in_hindi_when_the_user_chooses_hindi(client, cast, people):
    client.force_login(cast.operator_a)
    client.post(reverse("set_language"), {"language": "hi", "next": "/"})
    html = client.get(reverse("registry:person", args=[people["asha"].pk])).content.decode()
    assert 'lang="hi"' in html
    assert "दर्ज" in html  # "your access is recorded" in Hindi


def test_opening_records_beyond_the_quota_shows_a_clear_refusal(client, cast, people, settings):
    settings.ICCC_PERSON_READS_PER_HOUR = 2
    url = reverse("registry:person", args=[people["asha"].pk])
    client.force_login(cast.operator_a)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    refused = client.get(url)
    assert refused.status_code == 429
    assert "in the last hour" in refused.content.decode()
    assert AuditEntry.objects.filter(actor=cast.operator_a, changes__refused="read quota exceeded").count() == 1


# ---------------------------------------------------------------- duplicates


@pytest.fixture
def pair(cast, people):
    twin = make_person(cast.district, cast.zone_a, "Aasha Sharma", phone=PHONE_A, sex="F", age=41)
    return PossibleDuplicate.objects.create(
        district=cast.district, person=people["asha"], candidate=twin, score=0.87, reasons=["same phone", "age ±2"]
    )


DUPLICATE_QUEUE_STATUS = {
    "lead": 200,
    "operator_a": 200,
    "operator_b": 200,
    "doctor_a": 403,
    "volunteer_a": 403,
    "partner_staff": 403,
    "rival_staff": 403,
    "facility_staff": 403,
    "analyst": 403,
    "other_district_lead": 200,
}
SEES_PAIR = {"lead", "operator_a"}


@pytest.mark.parametrize("who", ALL)
def test_duplicate_queue_is_for_leads_and_operators_of_the_zone(client, cast, pair, who):
    user = getattr(cast, who)
    response = get_as(client, user, reverse("registry:duplicates"))
    assert response.status_code == DUPLICATE_QUEUE_STATUS[who]
    detail = get_as(client, user, reverse("registry:duplicate", args=[pair.pk]))
    if who in SEES_PAIR:
        assert "Aasha Sharma" in response.content.decode()
        assert detail.status_code == 200
        # Both sides of the comparison are reads of personal data: both audited.
        audited = set(
            AuditEntry.objects.filter(actor=user, action=AuditAction.READ).values_list("person_id", flat=True)
        )
        assert {str(pair.person_id), str(pair.candidate_id)} <= audited
    else:
        assert detail.status_code in (403, 404)
        if response.status_code == 200:
            assert "Aasha Sharma" not in response.content.decode()


def test_a_duplicate_decision_needs_a_reason(client, cast, pair):
    client.force_login(cast.operator_a)
    response = client.post(reverse("registry:duplicate", args=[pair.pk]), {"decision": "distinct", "reason": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    pair.refresh_from_db()
    assert pair.status == "pending"


def test_the_record_warns_about_a_possible_duplicate(client, cast, pair):
    html = get_as(client, cast.lead, reverse("registry:person", args=[pair.person_id])).content.decode()
    assert 'id="duplicate-warnings"' in html
    assert "Aasha Sharma" in html


def test_search_page_query_count_is_bounded(client, cast, django_assert_max_num_queries):
    for i in range(25):
        make_person(cast.district, cast.zone_a, f"Pooja Yadav {i}", phone=f"+91982220{i:04d}")
    client.force_login(cast.operator_a)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("registry:search"), {"q": "Pooja"}, HTTP_HX_REQUEST="true")
    assert response.content.decode().count("Pooja Yadav") == 25


def test_merging_from_the_review_page_keeps_the_chosen_record(client, cast, pair):
    client.force_login(cast.operator_a)
    response = client.post(
        reverse("registry:duplicate", args=[pair.pk]),
        {"decision": "merge", "keep": "person", "reason": "called: same woman, name misspelt by the lab"},
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == ("merged", cast.operator_a)
    twin = pair.candidate
    twin.refresh_from_db()
    assert twin.merged_into_id == pair.person_id
    # The merged record no longer appears in search; the kept one does.
    html = client.get(reverse("registry:search"), {"q": "sharma"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Asha Sharma" in html
    assert "Aasha Sharma" not in html
    assert 'id="merged-notice"' in client.get(reverse("registry:person", args=[twin.pk])).content.decode()


def test_marking_a_pair_distinct_takes_it_off_the_queue(client, cast, pair):
    client.force_login(cast.lead)
    response = client.post(
        reverse("registry:duplicate", args=[pair.pk]),
        {"decision": "distinct", "reason": "mother and daughter sharing one phone"},
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == "distinct"
    assert "Aasha Sharma" not in client.get(reverse("registry:duplicates")).content.decode()
    assert client.get(reverse("registry:duplicate", args=[pair.pk])).status_code == 404


def test_an_operator_of_another_zone_cannot_decide_a_pair(client, cast, pair):
    client.force_login(cast.operator_b)
    response = client.post(
        reverse("registry:duplicate", args=[pair.pk]), {"decision": "distinct", "reason": "not mine to say"}
    )
    assert response.status_code == 404
    pair.refresh_from_db()
    assert pair.status == "pending"
