"""Loading a district from GeoJSON/CSV: the good path, re-runs, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.geo.models import AliasTarget, District, Locality, PlaceAlias, Zone
from iccc.geo.services import GeographyError, load_demo_geography, load_geography, parse_csv

from .conftest import GURUGRAM, feature, square, two_squares

pytestmark = pytest.mark.django_db


def test_the_gurugram_demo_loads_every_zone_locality_and_alias(gurugram):
    assert gurugram.name == "Gurugram"
    assert gurugram.name_hi == "गुरुग्राम"
    assert gurugram.state == "Haryana"
    assert "OpenStreetMap" in gurugram.attribution
    assert Zone.objects.filter(district=gurugram).count() == 35
    assert Locality.objects.filter(district=gurugram).count() == 62
    assert (
        PlaceAlias.objects.filter(district=gurugram, target_type=AliasTarget.OUTSIDE).filter(alias="Faridabad").exists()
    )
    sohna = Zone.objects.get(district=gurugram, code="Z35")
    assert (sohna.name, sohna.name_hi) == ("Sohna", "सोहना")
    assert sohna.area_km2 == pytest.approx(194.4, rel=0.01)
    # The district's bounds come from its outline (README: lon 76.651-77.226, lat 28.199-28.541).
    assert (round(gurugram.min_lon, 3), round(gurugram.max_lon, 3)) == (76.651, 77.226)
    assert (round(gurugram.min_lat, 3), round(gurugram.max_lat, 3)) == (28.199, 28.541)


def test_every_locality_lands_in_the_zone_its_file_names(gurugram):
    import csv

    with (GURUGRAM / "localities.csv").open(encoding="utf-8") as fh:
        expected = {row["name"]: row["zone"] for row in csv.DictReader(fh)}
    actual = dict(Locality.objects.filter(district=gurugram).values_list("name", "zone__code"))
    assert actual == expected


def test_zone_areas_and_centroids_are_computed(gurugram):
    import shapely
    from shapely.geometry import shape

    total = 0.0
    for zone in Zone.objects.filter(district=gurugram):
        total += zone.area_km2 or 0
        # The label point is always inside its zone, even for the MultiPolygons.
        assert shape(zone.geometry).buffer(1e-9).covers(shapely.Point(zone.centroid_lon, zone.centroid_lat))
    assert total == pytest.approx(1253.9, rel=0.005)


def test_reloading_the_same_files_changes_nothing(gurugram):
    revision = gurugram.geo_revision
    ids = dict(Zone.objects.values_list("code", "id"))
    audit_before = AuditEntry.objects.count()
    summary = load_demo_geography("gurugram")
    assert not summary.changed
    assert summary.zones_unchanged == 35
    assert summary.localities_unchanged == 62
    assert dict(Zone.objects.values_list("code", "id")) == ids
    gurugram.refresh_from_db()
    assert gurugram.geo_revision == revision
    # Only the record that somebody ran the import; no create/update rows.
    new = list(AuditEntry.objects.order_by("id")[audit_before:])
    assert [e.action for e in new] == [AuditAction.IMPORT]


def test_reloading_a_changed_zone_updates_it_in_place(gurugram, gurugram_zones):
    z35 = Zone.objects.get(district=gurugram, code="Z35")
    for f in gurugram_zones["features"]:
        if f["properties"]["code"] == "Z35":
            f["properties"]["name"] = "Sohna block"
    summary = load_geography(code="gurugram", name="Gurugram", zones=gurugram_zones, boundary=_boundary())
    assert summary.zones_updated == ["Z35"]
    z35_after = Zone.objects.get(district=gurugram, code="Z35")
    assert z35_after.pk == z35.pk
    assert z35_after.name == "Sohna block"
    assert z35_after.name_hi == "सोहना", "a file without Hindi names keeps the ones already loaded"
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, target_type="geo.zone", target_id=str(z35.pk)).get()
    assert entry.changes == {"name": ["Sohna", "Sohna block"]}
    gurugram_rev = District.objects.get(pk=gurugram.pk).geo_revision
    assert gurugram_rev != gurugram.geo_revision


def test_localities_follow_their_point_when_zones_move(db):
    rows = parse_csv(LOCALITIES_HEADER + "Westside,colony,28.45,77.05,A,test\n")
    load_geography(code="testpur", name="Testpur", zones=two_squares(), localities=rows)
    swapped = two_squares()
    swapped["features"][0]["geometry"], swapped["features"][1]["geometry"] = (
        square(77.1, 28.4, 0.1),
        square(77.0, 28.4, 0.1),
    )
    summary = load_geography(code="testpur", name="Testpur", zones=swapped)  # no localities file this time
    assert summary.localities_updated == 1
    assert Locality.objects.filter(name="Westside").values_list("zone__code", flat=True).get() == "B"


def test_zones_missing_from_a_new_file_are_kept_and_reported(db):
    load_geography(code="testpur", name="Testpur", zones=two_squares())
    only_a = two_squares()
    only_a["features"] = only_a["features"][:1]
    summary = load_geography(code="testpur", name="Testpur", zones=only_a, boundary=square(77.0, 28.4, 0.2))
    assert summary.zones_not_in_file == ["B"]
    assert any("cover only 25.0% of the district" in w for w in summary.warnings)
    assert Zone.objects.filter(district__code="testpur").count() == 2
    assert any("B" in w for w in summary.warnings)


def test_the_boundary_defaults_to_the_union_of_the_zones(db):
    summary = load_geography(code="testpur", name="Testpur", zones=two_squares())
    district = District.objects.get(pk=summary.district_id)
    assert (district.min_lon, district.min_lat, district.max_lon, district.max_lat) == pytest.approx(
        (77.0, 28.4, 77.2, 28.5)
    )
    created = AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="geo.zone").count()
    assert created == 2


def _boundary() -> Any:
    return json.loads((GURUGRAM / "district.geojson").read_text(encoding="utf-8"))


def bowtie() -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[77.0, 28.4], [77.1, 28.5], [77.1, 28.4], [77.0, 28.5], [77.0, 28.4]]]}


def fc(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


BAD_ZONES: list[tuple[str, Any, str]] = [
    (
        "not a feature collection",
        {"type": "Feature", "geometry": square(77, 28.4, 0.1)},
        "must be a GeoJSON FeatureCollection",
    ),
    ("a list", [1, 2], "must be a GeoJSON FeatureCollection"),
    ("no features", fc(), "has no features"),
    ("feature is not a Feature", fc({"type": "Polygon"}), "is not a GeoJSON Feature"),
    ("zone missing code", fc(feature(None, square(77, 28.4, 0.1))), "'code' is missing"),
    (
        "zone missing name",
        fc({"type": "Feature", "properties": {"code": "A"}, "geometry": square(77, 28.4, 0.1)}),
        "'name' is missing",
    ),
    (
        "duplicate code",
        fc(feature("A", square(77, 28.4, 0.1)), feature("A", square(77.1, 28.4, 0.1))),
        "duplicate code A (also feature 1)",
    ),
    ("invalid polygon", fc(feature("A", bowtie())), "invalid polygon (Self-intersection"),
    (
        "a point, not an area",
        fc(feature("A", {"type": "Point", "coordinates": [77, 28.4]})),
        "must be a Polygon or MultiPolygon",
    ),
    ("no geometry", fc(feature("A", None)), "has no geometry"),
    (
        "malformed coordinates",
        fc(feature("A", {"type": "Polygon", "coordinates": [[[77, 28.4], [77.1]]]})),
        "malformed coordinates",
    ),
    (
        "lat/lon swapped",
        fc(
            feature(
                "A", {"type": "Polygon", "coordinates": [[[28.4, 277.0], [28.5, 277.0], [28.5, 277.1], [28.4, 277.0]]]}
            )
        ),
        "not longitude/latitude",
    ),
    (
        "overlapping zones",
        fc(feature("A", square(77, 28.4, 0.1)), feature("B", square(77.05, 28.4, 0.1))),
        "zones A and B overlap",
    ),
    ("negative population", fc(feature("A", square(77, 28.4, 0.1), population_estimate=-5)), "must be a non-negative"),
    ("text area", fc(feature("A", square(77, 28.4, 0.1), area_km2="big")), "is not a number"),
]


@pytest.mark.parametrize(("case", "zones", "reason"), BAD_ZONES, ids=[c[0] for c in BAD_ZONES])
def test_bad_zone_files_are_refused_with_a_reason(db, case, zones, reason):
    with pytest.raises(GeographyError) as err:
        load_geography(code="testpur", name="Testpur", zones=zones)
    assert any(reason in p for p in err.value.problems), err.value.problems
    assert not District.objects.exists()


def test_a_zone_outside_the_district_is_refused(db):
    zones = fc(feature("A", square(77.0, 28.4, 0.1)), feature("FAR", square(80.0, 20.0, 0.1)))
    with pytest.raises(GeographyError) as err:
        load_geography(code="testpur", name="Testpur", zones=zones, boundary=square(77.0, 28.4, 0.1))
    assert err.value.problems == ["zone FAR: lies outside the district boundary"]


def test_a_zone_sticking_out_of_the_district_is_refused(db):
    zones = fc(feature("A", square(77.0, 28.4, 0.1)), feature("B", square(77.1, 28.4, 0.1)))
    with pytest.raises(GeographyError) as err:
        load_geography(code="testpur", name="Testpur", zones=zones, boundary=square(77.0, 28.4, 0.15))
    assert len(err.value.problems) == 1
    assert "zone B: 50.0% of its area lies outside the district boundary" in err.value.problems[0]


def test_every_problem_is_reported_at_once(db):
    zones = fc(feature(None, square(77, 28.4, 0.1)), feature("B", bowtie()), feature("C", None))
    with pytest.raises(GeographyError) as err:
        load_geography(code="testpur", name="Testpur", zones=zones)
    assert len(err.value.problems) == 3


def test_a_bad_district_code_or_boundary_is_refused(db):
    with pytest.raises(GeographyError) as err:
        load_geography(
            code="not a slug!", name="", zones=two_squares(), boundary={"type": "FeatureCollection", "features": []}
        )
    text = str(err.value)
    assert "district code" in text
    assert "needs a name" in text
    assert "district boundary" in text


LOCALITIES_HEADER = "name,kind,lat,lon,zone,source\n"
BAD_LOCALITIES = [
    ("unknown kind", "Somewhere,hamlet,28.45,77.05,,\n", "kind 'hamlet' is not one of"),
    ("text coordinates", "Somewhere,colony,north,77.05,,\n", "lat/lon must be numbers"),
    ("outside the district", "Faraway,town,20.0,80.0,,\n", "Faraway lies outside the district"),
    ("listed twice", "Here,colony,28.45,77.05,,\nhere,colony,28.46,77.05,,\n", "listed twice (also row 2)"),
    ("no name", ",colony,28.45,77.05,,\n", "name is empty"),
]


@pytest.mark.parametrize(("case", "rows", "reason"), BAD_LOCALITIES, ids=[c[0] for c in BAD_LOCALITIES])
def test_bad_locality_rows_are_refused_with_their_row_number(db, case, rows, reason):
    with pytest.raises(GeographyError) as err:
        load_geography(
            code="testpur", name="Testpur", zones=two_squares(), localities=parse_csv(LOCALITIES_HEADER + rows)
        )
    assert any(p.startswith("localities row") and reason in p for p in err.value.problems), err.value.problems
    assert not District.objects.exists()


def test_a_locality_file_without_coordinates_columns_is_refused(db):
    with pytest.raises(GeographyError, match="missing column"):
        load_geography(code="testpur", name="Testpur", zones=two_squares(), localities=parse_csv("name,kind\nX,town\n"))


def test_a_locality_whose_zone_disagrees_is_placed_by_its_point_with_a_warning(db):
    rows = parse_csv(LOCALITIES_HEADER + "Eastside,colony,28.45,77.15,A,test\n")
    summary = load_geography(code="testpur", name="Testpur", zones=two_squares(), localities=rows)
    assert Locality.objects.filter(name="Eastside").values_list("zone__code", flat=True).get() == "B"
    assert any("lies in zone B, not A" in w for w in summary.warnings)


BAD_ALIASES = [
    ("unknown locality", "Nowhere Road,locality,Nowhere,road,\n", "no locality named 'Nowhere'"),
    ("unknown zone", "Z Road,zone,Z99,road,\n", "no zone with code 'Z99'"),
    ("unknown target type", "Blah,planet,Mars,,\n", "target_type 'planet'"),
    ("outside without a name", "Faraway,outside,,,\n", "name the outside place"),
    ("same alias twice", "Ph 3,zone,A,,\nPhase-3,zone,A,,\n", "same as row 2 once normalised"),
]


@pytest.mark.parametrize(("case", "rows", "reason"), BAD_ALIASES, ids=[c[0] for c in BAD_ALIASES])
def test_bad_alias_rows_are_refused_and_nothing_is_written(db, case, rows, reason):
    aliases = parse_csv("alias,target_type,target,kind,note\n" + rows)
    with pytest.raises(GeographyError) as err:
        load_geography(code="testpur", name="Testpur", zones=two_squares(), aliases=aliases)
    assert any(reason in p for p in err.value.problems), err.value.problems
    assert not District.objects.exists()
    assert not Zone.objects.exists()


def test_an_alias_no_longer_in_the_file_is_removed(gurugram):
    rows = parse_csv((GURUGRAM / "aliases.csv").read_text(encoding="utf-8"))
    rows = [r for r in rows if r["alias"] != "Sohna Road"]
    zones = json.loads((GURUGRAM / "zones.geojson").read_text(encoding="utf-8"))
    summary = load_geography(code="gurugram", name="Gurugram", zones=zones, boundary=_boundary(), aliases=rows)
    assert summary.aliases_removed == 1
    assert not PlaceAlias.objects.filter(alias="Sohna Road").exists()


# ---------------------------------------------------------------- the command


def test_the_command_loads_files_and_prints_a_summary(db, tmp_path: Path, capsys):
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(two_squares()), encoding="utf-8")
    call_command("load_geography", str(path), "--code", "testpur", "--name", "Testpur")
    out = capsys.readouterr().out
    assert "District testpur created." in out
    assert "Zones: 2 new" in out
    call_command("load_geography", str(path), "--code", "testpur", "--name", "Testpur")
    assert "District testpur is already up to date." in capsys.readouterr().out


def test_the_command_prints_json(db, capsys):
    call_command("load_geography", "--demo", "gurugram", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"]
    assert len(summary["zones_created"]) == 35


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON (line 1"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (
            json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]}).encode(),
            "'code' is missing",
        ),
    ],
)
def test_the_command_reports_bad_files_without_a_traceback(db, tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "zones.geojson"
    path.write_bytes(content)
    with pytest.raises(CommandError) as err:
        call_command("load_geography", str(path), "--code", "testpur", "--name", "Testpur")
    assert "nothing was loaded" in str(err.value)
    assert reason in str(err.value)


def test_the_command_explains_missing_arguments_and_files(db, tmp_path: Path):
    with pytest.raises(CommandError, match="--code and --name are required"):
        call_command("load_geography", str(tmp_path / "x.geojson"))
    with pytest.raises(CommandError, match="cannot read the file"):
        call_command("load_geography", str(tmp_path / "missing.geojson"), "--code", "x", "--name", "X")
    with pytest.raises(CommandError, match="give a zones GeoJSON file"):
        call_command("load_geography")


def test_the_command_loads_all_the_gurugram_files_by_path(db, capsys):
    call_command(
        "load_geography",
        str(GURUGRAM / "zones.geojson"),
        "--code=gurugram",
        "--name=Gurugram",
        f"--district-boundary={GURUGRAM / 'district.geojson'}",
        f"--localities={GURUGRAM / 'localities.csv'}",
        f"--aliases={GURUGRAM / 'aliases.csv'}",
        f"--zone-names-hi={GURUGRAM / 'zone_names_hi.csv'}",
    )
    assert Zone.objects.get(code="Z34").name_hi == "मानेसर"
    # The same data through --demo is then a no-op apart from the district's own details.
    summary = load_demo_geography("gurugram")
    assert not summary.zones_updated
    assert not summary.localities_updated
