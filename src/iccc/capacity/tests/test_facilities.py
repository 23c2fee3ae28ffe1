"""Loading facilities and beds into the database; who sees and who may edit them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.utils import timezone

from iccc.capacity.models import BedCapacity, BedType, Facility, FacilityKind
from iccc.capacity.services import FacilityLoadSummary, demo_files, load_facilities
from iccc.core.models import AuditEntry
from iccc.geo.models import District
from iccc.testing.cast import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_zone_index() -> None:
    # Rolled-back tests reuse district ids; the geo index caches by id for a few seconds.
    from iccc.geo import index

    index.invalidate()


@pytest.fixture
def gurugram() -> District:
    from iccc.geo.services import load_demo_geography

    load_demo_geography("gurugram")
    return District.objects.get(code="gurugram")


def load_gurugram(district: District) -> FacilityLoadSummary:
    facilities, beds = demo_files("gurugram")
    return load_facilities(district, facilities_csv=facilities, beds_csv=beds)


def test_loading_gurugram_places_every_facility_in_a_zone_and_twice_changes_nothing(
    gurugram: District, django_assert_max_num_queries: Any
) -> None:
    first = load_gurugram(gurugram)
    assert first.facilities_created == Facility.objects.count() >= 60
    assert first.errors == []
    assert first.outside_district == ["SRU Multispecialty Hospital"]
    assert not Facility.objects.filter(zone__isnull=True).exists()
    # The 19 listed hospitals keep their names; portal-only ones are added with the portal's name.
    assert Facility.objects.filter(name="ESIC Hospital, Sector 9A").exists()
    assert Facility.objects.filter(name="Medanta the Medicity", kind=FacilityKind.HOSPITAL).exists()
    assert Facility.objects.filter(name="Red Fox", kind=FacilityKind.COVID_CARE_CENTRE).exists()
    audit_rows = AuditEntry.objects.count()
    beds = list(BedCapacity.objects.order_by("pk").values_list("pk", "total", "occupied", "updated_at"))

    with django_assert_max_num_queries(8):  # no query per facility when nothing changed
        second = load_gurugram(gurugram)

    assert not second.changed
    assert second.facilities_unchanged == first.facilities_created
    assert AuditEntry.objects.count() == audit_rows
    assert list(BedCapacity.objects.order_by("pk").values_list("pk", "total", "occupied", "updated_at")) == beds


def test_the_latest_bed_snapshot_is_kept_with_over_use(gurugram: District) -> None:
    load_gurugram(gurugram)
    paras = BedCapacity.objects.get(facility__name="Paras Hospital", bed_type=BedType.GENERAL)
    assert (paras.total, paras.occupied, paras.vacant, paras.over_capacity) == (66, 119, -53, 53)
    esic = BedCapacity.objects.get(facility__name="ESIC Hospital, Sector 9A", bed_type=BedType.GENERAL)
    assert esic.total == 72
    assert "ESI Hospital Gurugram" in esic.source
    assert paras.updated_at.isoformat() == "2021-05-01T06:03:51+00:00"
    totals = {t: sum(BedCapacity.objects.filter(bed_type=t).values_list("total", flat=True)) for t in BedType}
    # The README's sums for the Gurugram portal: ~2,270 general, ~500 ICU, ~220 ventilator beds.
    assert 2200 < totals[BedType.GENERAL] < 2350
    assert 480 < totals[BedType.ICU] < 520


def test_each_hospital_is_an_organisation_that_its_staff_are_scoped_by(gurugram: District) -> None:
    load_gurugram(gurugram)
    esic = Facility.objects.select_related("organisation").get(name="ESIC Hospital, Sector 9A")
    assert esic.organisation is not None
    assert esic.organisation.name == esic.name
    assert esic.organisation.kind == "hospital"


def test_changed_figures_are_updated_and_audited(cast: Cast, tmp_path: Path) -> None:
    facilities = tmp_path / "f.csv"
    facilities.write_text("name,kind,lat,lon\nCity Hospital,hospital,28.45,77.05\nFar Clinic,hospital,10.0,70.0\n")
    beds = tmp_path / "b.csv"
    head = (
        "snapshot_time,hospital,allocated_general,allocated_icu,allocated_ventilators,"
        "vacant_general,vacant_icu,vacant_ventilators,lat,lon\n"
    )
    beds.write_text(head + "2021-05-01T10:00:00+05:30,City Hospital,10,2,0,4,0,0,28.45,77.05\n")
    first = load_facilities(cast.district, facilities_csv=facilities, beds_csv=beds, actor=cast.lead)
    assert (first.facilities_created, first.beds_created, first.outside_district) == (1, 2, ["Far Clinic"])
    hospital = Facility.objects.get(name="City Hospital")
    assert hospital.zone == cast.zone_a

    beds.write_text(head + "2021-05-02T10:00:00+05:30,City Hospital,10,2,0,-3,0,0,28.45,77.05\n")
    second = load_facilities(cast.district, facilities_csv=facilities, beds_csv=beds, actor=cast.lead)

    # Both figures were re-reported on 2 May (ICU unchanged but now as of the newer report).
    assert (second.beds_updated, second.beds_unchanged) == (2, 0)
    general = BedCapacity.objects.get(facility=hospital, bed_type=BedType.GENERAL)
    assert (general.occupied, general.updated_at.date().isoformat()) == (13, "2021-05-02")
    icu = BedCapacity.objects.get(facility=hospital, bed_type=BedType.ICU)
    assert (icu.occupied, icu.updated_at.date().isoformat()) == (2, "2021-05-02")
    change = AuditEntry.objects.filter(
        target_type="capacity.bedcapacity", action="update", changes__has_key="occupied"
    ).get()
    assert change.changes["occupied"] == [6, 13]
    assert change.actor == cast.lead


def test_everyone_in_the_district_sees_facilities_but_only_their_staff_may_edit(cast: Cast) -> None:
    own = Facility.objects.create(
        district=cast.district,
        name="Civil Hospital",
        kind=FacilityKind.HOSPITAL,
        lat=28.45,
        lon=77.05,
        organisation=cast.hospital,
    )
    other = Facility.objects.create(district=cast.district, name="Other", kind=FacilityKind.LAB, lat=28.45, lon=77.15)
    for user in cast.users().values():
        expected = set() if user == cast.other_district_lead else {own, other}
        assert set(Facility.objects.visible_to(user)) == expected, user.username
    assert not Facility.objects.visible_to(AnonymousUser()).exists()  # type: ignore[arg-type]
    assert list(Facility.objects.editable_by(cast.facility_staff)) == [own]
    assert set(Facility.objects.editable_by(cast.lead)) == {own, other}
    for user in (cast.operator_a, cast.partner_staff, cast.analyst, cast.volunteer_a, cast.other_district_lead):
        assert not Facility.objects.editable_by(user).exists(), user.username


def test_bed_figures_go_stale_after_some_hours() -> None:
    now = timezone.now()
    bed = BedCapacity(total=10, occupied=4, updated_at=now - timedelta(hours=7))
    assert bed.is_stale(now)
    assert not bed.is_stale(now, max_age=timedelta(hours=8))
    assert not BedCapacity(total=10, occupied=4, updated_at=now).is_stale(now)


def test_the_command_explains_a_missing_district() -> None:
    with pytest.raises(CommandError, match="load-geography --demo gurugram"):
        call_command("load_facilities", "--demo", "gurugram")


def test_the_command_loads_the_demo_and_reports_json(gurugram: District, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("load_facilities", "--demo", "gurugram", "--json")
    assert '"facilities_created"' in capsys.readouterr().out
    assert Facility.objects.filter(district=gurugram).count() >= 60
