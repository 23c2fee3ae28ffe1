"""Service offerings: hours on the district clock, zone coverage, variants, who may change them."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from iccc.capacity.models import BedType
from iccc.core.models import AuditEntry
from iccc.network import services
from iccc.network.models import VARIANTS, ServiceKind, ServiceOffering, variant_values, window_open

IST = ZoneInfo("Asia/Kolkata")
MONDAY_11 = datetime(2021, 5, 3, 11, 0, tzinfo=IST)


def _unsaved(**kw: Any) -> ServiceOffering:
    return ServiceOffering(service=ServiceKind.FOOD, **kw)


def test_open_24x7_every_day_is_always_open() -> None:
    o = _unsaved()
    assert o.is_open_at(MONDAY_11)
    assert o.is_open_at(MONDAY_11.replace(hour=3))


def test_hours_are_judged_on_the_district_clock_not_utc() -> None:
    o = _unsaved(open_24x7=False, opens_at=time(9), closes_at=time(17))
    assert o.is_open_at(datetime(2021, 5, 3, 3, 45, tzinfo=ZoneInfo("UTC")))  # 09:15 IST
    assert not o.is_open_at(datetime(2021, 5, 3, 3, 15, tzinfo=ZoneInfo("UTC")))  # 08:45 IST
    assert not o.is_open_at(MONDAY_11.replace(hour=17))  # closing time is closed


def test_days_of_week_limit_the_hours() -> None:
    weekends = _unsaved(days=[5, 6])
    assert not weekends.is_open_at(MONDAY_11)
    assert weekends.is_open_at(datetime(2021, 5, 8, 11, 0, tzinfo=IST))  # Saturday


def test_an_overnight_window_belongs_to_the_day_it_opened() -> None:
    saturday_night = [5]
    assert window_open(5, time(22), time(20), time(8), saturday_night)
    assert window_open(6, time(3), time(20), time(8), saturday_night)  # Sunday 03:00: still Saturday's shift
    assert not window_open(6, time(21), time(20), time(8), saturday_night)
    assert not window_open(5, time(3), time(20), time(8), saturday_night)  # Friday's shift, not worked


def test_coverage_no_zones_is_the_whole_district(cast: Any) -> None:
    everywhere = services.create_offering(cast.lead, cast.partner, "food")
    only_b = services.create_offering(cast.lead, cast.partner, "food", zones=[cast.zone_b])
    assert everywhere.covers(cast.zone_a.pk)
    assert everywhere.covers(None)
    assert only_b.covers(cast.zone_b.pk)
    assert not only_b.covers(cast.zone_a.pk)
    assert not only_b.covers(None)


def test_bed_variants_are_the_capacity_bed_types() -> None:
    assert set(variant_values(ServiceKind.HOSPITAL_BED)) == set(BedType.values)
    assert all(kind in ServiceKind.values for kind in VARIANTS)


def test_bad_offerings_are_refused_with_the_field_named(cast: Any) -> None:
    with pytest.raises(ValidationError) as err:
        services.create_offering(cast.lead, cast.hospital, "hospital_bed", variants=["icu", "suite"])
    assert "variants" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.create_offering(cast.lead, cast.partner, "food", open_24x7=False, opens_at=time(9))
    assert "closes_at" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.create_offering(cast.lead, cast.partner, "food", contact_phone="12345")
    assert "contact_phone" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.create_offering(cast.lead, cast.partner, "food", zones=[_other_zone(cast)])
    assert "zones" in err.value.message_dict
    assert not ServiceOffering.objects.exists()


def _other_zone(cast: Any) -> Any:
    from iccc.geo.models import Zone

    return Zone.objects.exclude(district=cast.district).first()


def test_a_partner_changes_its_own_hours_and_capacity_but_not_its_service(cast: Any) -> None:
    o = services.create_offering(cast.lead, cast.partner, "oxygen", contact_phone="98100 12345")
    assert o.contact_phone == "+919810012345"
    services.update_offering(cast.partner_staff, o, daily_capacity=35, reason="second refill line")
    o.refresh_from_db()
    assert o.daily_capacity == 35
    with pytest.raises(ValidationError) as err:
        services.update_offering(cast.partner_staff, o, service="ambulance")
    assert "service" in err.value.message_dict
    with pytest.raises(PermissionDenied):
        services.update_offering(cast.partner_staff, o, zones=[cast.zone_a])
    with pytest.raises(PermissionDenied):
        services.update_offering(cast.rival_staff, o, daily_capacity=1)
    with pytest.raises(PermissionDenied):
        services.create_offering(cast.partner_staff, cast.partner, "food")


def test_every_change_is_audited(cast: Any) -> None:
    o = services.create_offering(cast.lead, cast.partner, "food", daily_capacity=10)
    services.set_offering_active(cast.partner_staff, o, False, reason="kitchen staff ill")
    rows = AuditEntry.objects.about("network.serviceoffering", str(o.pk)).order_by("id")
    assert [r.action for r in rows] == ["create", "update"]
    assert rows[1].changes["is_active"] == [True, False]
    assert rows[1].reason == "kitchen staff ill"
    with pytest.raises(ValidationError):
        services.set_offering_active(cast.partner_staff, o, False)


def test_offerings_visible_to_the_cast(cast: Any) -> None:
    mine = services.create_offering(cast.lead, cast.partner, "food")
    rival = services.create_offering(cast.lead, cast.rival_partner, "food")
    expected = {
        "lead": {mine, rival}, "operator_a": {mine, rival}, "operator_b": {mine, rival}, "doctor_a": {mine, rival},
        "partner_staff": {mine}, "rival_staff": {rival}, "facility_staff": set(), "volunteer_a": set(),
        "analyst": set(), "other_district_lead": set(),
    }  # fmt: skip
    for name, user in cast.users().items():
        assert set(ServiceOffering.objects.visible_to(user)) == expected[name], name


def test_hours_label_reads_well() -> None:
    assert _unsaved().hours_label() == "24x7"
    assert (
        _unsaved(open_24x7=False, opens_at=time(9), closes_at=time(17), days=[0, 1]).hours_label()
        == "09:00-17:00 Mon,Tue"
    )
