"""Read services: search by name/phone/SRF ID, audited reads, masking, read quota."""

from __future__ import annotations

import pytest
from django.http import Http404

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.registry import lookup
from iccc.registry.tests.factories import grant, make_household, make_person

PHONE = "+919876543210"


@pytest.fixture
def people(cast):
    return {
        "irfan": make_person(cast.district, cast.zone_a, "Mohammad Irfan", phone=PHONE, srf_id="GGN-SRF-0001"),
        "ravi": make_person(cast.district, cast.zone_a, "Ravi Kumar", phone="+919811122233"),
        "bilal": make_person(cast.district, cast.zone_b, "Bilal Khan", phone="+919822233344", srf_id="0660101234567"),
    }


def names(result):
    return {r.person.name for r in result.results}


def test_mask_phone_keeps_country_code_and_two_digits_each_end():
    assert lookup.mask_phone("+919876543210") == "+91 98xxxxxx10"
    assert lookup.mask_phone("") == ""
    assert lookup.is_masked_phone(lookup.mask_phone(PHONE))
    assert not lookup.is_masked_phone(PHONE)


@pytest.mark.parametrize("q", ["Mohd Irfan", "mohammed irfan", "IRFAN", "irfan mohd", "Moham"])
def test_search_finds_a_name_written_differently(cast, people, q):
    assert names(lookup.search_people(cast.operator_a, q)) == {"Mohammad Irfan"}


def test_search_tolerates_transliteration_variants(cast, people):
    assert names(lookup.search_people(cast.operator_a, "Ravi Kumaar")) == {"Ravi Kumar"}


@pytest.mark.parametrize("q", ["9876543210", "098765 43210", "+91-98765-43210", "+91 98765 43210", "919876543210"])
def test_search_finds_a_phone_in_any_indian_format(cast, people, q):
    assert names(lookup.search_people(cast.operator_a, q)) == {"Mohammad Irfan"}


def test_search_by_srf_id_is_exact_and_case_insensitive(cast, people):
    assert names(lookup.search_people(cast.operator_a, "ggn-srf-0001")) == {"Mohammad Irfan"}
    assert names(lookup.search_people(cast.operator_a, "GGN-SRF-000")) == set()
    assert names(lookup.search_people(cast.lead, "0660101234567")) == {"Bilal Khan"}


def test_search_never_returns_people_outside_the_users_scope(cast, people):
    assert names(lookup.search_people(cast.operator_b, "Irfan")) == set()
    assert names(lookup.search_people(cast.operator_b, "0660101234567")) == {"Bilal Khan"}
    assert names(lookup.search_people(cast.other_district_lead, "Irfan")) == set()
    assert names(lookup.search_people(cast.volunteer_a, "Irfan")) == set()
    assert names(lookup.search_people(cast.analyst, "Irfan")) == set()


def test_last_four_digits_search_only_for_roles_that_see_personal_data(cast, people):
    assert names(lookup.search_people(cast.operator_a, "3210")) == {"Mohammad Irfan"}
    grant(people["irfan"], user=cast.volunteer_a)
    assert names(lookup.search_people(cast.volunteer_a, "3210")) == set()
    assert names(lookup.search_people(cast.volunteer_a, "Irfan")) == {"Mohammad Irfan"}


def test_volunteers_see_search_results_with_masked_phones(cast, people):
    grant(people["irfan"], user=cast.volunteer_a)
    [row] = lookup.search_people(cast.volunteer_a, "Irfan").results
    assert row.phone == "+91 98xxxxxx10"
    [row] = lookup.search_people(cast.operator_a, "Irfan").results
    assert row.phone == PHONE


def test_a_search_is_audited_without_the_full_phone_number(cast, people):
    lookup.search_people(cast.operator_a, "98765 43210")
    entry = AuditEntry.objects.get(action=AuditAction.SEARCH)
    assert entry.actor == cast.operator_a
    stored = " ".join([entry.target_id, entry.target_label, str(entry.changes), entry.reason])
    assert "43210" not in stored
    assert "9876543210" not in stored
    assert entry.changes["results"] == 1


def test_a_too_short_query_asks_for_more_and_searches_nothing(cast, people):
    result = lookup.search_people(cast.operator_a, "r")
    assert result.too_short
    assert not AuditEntry.objects.filter(action=AuditAction.SEARCH).exists()


def test_search_runs_a_bounded_number_of_queries(cast, django_assert_max_num_queries):
    for i in range(30):
        make_person(cast.district, cast.zone_a, f"Sunita Devi {chr(65 + i % 26)}{i}", phone=f"+91981110{i:04d}")
    with django_assert_max_num_queries(8):
        result = lookup.search_people(cast.operator_a, "Sunita")
    assert len(result.results) == 30


def test_every_read_is_audited_with_the_person(cast, people):
    person = lookup.read_person(cast.operator_a, people["irfan"].pk, reason="callback")
    assert person == people["irfan"]
    entry = AuditEntry.objects.get(action=AuditAction.READ)
    assert (entry.actor, entry.person_id, entry.reason) == (cast.operator_a, str(person.pk), "callback")


@pytest.mark.parametrize("who", ["operator_b", "volunteer_a", "partner_staff", "analyst", "other_district_lead"])
def test_reading_an_invisible_person_is_the_same_404_as_a_missing_one(cast, people, who):
    user = getattr(cast, who)
    with pytest.raises(Http404) as invisible:
        lookup.read_person(user, people["irfan"].pk)
    with pytest.raises(Http404) as missing:
        lookup.read_person(user, "00000000-0000-0000-0000-000000000000")
    assert str(invisible.value) == str(missing.value)
    assert not AuditEntry.objects.filter(action=AuditAction.READ).exclude(person_id="").exists()


def test_a_granted_partner_may_read_only_that_person(cast, people):
    grant(people["ravi"], organisation=cast.partner)
    assert lookup.read_person(cast.partner_staff, people["ravi"].pk) == people["ravi"]
    with pytest.raises(Http404):
        lookup.read_person(cast.rival_staff, people["ravi"].pk)


def test_reads_beyond_the_hourly_quota_are_refused_and_audited(cast, people, settings):
    settings.ICCC_PERSON_READS_PER_HOUR = 3
    for _ in range(3):
        lookup.read_person(cast.operator_a, people["irfan"].pk)
    with pytest.raises(lookup.ReadQuotaExceeded) as refused:
        lookup.read_person(cast.operator_a, people["ravi"].pk)
    assert "3" in str(refused.value)
    refusal = AuditEntry.objects.filter(action=AuditAction.READ, person_id="").get()
    assert refusal.changes["refused"] == "read quota exceeded"
    # Another user's quota is untouched.
    assert lookup.read_person(cast.lead, people["ravi"].pk) == people["ravi"]


def test_the_record_shows_only_household_members_the_user_may_see(cast):
    home = make_household(cast.district, cast.zone_a)
    head = make_person(cast.district, cast.zone_a, "Sunita Devi", household=home)
    make_person(cast.district, cast.zone_a, "Asha Devi", household=home)
    make_person(cast.district, cast.zone_b, "Geeta Devi", household=home)  # registered in the other zone
    record = lookup.person_record(cast.operator_a, head.pk)
    assert {m.name for m in record.household} == {"Asha Devi"}
    record = lookup.person_record(cast.lead, head.pk)
    assert {m.name for m in record.household} == {"Asha Devi", "Geeta Devi"}
