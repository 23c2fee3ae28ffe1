"""A small cast of users in different zones and organisations, for scoping tests.

District "Testpur" is two squares side by side: zone A (west) and zone B (east).
"""

from __future__ import annotations

from dataclasses import dataclass

from iccc.accounts.models import Organisation, OrganisationKind, Role, User
from iccc.geo.models import District, Zone

TEST_PASSWORD = "correct horse battery"  # noqa: S105 - test fixture only


def square(lon0: float, lat0: float, size: float) -> dict:
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class Cast:
    district: District
    zone_a: Zone
    zone_b: Zone
    dc_office: Organisation
    partner: Organisation
    rival_partner: Organisation
    hospital: Organisation
    lead: User
    operator_a: User
    operator_b: User
    doctor_a: User
    volunteer_a: User
    partner_staff: User
    rival_staff: User
    facility_staff: User
    analyst: User
    other_district_lead: User

    def users(self) -> dict[str, User]:
        return {k: v for k, v in vars(self).items() if isinstance(v, User)}


def make_district(code: str = "testpur", lon0: float = 77.0, lat0: float = 28.4) -> tuple[District, Zone, Zone]:
    district = District.objects.create(
        code=code,
        name=code.title(),
        boundary={
            "type": "Polygon",
            "coordinates": [
                [[lon0, lat0], [lon0 + 0.2, lat0], [lon0 + 0.2, lat0 + 0.1], [lon0, lat0 + 0.1], [lon0, lat0]]
            ],
        },
        min_lon=lon0,
        min_lat=lat0,
        max_lon=lon0 + 0.2,
        max_lat=lat0 + 0.1,
    )
    zone_a = Zone.objects.create(
        district=district,
        code="A",
        name="West",
        geometry=square(lon0, lat0, 0.1),
        centroid_lat=lat0 + 0.05,
        centroid_lon=lon0 + 0.05,
    )
    zone_b = Zone.objects.create(
        district=district,
        code="B",
        name="East",
        geometry=square(lon0 + 0.1, lat0, 0.1),
        centroid_lat=lat0 + 0.05,
        centroid_lon=lon0 + 0.15,
    )
    return district, zone_a, zone_b


def make_user(username: str, role: Role, district: District | None, **extra: object) -> User:
    zones = extra.pop("zones", [])
    user = User.objects.create_user(username=username, password=TEST_PASSWORD, role=role, district=district, **extra)
    if zones:
        user.zones.set(zones)
    return user


def build_cast() -> Cast:
    district, zone_a, zone_b = make_district()
    other, _, _ = make_district("otherpur", lon0=76.0)
    org = lambda name, kind: Organisation.objects.create(district=district, name=name, kind=kind)  # noqa: E731
    dc = org("DC Office", OrganisationKind.ADMINISTRATION)
    partner = org("MyUpchar", OrganisationKind.PRIVATE_PARTNER)
    rival = org("Meddo", OrganisationKind.PRIVATE_PARTNER)
    hospital = org("Civil Hospital", OrganisationKind.HOSPITAL)
    return Cast(
        district=district,
        zone_a=zone_a,
        zone_b=zone_b,
        dc_office=dc,
        partner=partner,
        rival_partner=rival,
        hospital=hospital,
        lead=make_user("lead", Role.COMMAND_LEAD, district, organisation=dc),
        operator_a=make_user("operator_a", Role.OPERATOR, district, organisation=dc, zones=[zone_a]),
        operator_b=make_user("operator_b", Role.OPERATOR, district, organisation=dc, zones=[zone_b]),
        doctor_a=make_user("doctor_a", Role.DOCTOR, district, zones=[zone_a]),
        volunteer_a=make_user("volunteer_a", Role.VOLUNTEER, district, zones=[zone_a]),
        partner_staff=make_user("partner_staff", Role.PARTNER_STAFF, district, organisation=partner),
        rival_staff=make_user("rival_staff", Role.PARTNER_STAFF, district, organisation=rival),
        facility_staff=make_user("facility_staff", Role.FACILITY_STAFF, district, organisation=hospital),
        analyst=make_user("analyst", Role.ANALYST, district),
        other_district_lead=make_user("other_lead", Role.COMMAND_LEAD, other),
    )
