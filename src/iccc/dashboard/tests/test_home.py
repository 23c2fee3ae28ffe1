import re

import pytest
from django.test import Client

from iccc.accounts.models import User
from iccc.dashboard.tests.factories import grant, make_case
from iccc.registry.models import CaseStatus, ImportBatch, PossibleDuplicate
from iccc.testing.cast import Cast


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _stat(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1)


@pytest.fixture
def cases(cast: Cast) -> list:
    return [
        make_case(cast.zone_a, name="Ramesh Kumar", phone="+919811111111"),
        make_case(cast.zone_a, name="Sunita Yadav", status=CaseStatus.IN_FACILITY, received_hours_ago=30),
        make_case(cast.zone_b, name="Mohd Salim", phone="+919822222222"),
        make_case(cast.zone_b, name="Old Recovered", status=CaseStatus.RECOVERED, received_hours_ago=24 * 20),
        make_case(None, district=cast.district, name="Unplaced Person"),
    ]


def test_a_command_lead_sees_the_district_overview_by_zone(
    cast: Cast, cases: list, django_assert_max_num_queries
) -> None:
    ImportBatch.objects.create(
        district=cast.district, file_name="icmr_0600.csv", received_at=cases[0].result_received_at
    )
    PossibleDuplicate.objects.create(
        district=cast.district, person=cases[0].person, candidate=cases[2].person, score=0.9
    )
    client = _client(cast.lead)
    with django_assert_max_num_queries(10):
        html = client.get("/").content.decode()
    assert "District overview" in html
    assert _stat(html, "stat-active") == "4"
    assert "A West" in html
    assert "B East" in html
    assert "Not placed in a zone" in html
    assert "icmr_0600.csv" in html
    assert "Ramesh Kumar" not in html  # the overview has figures, not names


def test_the_overview_query_count_does_not_grow_with_cases_or_zones(cast: Cast, django_assert_max_num_queries) -> None:
    for i in range(30):
        make_case(cast.zone_a if i % 2 else cast.zone_b, name=f"Person {i}")
    lead, operator = _client(cast.lead), _client(cast.operator_a)
    with django_assert_max_num_queries(10):
        lead.get("/")
    with django_assert_max_num_queries(10):
        operator.get("/")


def test_another_districts_lead_sees_none_of_these_cases(cast: Cast, cases: list) -> None:
    html = _client(cast.other_district_lead).get("/").content.decode()
    assert _stat(html, "stat-active") == "0"


def test_an_operator_sees_new_cases_in_their_zone_only_longest_waiting_first(cast: Cast, cases: list) -> None:
    html = _client(cast.operator_a).get("/").content.decode()
    assert "New cases awaiting contact" in html
    assert "Ramesh Kumar" in html
    assert "+919811111111" in html  # operators call people: full number
    assert "Mohd Salim" not in html  # zone B
    assert "Unplaced Person" not in html
    assert "Sunita Yadav" not in html  # in a facility, not waiting for a call
    assert 'name="q"' in html  # search box


def test_an_operator_without_zones_is_told_why_the_list_is_empty(cast: Cast, cases: list) -> None:
    cast.operator_b.zones.clear()
    html = _client(cast.operator_b).get("/").content.decode()
    assert "No zone is assigned to your account" in html
    assert "Mohd Salim" not in html


def test_a_volunteer_sees_only_people_assigned_to_them_with_masked_phones(cast: Cast, cases: list) -> None:
    client = _client(cast.volunteer_a)
    assert "Nothing assigned to you right now" in client.get("/").content.decode()
    grant(cases[0].person, user=cast.volunteer_a)
    html = client.get("/").content.decode()
    assert "Ramesh Kumar" in html
    assert "••••••1111" in html
    assert "+919811111111" not in html
    assert "Mohd Salim" not in html
    assert "lead" in html  # whom to call


def test_partner_staff_see_their_organisation_colleagues_and_referrals_only(cast: Cast, cases: list) -> None:
    colleague = User.objects.create_user(
        "partner_2",
        password="x" * 12,
        role="partner_staff",
        district=cast.district,
        organisation=cast.partner,
        first_name="Priya",
    )
    grant(cases[2].person, organisation=cast.partner)
    html = _client(cast.partner_staff).get("/").content.decode()
    assert "MyUpchar" in html
    assert "Priya" in html
    assert "Mohd Salim" in html
    assert "••••••2222" in html
    rival = _client(cast.rival_staff).get("/").content.decode()
    assert "Meddo" in rival
    assert "Mohd Salim" not in rival
    assert "Priya" not in rival
    assert "Nothing has been handed to your organisation yet" in rival
    assert colleague.pk


def test_facility_staff_get_an_explanation_not_a_placeholder(cast: Cast) -> None:
    html = _client(cast.facility_staff).get("/").content.decode()
    assert "Civil Hospital" in html
    assert "refers a patient for admission" in html


def test_an_analyst_sees_aggregates_with_small_counts_suppressed_and_no_names(
    cast: Cast, django_assert_max_num_queries
) -> None:
    for i in range(6):
        make_case(cast.zone_a, name=f"Zone A person {i}")
    make_case(cast.zone_b, name="Lonely Case")
    client = _client(cast.analyst)
    with django_assert_max_num_queries(10):
        html = client.get("/").content.decode()
    assert "District figures" in html
    assert "Lonely Case" not in html
    assert "Zone A person" not in html
    assert "&lt;5" in html
    assert ">6<" in html


def test_times_are_labelled_as_india_standard_time(cast: Cast, cases: list) -> None:
    html = _client(cast.operator_a).get("/").content.decode()
    assert "IST" in html


def test_new_today_and_the_daily_curve_follow_india_standard_time_midnight(cast: Cast) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from iccc.dashboard import queries
    from iccc.registry.models import Case

    midnight = queries.start_of_local_day()
    now = timezone.now()
    just_after = make_case(cast.zone_a, name="After Midnight")
    just_before = make_case(cast.zone_a, name="Before Midnight")
    Case.objects.filter(pk=just_after.pk).update(result_received_at=min(midnight + timedelta(seconds=1), now))
    Case.objects.filter(pk=just_before.pk).update(result_received_at=midnight - timedelta(seconds=1))
    series = dict(queries.daily_new_cases(Case.objects.all()))
    today = queries.local_today()
    assert series[today] == 1
    assert series[today - timedelta(days=1)] == 1
    html = _client(cast.lead).get("/").content.decode()
    assert _stat(html, "stat-today") == "1"
