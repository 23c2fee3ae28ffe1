"""Dedup: same SRF = same case; same phone + similar name + age ±2 = same person; the rest goes to review."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.registry import services
from iccc.registry.models import Case, Household, MatchStatus, Person, PossibleDuplicate
from iccc.registry.tests.test_import_support import (
    RECEIVED,
    row,
)


def run(district: Any, *rows: dict[str, str]) -> services.ImportSummary:
    return services.import_records(list(rows), district=district, received_at=RECEIVED)


def test_a_resent_srf_id_is_a_duplicate_that_only_fills_blanks(placed: Any) -> None:
    run(placed.district, row("S1", **{"Lab Name": "", "Sample Collection Date": ""}))
    again = run(
        placed.district,
        row("S1", "Ravee Kumaar", **{"Lab Name": "SRL", "Sample Collection Date": "26/04/2021", "Age": "80"}),
    )
    assert (again.duplicates, again.new_cases, again.new_people) == (1, 0, 0)
    case = Case.objects.get()
    assert case.lab_name == "SRL"
    assert str(case.sample_date) == "2021-04-26"
    assert case.person.name == "Ravi Kumar"
    assert case.person.age == 34
    third = run(placed.district, row("S1", **{"Lab Name": "Another lab"}))
    assert third.duplicates == 1
    assert Case.objects.get().lab_name == "SRL"


def test_same_phone_similar_name_and_age_is_a_new_case_for_the_known_person(placed: Any) -> None:
    run(placed.district, row("P1", "Mohd Irfan", Age="40"))
    summary = run(placed.district, row("P2", "Mohammad Irfan", Age="41", **{"Mobile Number": "+91 98765 43210"}))
    assert (summary.new_cases, summary.updated, summary.new_people, summary.possible_duplicates) == (1, 1, 0, 0)
    person = Person.objects.get()
    assert sorted(person.cases.values_list("srf_id", flat=True)) == ["P1", "P2"]


def test_same_phone_within_one_file_also_matches(placed: Any) -> None:
    summary = run(placed.district, row("F1", "Ravi Kumar"), row("F2", "Kumar Ravi", Age="35"))
    assert (summary.new_people, summary.updated) == (1, 1)


def test_same_phone_and_name_but_a_different_age_goes_to_review_never_merged(placed: Any) -> None:
    run(placed.district, row("U1", "Sunita Devi", Age="30", Gender="F"))
    summary = run(placed.district, row("U2", "Sunita Devi", Age="62", Gender="F"))
    assert (summary.new_people, summary.updated, summary.possible_duplicates) == (1, 0, 1)
    assert Person.objects.count() == 2
    pair = PossibleDuplicate.objects.get()
    assert pair.status == MatchStatus.PENDING
    assert pair.score >= 0.85
    assert Case.objects.get(srf_id="U2").person_id == pair.person_id
    assert Case.objects.get(srf_id="U1").person_id == pair.candidate_id
    assert any("ages differ" in r for r in pair.reasons)


def test_a_missing_age_is_uncertain_too(placed: Any) -> None:
    run(placed.district, row("M1", "Ravi Kumar", Age=""))
    summary = run(placed.district, row("M2", "Ravi Kumar", Age="34"))
    assert summary.possible_duplicates == 1
    assert summary.updated == 0


def test_a_family_sharing_one_phone_are_different_people_without_review(placed: Any) -> None:
    summary = run(placed.district, row("H1", "Ravi Kumar"), row("H2", "Sunita Devi", Age="31", Gender="F"))
    assert (summary.new_people, summary.possible_duplicates) == (2, 0)


def test_people_at_one_address_share_a_household_and_vague_addresses_do_not(placed: Any) -> None:
    run(
        placed.district,
        row("A1", "Ravi Kumar", Address="H.No 12, Sector 45, Gurugram"),
        row("A2", "Sunita Devi", Address="House No. 12,  sector-45 Gurgaon", **{"Mobile Number": "9812345678"}),
        row("A3", "Asha Rani", Address="Sector 45", **{"Mobile Number": "9812345679"}),
        row("A4", "Mohd Salim", Address="Sector 45, Gurugram", **{"Mobile Number": "9812345670"}),
    )
    ravi, sunita = Person.objects.get(name="Ravi Kumar"), Person.objects.get(name="Sunita Devi")
    assert ravi.household_id is not None
    assert ravi.household_id == sunita.household_id
    assert Person.objects.get(name="Asha Rani").household_id is None
    assert Person.objects.get(name="Mohd Salim").household_id is None
    assert Household.objects.count() == 1
    run(placed.district, row("A5", "Kavita", Address="H No 12 Sector 45", **{"Mobile Number": "9812345671"}))
    assert Person.objects.get(name="Kavita").household_id == ravi.household_id


def _pair(placed: Any) -> PossibleDuplicate:
    run(placed.district, row("D1", "Sunita Devi", Age="30", Gender="F", Address=""))
    run(placed.district, row("D2", "Sunita Devi", Age="62", Gender="F"))
    return PossibleDuplicate.objects.get()


def test_merging_moves_cases_keeps_both_records_and_is_audited_with_the_reason(placed: Any) -> None:
    pair = _pair(placed)
    keep = pair.candidate
    kept = services.merge_people(pair, keep=keep, actor=placed.lead, reason="same woman, age mistyped by the lab")
    other = Person.objects.get(pk=pair.person_id)
    assert other.merged_into_id == kept.pk
    assert set(Case.objects.values_list("person_id", flat=True)) == {kept.pk}
    assert kept.address  # a blank filled from the other record
    pair.refresh_from_db()
    assert pair.status == MatchStatus.MERGED
    assert pair.decided_by == placed.lead
    entries = AuditEntry.objects.filter(action=AuditAction.UPDATE, target_type="registry.person")
    assert entries.count() == 2
    assert all(e.reason == "same woman, age mistyped by the lab" for e in entries)
    with pytest.raises(ValidationError):
        services.merge_people(pair, keep=keep, actor=placed.lead, reason="again")


def test_marking_distinct_is_audited_and_needs_a_reason(placed: Any) -> None:
    pair = _pair(placed)
    with pytest.raises(ValidationError):
        services.mark_distinct(pair, actor=placed.lead, reason="  ")
    services.mark_distinct(pair, actor=placed.lead, reason="mother and daughter share the phone")
    pair.refresh_from_db()
    assert pair.status == MatchStatus.DISTINCT
    assert AuditEntry.objects.get(action=AuditAction.UPDATE).reason == "mother and daughter share the phone"
    assert Person.objects.count() == 2


def test_only_reviewers_who_see_both_records_may_decide(placed: Any) -> None:
    pair = _pair(placed)
    for user in (placed.volunteer_a, placed.analyst, placed.other_district_lead, placed.partner_staff):
        with pytest.raises(PermissionDenied):
            services.mark_distinct(pair, actor=user, reason="no")
    assert PossibleDuplicate.objects.get().status == MatchStatus.PENDING


def test_case_status_changes_close_and_reopen_cases_with_an_audited_reason(placed: Any) -> None:
    from iccc.registry.models import CaseStatus

    run(placed.district, row("CS1"))
    case = Case.objects.get()
    services.change_case_status(placed.lead, case, CaseStatus.RECOVERED, "14 days, no symptoms")
    case.refresh_from_db()
    assert case.status == CaseStatus.RECOVERED
    assert case.closed_on is not None
    services.change_case_status(placed.lead, case, CaseStatus.IN_FACILITY, "admitted after all")
    case.refresh_from_db()
    assert case.closed_on is None
    assert AuditEntry.objects.filter(target_type="registry.case", reason="14 days, no symptoms").exists()
    with pytest.raises(ValidationError):
        services.change_case_status(placed.lead, case, "cured", "no such status")


def test_a_wrong_number_is_kept_but_marked_unusable(placed: Any) -> None:
    run(placed.district, row("WN1"))
    person = Person.objects.get()
    services.mark_phone_unusable(placed.operator_a, person, reason="wrong number")
    person.refresh_from_db()
    assert person.phone == "+919876543210"
    assert person.phone_kind == "none"
    assert AuditEntry.objects.get(target_type="registry.person").reason == "wrong number"
