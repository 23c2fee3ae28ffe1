"""`visible_to` for people and cases, over the cast of users in different zones and organisations."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from iccc.registry.models import Case, Person, PersonAccess


def _person(cast, zone, name):
    person = Person.objects.create(district=cast.district, name=name, name_key=name.lower(), zone=zone)
    Case.objects.create(
        district=cast.district,
        person=person,
        srf_id=f"SRF-{name}",
        result_date=date(2021, 4, 29),
        result_received_at=timezone.now(),
        zone=zone,
    )
    return person


@pytest.fixture
def people(cast):
    return {"a": _person(cast, cast.zone_a, "asha"), "b": _person(cast, cast.zone_b, "bilal")}


EXPECTED = {
    "lead": {"a", "b"},
    "operator_a": {"a"},
    "operator_b": {"b"},
    "doctor_a": {"a"},
    "volunteer_a": set(),
    "partner_staff": set(),
    "rival_staff": set(),
    "facility_staff": set(),
    "analyst": set(),
    "other_district_lead": set(),
}


@pytest.mark.parametrize(("who", "expected"), EXPECTED.items())
def test_people_and_cases_are_visible_only_within_role_and_zone(cast, people, who, expected):
    user = getattr(cast, who)
    names = {k for k, p in people.items() if Person.objects.visible_to(user).filter(pk=p.pk).exists()}
    assert names == expected
    case_names = {k for k, p in people.items() if Case.objects.visible_to(user).filter(person=p).exists()}
    assert case_names == expected


def test_an_operator_without_zones_sees_nobody_until_given_the_whole_district(cast, people):
    cast.operator_a.zones.clear()
    cast.operator_a._zone_ids = None
    assert not Person.objects.visible_to(cast.operator_a).exists()
    cast.operator_a.district_wide = True
    assert Person.objects.visible_to(cast.operator_a).count() == 2


def test_a_grant_to_an_organisation_shows_that_person_to_its_staff_only_until_it_expires(cast, people):
    grant = PersonAccess.objects.create(
        person=people["b"], organisation=cast.partner, reason="teleconsult", until=timezone.now() + timedelta(hours=1)
    )
    assert list(Person.objects.visible_to(cast.partner_staff)) == [people["b"]]
    assert not Person.objects.visible_to(cast.rival_staff).exists()
    grant.until = timezone.now() - timedelta(seconds=1)
    grant.save()
    assert not Person.objects.visible_to(cast.partner_staff).exists()


def test_a_grant_to_a_volunteer_shows_only_the_assigned_person(cast, people):
    PersonAccess.objects.create(
        person=people["a"], user=cast.volunteer_a, reason="field visit", until=timezone.now() + timedelta(hours=4)
    )
    assert list(Person.objects.visible_to(cast.volunteer_a)) == [people["a"]]


def test_a_deactivated_user_sees_nothing(cast, people):
    cast.lead.is_active = False
    assert not Person.objects.visible_to(cast.lead).exists()
