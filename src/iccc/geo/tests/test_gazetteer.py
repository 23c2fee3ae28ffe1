"""The gazetteer on the real Gurugram data: Indian address forms, Hindi, outside places, speed contract."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iccc.geo.gazetteer import Resolution, gazetteer_for, normalise_phrase, tokens
from iccc.geo.models import Locality, Zone
from iccc.geo.services import load_geography, parse_csv

from .conftest import two_squares

pytestmark = pytest.mark.django_db

# address -> (zone code, gazetteer entry matched, minimum confidence)
PLACED: list[tuple[str, str, str, float]] = [
    ("H.No 123, Sector 45, Gurgaon", "Z19", "Sector 45", 0.9),
    ("Sec-45", "Z19", "Sector 45", 0.9),
    ("sec45", "Z19", "Sector 45", 0.9),
    ("SECTOR 45, GURUGRAM, HARYANA 122003", "Z19", "Sector 45", 0.9),
    ("sector 45A", "Z19", "Sector 45", 0.8),
    ("Sector-9A, near ESIC", "Z13", "Sector 9", 0.8),
    ("sector 10", "Z14", "Sector 10A", 0.8),
    ("Sector 15 Part 2", "Z19", "Sector 15-II", 0.9),
    ("Sector 15-II", "Z19", "Sector 15-II", 0.9),
    ("DLF Ph-3", "Z09", "Nathupur", 0.7),
    ("DLF Phase III", "Z09", "Nathupur", 0.7),
    ("U-12/3, DLF Phase 3, Gurgaon", "Z09", "Nathupur", 0.7),
    ("H No 45 DLF Phase-IV", "Z21", "Sushant Lok I", 0.7),
    ("DLF 5th phase", "Z21", "Sector 43", 0.7),
    ("near Sohna Road", "Z18", "Sector 49", 0.4),
    ("Vill. Badshahpur", "Z28", "Badshahpur", 0.7),
    ("VPO Wazirabad", "Z30", "Wazirabad", 0.8),
    ("Village Gwal Pahari, Gurugram", "Z23", "Gwal Pahari", 0.8),
    ("Palam Vihar Extn", "Z06", "Palam Vihar", 0.7),
    ("C-55, Palam Vihar", "Z06", "Palam Vihar", 0.8),
    ("Sushant Lok 1", "Z21", "Sushant Lok I", 0.8),
    ("Sushant Lok Phase-I, Block C", "Z21", "Sushant Lok I", 0.8),
    ("sushant lok-3", "Z30", "Sushant Lok III", 0.8),
    ("South City-II", "Z18", "South City II", 0.8),
    ("south city 1", "Z20", "South City I", 0.8),
    ("Flat 3B, Tower 2, Nirvana Country, Sector 50", "Z29", "Nirvana Country", 0.8),
    ("MG Road, Gurgaon", "Z09", "Sikanderpur", 0.5),
    ("Golf Course Road", "Z21", "Sector 43", 0.5),
    ("Udyog Vihar Phase 4", "Z09", "DLF Cyber City", 0.7),
    ("Sector 8, IMT Manesar", "Z33", "IMT Manesar", 0.6),
    ("Sector 4, Sohna", "Z35", "Sohna", 0.6),
    ("Pataudi", "Z32", "Pataudi", 0.7),
    ("Farukh Nagar", "Z10", "Farrukhnagar", 0.6),
    ("Delhi Road, Sector 14, Gurgaon", "Z17", "Sector 14", 0.9),
    ("Delhi Public School, Sector 45", "Z19", "Sector 45", 0.9),
    ("Dwarka Expressway, Sector 104", "Z03", "Sector 104", 0.9),
    ("near Delhi border, Sector 14", "Z17", "Sector 14", 0.9),
    ("सेक्टर 45", "Z19", "Sector 45", 0.9),
    ("मकान 12, सेक्टर-४५, गुड़गांव", "Z19", "Sector 45", 0.9),
    ("गांव बादशाहपुर", "Z28", "Badshahpur", 0.6),
    ("सोहना रोड", "Z18", "Sector 49", 0.5),
    ("मानेसर", "Z34", "Manesar", 0.6),
    ("न्यू कॉलोनी", "Z15", "New Colony", 0.8),
]


@pytest.mark.parametrize(("address", "zone", "matched", "confidence"), PLACED, ids=[p[0] for p in PLACED])
def test_indian_address_forms_resolve_to_the_right_zone(gurugram, address, zone, matched, confidence):
    res = gazetteer_for(gurugram.pk).resolve(address)
    assert res is not None, address
    assert not res.outside
    assert res.zone_id is not None
    assert Zone.objects.get(pk=res.zone_id).code == zone
    assert res.matched == matched
    assert res.confidence >= confidence
    assert res.lat is not None
    assert res.lon is not None


OUTSIDE = [
    ("H-12, Lajpat Nagar, New Delhi", "New Delhi"),
    ("Sector 15, Faridabad", "Faridabad"),
    ("Sector 62, Noida, UP", "Noida"),
    ("Raj Nagar, Ghaziabad", "Ghaziabad"),
    ("Model Town, Rewari", "Rewari"),
    ("Jhajjar", "Jhajjar"),
    ("VPO Tauru, Distt Mewat", "Tauru (Nuh)"),
    ("Nuh", "Nuh (Mewat)"),
    ("Palwal", "Palwal"),
    ("Rohtak", "Rohtak"),
    ("Sector 21, Dwarka, Delhi", "Dwarka (Delhi)"),
    ("DLF Phase 3, Gurgaon, now shifted to Faridabad", "Faridabad"),
    ("फरीदाबाद", "Faridabad"),
    ("नई दिल्ली", "New Delhi"),
]


@pytest.mark.parametrize(("address", "place"), OUTSIDE, ids=[o[0] for o in OUTSIDE])
def test_addresses_outside_the_district_are_told_apart(gurugram, address, place):
    res = gazetteer_for(gurugram.pk).resolve(address)
    assert res is not None
    assert res.outside
    assert res.matched == place
    assert (res.zone_id, res.locality_id, res.lat, res.lon) == (None, None, None, None)


UNPLACEABLE = [
    "",
    "   ",
    "Gurgaon",
    "H.No 12, Gurugram, Haryana",
    "near bus stand",
    "Sector",
    "Sector 60",
    "Sector 200",
    "12345",
]


@pytest.mark.parametrize("address", UNPLACEABLE)
def test_addresses_naming_no_known_place_are_not_guessed(gurugram, address):
    assert gazetteer_for(gurugram.pk).resolve(address) is None


SECTORS_WITH_A_POINT = [
    1,
    4,
    9,
    12,
    14,
    17,
    21,
    23,
    29,
    31,
    38,
    43,
    45,
    47,
    49,
    52,
    56,
    57,
    65,
    67,
    70,
    81,
    84,
    86,
    89,
    95,
    99,
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    number=st.sampled_from(SECTORS_WITH_A_POINT),
    house=st.integers(min_value=1, max_value=99999),
    spelling=st.sampled_from(["Sector {n}", "Sec-{n}", "sec {n}", "SECTOR{n}", "Sect. {n}", "सेक्टर {n}"]),
    prefix=st.sampled_from(["H.No {h}, ", "{h}/{h}, ", "Flat {h} Tower B ", "", "House {h}, Block C, "]),
    city=st.sampled_from(["", ", Gurgaon", ", Gurugram, Haryana", " GGN", ", गुड़गांव"]),
)
def test_a_sector_with_a_point_is_found_whatever_surrounds_it(gurugram, number, house, spelling, prefix, city):
    address = prefix.format(h=house) + spelling.format(n=number) + city
    res = gazetteer_for(gurugram.pk).resolve(address)
    assert res is not None, address
    assert res.matched == f"Sector {number}"
    assert res.confidence >= 0.9


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text_resolves_or_is_refused_without_an_error(gurugram, text):
    res = gazetteer_for(gurugram.pk).resolve(text)
    assert res is None or isinstance(res, Resolution)


def test_non_text_is_not_placed(gurugram):
    gaz = gazetteer_for(gurugram.pk)
    assert gaz.resolve(None) is None  # type: ignore[arg-type]
    assert gaz.resolve(float("nan")) is None  # type: ignore[arg-type]


def test_a_sector_without_a_point_falls_back_to_the_nearest_numbered_sector(gurugram):
    gaz = gazetteer_for(gurugram.pk)
    # Sector 46 has no point: 45 and 47 are both one away; the lower number wins the tie.
    res = gaz.resolve("Sector 46")
    assert res is not None
    assert res.matched == "Sector 45"
    assert res.confidence == 0.5
    res = gaz.resolve("Sector 112")
    assert res is not None
    assert res.matched == "Sector 111"
    # Two away is the limit, and it costs confidence.
    res = gaz.resolve("Sector 59")
    assert res is not None
    assert res.matched == "Sector 57"
    assert res.confidence == 0.45
    # No numbered sector within two: not placed rather than placed far away.
    assert gaz.resolve("Sector 61") is None


def test_a_named_place_beats_a_guessed_sector(gurugram):
    res = gazetteer_for(gurugram.pk).resolve("Sector 50, Nirvana Country")
    assert res is not None
    assert res.matched == "Nirvana Country"


def test_the_locality_is_reported_when_one_matched(gurugram):
    res = gazetteer_for(gurugram.pk).resolve("Sector 45")
    assert res is not None
    assert res.locality_id is not None
    loc = Locality.objects.get(pk=res.locality_id)
    assert (loc.name, res.lat, res.lon) == ("Sector 45", loc.lat, loc.lon)


def test_resolving_never_queries_the_database(gurugram, django_assert_num_queries):
    gaz = gazetteer_for(gurugram.pk)
    with django_assert_num_queries(0):
        for address, *_ in PLACED:
            gaz.resolve(address)
        for address, _ in OUTSIDE:
            gaz.resolve(address)


def test_results_are_cached_by_normalised_text(gurugram):
    gaz = gazetteer_for(gurugram.pk)
    assert gaz.resolve("Sector 45, Gurgaon") is gaz.resolve("SECTOR-45 GURGAON")


def test_the_gazetteer_is_shared_until_the_geography_changes(gurugram):
    gaz = gazetteer_for(gurugram.pk)
    assert gazetteer_for(gurugram.pk) is gaz
    from iccc.geo.services import load_demo_geography

    load_demo_geography("gurugram")  # unchanged: same revision
    assert gazetteer_for(gurugram.pk) is gaz


def test_a_new_alias_is_used_after_a_reload(db):
    summary = load_geography(code="testpur", name="Testpur", zones=two_squares())
    assert gazetteer_for(summary.district_id).resolve("Rose Garden") is None
    aliases = parse_csv("alias,target_type,target,kind,note\nRose Garden,zone,B,colony,test\n")
    load_geography(code="testpur", name="Testpur", zones=two_squares(), aliases=aliases)
    res = gazetteer_for(summary.district_id).resolve("12, Rose Garden, Testpur")
    assert isinstance(res, Resolution)
    assert res.zone_id == Zone.objects.get(code="B").pk
    assert res.locality_id is None
    # A zone's own name places an address in it too ("Zone A").
    res_a = gazetteer_for(summary.district_id).resolve("zone a")
    assert res_a is not None
    assert res_a.zone_id == Zone.objects.get(code="A").pk


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DLF Ph-3", "dlf 3"),
        ("DLF Phase III", "dlf 3"),
        ("DLF 3rd Phase", "dlf 3"),
        ("Sushant Lok-I", "sushant lok 1"),
        ("South City II", "south city 2"),
        ("Sec.45", "sector 45"),
        ("Sect 45-A", "sector 45 a"),
        ("Palam Vihar Extn.", "palam vihar extension"),
        ("Vill. & P.O. Badshahpur", "p o badshahpur"),
        ("Block V", "block v"),
        ("सेक्टर-४५", "sector 45"),
        ("सेक्टर45", "sector 45"),
    ],
)
def test_address_text_is_normalised(text, expected):
    assert normalise_phrase(text) == expected


def test_commas_and_near_are_kept_as_markers():
    assert tokens("H.No 5, opp. Sector 14 market") == ["h", "no", "5", ",", "~near", "sector", "14", "market"]
