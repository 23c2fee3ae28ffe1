"""Writes to the geography: loading a district, its zones, localities and aliases from files.

`load_geography()` validates everything first and writes nothing unless all of it is good;
it then upserts in one transaction (zones keyed by code, localities and aliases by name),
writes the audit rows, bumps the district's `geo_revision` when anything changed and drops
this process's cached index and gazetteer once the transaction commits.
"""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.geo.models import AliasTarget, District, Locality, LocalityKind, PlaceAlias, Zone

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# A zone may stick out of the district by this much (degrees, ~11 m) before it is refused:
# boundaries are rounded to 5 decimals, so exact containment would reject good files.
BOUNDARY_TOLERANCE_DEG = 1e-4
# Zones may touch but not overlap by more than this share of the smaller zone's area.
OVERLAP_TOLERANCE = 1e-4
KM_PER_DEG_LAT = 111.32
MAX_ZONE_CODE = 20
MAX_NAME = 120


class GeographyError(ValueError):
    """The input cannot be loaded; `problems` lists every reason found, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class LoadSummary:
    district_id: int
    district_code: str
    district_created: bool
    district_updated: bool = False
    zones_created: list[str] = field(default_factory=list)
    zones_updated: list[str] = field(default_factory=list)
    zones_unchanged: int = 0
    zones_not_in_file: list[str] = field(default_factory=list)
    localities_created: int = 0
    localities_updated: int = 0
    localities_unchanged: int = 0
    aliases_created: int = 0
    aliases_updated: int = 0
    aliases_unchanged: int = 0
    aliases_removed: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.district_created
            or self.district_updated
            or self.zones_created
            or self.zones_updated
            or self.localities_created
            or self.localities_updated
            or self.aliases_created
            or self.aliases_updated
            or self.aliases_removed
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "district_id": self.district_id,
            "district": self.district_code,
            "district_created": self.district_created,
            "district_updated": self.district_updated,
            "changed": self.changed,
            "zones_created": self.zones_created,
            "zones_updated": self.zones_updated,
            "zones_unchanged": self.zones_unchanged,
            "zones_not_in_file": self.zones_not_in_file,
            "localities_created": self.localities_created,
            "localities_updated": self.localities_updated,
            "localities_unchanged": self.localities_unchanged,
            "aliases_created": self.aliases_created,
            "aliases_updated": self.aliases_updated,
            "aliases_unchanged": self.aliases_unchanged,
            "aliases_removed": self.aliases_removed,
            "warnings": self.warnings,
        }


# ---------------------------------------------------------------- reading files


def read_geojson(path: str | Path) -> Any:
    """Parse a GeoJSON file, turning every I/O or syntax problem into a GeographyError."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise GeographyError(
            [_("%(file)s: cannot read the file (%(err)s)") % {"file": p, "err": exc.strerror}]
        ) from exc
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise GeographyError([_("%(file)s: the file is not UTF-8 text") % {"file": p}]) from exc
    except json.JSONDecodeError as exc:
        raise GeographyError(
            [_("%(file)s: not valid JSON (line %(line)d: %(msg)s)") % {"file": p, "line": exc.lineno, "msg": exc.msg}]
        ) from exc


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV with a header row into dicts (header names lower-cased and trimmed)."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise GeographyError(
            [_("%(file)s: cannot read the file (%(err)s)") % {"file": p, "err": exc.strerror}]
        ) from exc
    except UnicodeDecodeError as exc:
        raise GeographyError([_("%(file)s: the file is not UTF-8 text") % {"file": p}]) from exc
    return parse_csv(text)


def parse_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    reader.fieldnames = [(f or "").strip().lower() for f in reader.fieldnames]
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


# ---------------------------------------------------------------- geometry helpers


def _feature_label(index: int, props: Mapping[str, Any] | None) -> str:
    code = (props or {}).get("code")
    if code not in (None, ""):
        return _("zone %(code)s (feature %(n)d)") % {"code": code, "n": index + 1}
    return _("feature %(n)d") % {"n": index + 1}


def _parse_area_geometry(geom: Any, label: str, problems: list[str]) -> BaseGeometry | None:
    """A valid, non-empty Polygon/MultiPolygon in lon/lat, or None with the reason appended."""
    if not isinstance(geom, Mapping):
        problems.append(_("%(label)s: has no geometry") % {"label": label})
        return None
    gtype = geom.get("type")
    if gtype not in ("Polygon", "MultiPolygon"):
        problems.append(
            _("%(label)s: geometry must be a Polygon or MultiPolygon, not %(type)s") % {"label": label, "type": gtype}
        )
        return None
    try:
        shp = shape(geom)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        problems.append(_("%(label)s: malformed coordinates (%(err)s)") % {"label": label, "err": exc})
        return None
    if shp.is_empty:
        problems.append(_("%(label)s: geometry is empty") % {"label": label})
        return None
    minx, miny, maxx, maxy = shp.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        problems.append(_("%(label)s: coordinates are not finite numbers") % {"label": label})
        return None
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        problems.append(
            _("%(label)s: coordinates are not longitude/latitude in degrees (WGS84, [lon, lat] order)")
            % {"label": label}
        )
        return None
    if not shp.is_valid:
        problems.append(_("%(label)s: invalid polygon (%(why)s)") % {"label": label, "why": explain_validity(shp)})
        return None
    return shp


def _area_km2(geom: BaseGeometry) -> float:
    """Approximate area: planar degrees scaled at the geometry's mean latitude (error < 0.1 % at district size)."""
    lat = geom.centroid.y
    return float(geom.area * KM_PER_DEG_LAT * KM_PER_DEG_LAT * math.cos(math.radians(lat)))


def _label_point(geom: BaseGeometry) -> tuple[float, float]:
    """(lat, lon) of the centroid, or of a point inside when the centroid falls outside (a C-shaped zone)."""
    c = geom.centroid
    if not geom.covers(c):
        c = geom.representative_point()
    return round(c.y, 6), round(c.x, 6)


def _boundary_geometry(data: Any, problems: list[str]) -> BaseGeometry | None:
    """The district outline from a FeatureCollection (union of its features), a Feature or a bare geometry."""
    label = _("district boundary")
    if not isinstance(data, Mapping):
        problems.append(_("district boundary: not a GeoJSON object"))
        return None
    if data.get("type") == "FeatureCollection":
        feats = data.get("features")
        if not isinstance(feats, list) or not feats:
            problems.append(_("district boundary: the FeatureCollection has no features"))
            return None
        parts = []
        for i, f in enumerate(feats):
            g = _parse_area_geometry(
                f.get("geometry") if isinstance(f, Mapping) else None,
                _("district boundary, feature %(n)d") % {"n": i + 1},
                problems,
            )
            if g is not None:
                parts.append(g)
        if len(parts) != len(feats):
            return None
        return shapely.union_all(parts) if len(parts) > 1 else parts[0]
    if data.get("type") == "Feature":
        return _parse_area_geometry(data.get("geometry"), label, problems)
    return _parse_area_geometry(data, label, problems)


# ---------------------------------------------------------------- validation


@dataclass
class _ZoneIn:
    code: str
    name: str
    name_hi: str
    geometry: BaseGeometry
    geojson: dict[str, Any]
    population: int | None
    area_km2: float


def _optional_number(value: Any, what: str, label: str, problems: list[str], *, integer: bool) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value))
        except ValueError:
            problems.append(
                _("%(label)s: %(what)s %(value)r is not a number") % {"label": label, "what": what, "value": value}
            )
            return None
    if not math.isfinite(value) or value < 0 or (integer and value != int(value)):
        problems.append(
            _("%(label)s: %(what)s %(value)r must be a non-negative %(kind)s")
            % {"label": label, "what": what, "value": value, "kind": _("whole number") if integer else _("number")}
        )
        return None
    return float(value)


def _validate_zones(data: Any, names_hi: Mapping[str, str], problems: list[str]) -> list[_ZoneIn]:
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, Mapping) else type(data).__name__
        problems.append(_("zones: the file must be a GeoJSON FeatureCollection (found %(found)s)") % {"found": found})
        return []
    feats = data.get("features")
    if not isinstance(feats, list) or not feats:
        problems.append(_("zones: the FeatureCollection has no features"))
        return []
    zones: list[_ZoneIn] = []
    seen: dict[str, int] = {}
    for i, feat in enumerate(feats):
        if not isinstance(feat, Mapping) or feat.get("type") != "Feature":
            problems.append(_("feature %(n)d: is not a GeoJSON Feature") % {"n": i + 1})
            continue
        props = feat.get("properties")
        props = props if isinstance(props, Mapping) else {}
        label = _feature_label(i, props)
        code = str(props.get("code") or "").strip()
        name = str(props.get("name") or "").strip()
        ok = True
        if not code:
            problems.append(_("%(label)s: the property 'code' is missing") % {"label": label})
            ok = False
        elif len(code) > MAX_ZONE_CODE:
            problems.append(_("%(label)s: code longer than %(n)d characters") % {"label": label, "n": MAX_ZONE_CODE})
            ok = False
        elif code in seen:
            problems.append(
                _("%(label)s: duplicate code %(code)s (also feature %(other)d)")
                % {"label": label, "code": code, "other": seen[code] + 1}
            )
            ok = False
        else:
            seen[code] = i
        if not name:
            problems.append(_("%(label)s: the property 'name' is missing") % {"label": label})
            ok = False
        elif len(name) > MAX_NAME:
            problems.append(_("%(label)s: name longer than %(n)d characters") % {"label": label, "n": MAX_NAME})
            ok = False
        population = _optional_number(
            props.get("population_estimate"), "population_estimate", label, problems, integer=True
        )
        _optional_number(props.get("area_km2"), "area_km2", label, problems, integer=False)
        geom = _parse_area_geometry(feat.get("geometry"), label, problems)
        if geom is None or not ok:
            continue
        name_hi = str(props.get("name_hi") or names_hi.get(code) or "").strip()[:MAX_NAME]
        zones.append(
            _ZoneIn(
                code=code,
                name=name,
                name_hi=name_hi,
                geometry=geom,
                geojson=dict(feat["geometry"]),
                population=int(population) if population is not None else None,
                area_km2=round(_area_km2(geom), 2),
            )
        )
    return zones


def _check_layout(zones: list[_ZoneIn], boundary: BaseGeometry, problems: list[str]) -> None:
    """Every zone inside the district; no two zones overlapping (a point must have one zone)."""
    allowed = boundary.buffer(BOUNDARY_TOLERANCE_DEG)
    shapely.prepare(allowed)
    for z in zones:
        if allowed.contains(z.geometry):
            continue
        outside = z.geometry.difference(boundary).area / z.geometry.area
        if outside > 0.999:
            problems.append(_("zone %(code)s: lies outside the district boundary") % {"code": z.code})
        else:
            problems.append(
                _("zone %(code)s: %(pct).1f%% of its area lies outside the district boundary")
                % {"code": z.code, "pct": outside * 100}
            )
    geoms = [z.geometry for z in zones]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b:
            continue
        overlap = geoms[a].intersection(geoms[b]).area
        if overlap > OVERLAP_TOLERANCE * min(geoms[a].area, geoms[b].area):
            problems.append(
                _("zones %(a)s and %(b)s overlap (a point there would belong to both)")
                % {"a": zones[a].code, "b": zones[b].code}
            )


@dataclass
class _LocalityIn:
    name: str
    kind: str
    lat: float
    lon: float
    zone_code: str
    source: str


def _validate_localities(
    rows: Sequence[Mapping[str, str]],
    boundary: BaseGeometry,
    zones: list[_ZoneIn],
    problems: list[str],
    warnings: list[str],
) -> list[_LocalityIn]:
    if not rows:
        return []
    missing = {"name", "kind", "lat", "lon"} - set(rows[0])
    if missing:
        problems.append(_("localities: missing column(s) %(cols)s") % {"cols": ", ".join(sorted(missing))})
        return []
    allowed = boundary.buffer(BOUNDARY_TOLERANCE_DEG)
    geoms = [z.geometry for z in zones]
    tree = shapely.STRtree(geoms)
    kinds = set(LocalityKind.values)
    out: list[_LocalityIn] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        label = _("localities row %(n)d") % {"n": n}
        name = row.get("name", "")
        kind = row.get("kind", "").lower()
        if not name:
            problems.append(_("%(label)s: name is empty") % {"label": label})
            continue
        if len(name) > MAX_NAME:
            problems.append(_("%(label)s: name longer than %(n)d characters") % {"label": label, "n": MAX_NAME})
            continue
        if name.casefold() in seen:
            problems.append(
                _("%(label)s: %(name)s is listed twice (also row %(other)d)")
                % {"label": label, "name": name, "other": seen[name.casefold()]}
            )
            continue
        seen[name.casefold()] = n
        if kind not in kinds:
            problems.append(
                _("%(label)s: kind %(kind)r is not one of %(kinds)s")
                % {"label": label, "kind": kind, "kinds": ", ".join(sorted(kinds))}
            )
            continue
        try:
            lat, lon = float(row.get("lat", "")), float(row.get("lon", ""))
        except ValueError:
            problems.append(_("%(label)s: lat/lon must be numbers in degrees") % {"label": label})
            continue
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(_("%(label)s: lat/lon out of range") % {"label": label})
            continue
        point = shapely.Point(lon, lat)
        if not allowed.contains(point):
            problems.append(
                _("%(label)s: %(name)s lies outside the district boundary") % {"label": label, "name": name}
            )
            continue
        hits = tree.query(point, predicate="intersects")
        # Not in any zone: in a rounding sliver between the boundary and the zones.
        zone_code = zones[int(min(hits))].code if len(hits) else zones[int(tree.nearest(point))].code
        given = row.get("zone", "")
        if given and given != zone_code:
            warnings.append(
                _("%(label)s: %(name)s lies in zone %(actual)s, not %(given)s as the file says; using %(actual)s")
                % {"label": label, "name": name, "actual": zone_code, "given": given}
            )
        out.append(_LocalityIn(name, kind, round(lat, 6), round(lon, 6), zone_code, row.get("source", "")))
    return out


@dataclass
class _AliasIn:
    alias: str
    kind: str
    target_type: str
    target: str
    note: str


def _validate_aliases(
    rows: Sequence[Mapping[str, str]], locality_names: set[str], zone_codes: set[str], problems: list[str]
) -> list[_AliasIn]:
    if not rows:
        return []
    missing = {"alias", "target_type", "target"} - set(rows[0])
    if missing:
        problems.append(_("aliases: missing column(s) %(cols)s") % {"cols": ", ".join(sorted(missing))})
        return []
    kinds = set(LocalityKind.values)
    targets = set(AliasTarget.values)
    by_key: dict[str, int] = {}
    out: list[_AliasIn] = []
    from iccc.geo.gazetteer import normalise_phrase  # the gazetteer owns the normal form

    for n, row in enumerate(rows, start=2):
        label = _("aliases row %(n)d") % {"n": n}
        alias, ttype, target = row.get("alias", ""), row.get("target_type", "").lower(), row.get("target", "")
        kind = row.get("kind", "").lower()
        if not alias or len(alias) > MAX_NAME:
            problems.append(_("%(label)s: alias is empty or too long") % {"label": label})
            continue
        key = normalise_phrase(alias)
        if not key:
            problems.append(_("%(label)s: alias %(alias)r has no words to match") % {"label": label, "alias": alias})
            continue
        if key in by_key:
            problems.append(
                _("%(label)s: alias %(alias)r is the same as row %(other)d once normalised")
                % {"label": label, "alias": alias, "other": by_key[key]}
            )
            continue
        by_key[key] = n
        if ttype not in targets:
            problems.append(
                _("%(label)s: target_type %(t)r is not one of %(all)s")
                % {"label": label, "t": ttype, "all": ", ".join(sorted(targets))}
            )
            continue
        if kind and kind not in kinds:
            problems.append(_("%(label)s: kind %(kind)r is not a locality kind") % {"label": label, "kind": kind})
            continue
        if ttype == AliasTarget.LOCALITY and target.casefold() not in locality_names:
            problems.append(_("%(label)s: no locality named %(t)r") % {"label": label, "t": target})
            continue
        if ttype == AliasTarget.ZONE and target not in zone_codes:
            problems.append(_("%(label)s: no zone with code %(t)r") % {"label": label, "t": target})
            continue
        if ttype == AliasTarget.OUTSIDE and not target:
            problems.append(_("%(label)s: name the outside place in 'target'") % {"label": label})
            continue
        out.append(_AliasIn(alias, kind, ttype, target, row.get("note", "")))
    return out


# ---------------------------------------------------------------- the service


def load_geography(
    *,
    code: str,
    name: str,
    zones: Any,
    boundary: Any | None = None,
    localities: Sequence[Mapping[str, str]] | None = None,
    aliases: Sequence[Mapping[str, str]] | None = None,
    zone_names_hi: Mapping[str, str] | None = None,
    name_hi: str = "",
    state: str = "",
    attribution: str = "",
    population: int | None = None,
    actor: Any = None,
) -> LoadSummary:
    """Create or update district `code` from parsed GeoJSON/CSV; all or nothing.

    `zones` is a GeoJSON FeatureCollection (properties code, name, optional name_hi,
    population_estimate, area_km2); `boundary` the district outline (FeatureCollection,
    Feature or geometry; default: the union of the zones). `localities` and `aliases` are
    CSV rows (see data/gurugram/README.md). Zones in the database but not in the file are
    kept and reported, never deleted here: staff and cases may point at them.
    """
    problems: list[str] = []
    warnings: list[str] = []
    code = (code or "").strip().lower()
    if not code or len(code) > 40 or not all(c.isalnum() or c in "-_" for c in code) or not code.isascii():
        problems.append(_("district code %(code)r must be 1-40 letters, digits, '-' or '_'") % {"code": code})
    if not (name or "").strip():
        problems.append(_("the district needs a name"))
    zones_in = _validate_zones(zones, zone_names_hi or {}, problems)
    outline = _boundary_geometry(boundary, problems) if boundary is not None else None
    if outline is None and boundary is None and zones_in:
        outline = shapely.union_all([z.geometry for z in zones_in])
    if outline is not None and zones_in and not problems:
        _check_layout(zones_in, outline, problems)
        covered = shapely.union_all([z.geometry for z in zones_in]).intersection(outline).area / outline.area
        if covered < 0.99:
            warnings.append(
                _("the zones cover only %(pct).1f%% of the district: addresses elsewhere will get no zone")
                % {"pct": covered * 100}
            )
    locs_in: list[_LocalityIn] = []
    if localities and outline is not None and zones_in and not problems:
        locs_in = _validate_localities(localities, outline, zones_in, problems, warnings)
    aliases_in: list[_AliasIn] = []
    if aliases and not problems:
        existing = set()
        if District.objects.filter(code=code).exists():
            existing = {
                n.casefold() for n in Locality.objects.filter(district__code=code).values_list("name", flat=True)
            }
        aliases_in = _validate_aliases(
            aliases, existing | {loc.name.casefold() for loc in locs_in}, {z.code for z in zones_in}, problems
        )
    if problems or outline is None:
        raise GeographyError(problems or [_("nothing to load")])
    return _write(
        code=code,
        name=name.strip(),
        name_hi=name_hi.strip(),
        state=state.strip(),
        attribution=attribution.strip(),
        population=population,
        outline=outline,
        zones_in=zones_in,
        locs_in=locs_in,
        aliases_in=aliases_in,
        aliases_given=aliases is not None,
        warnings=warnings,
        actor=actor,
    )


_ZONE_FIELDS = ("name", "name_hi", "geometry", "centroid_lat", "centroid_lon", "area_km2", "population")
_DISTRICT_FIELDS = (
    "name",
    "name_hi",
    "state",
    "boundary",
    "min_lon",
    "min_lat",
    "max_lon",
    "max_lat",
    "attribution",
    "population",
)
_LOCALITY_FIELDS = ("kind", "lat", "lon", "zone_id", "source")
_ALIAS_FIELDS = ("kind", "target_type", "locality_id", "zone_id", "place", "note")


def _audit_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    # Geometry is too big for an audit row: record that it changed, not the coordinates.
    changes = audit.diff(before, after)
    for big in ("geometry", "boundary"):
        if big in changes:
            changes[big] = ["…", "…"]
    return changes


def _write(
    *,
    code: str,
    name: str,
    name_hi: str,
    state: str,
    attribution: str,
    population: int | None,
    outline: BaseGeometry,
    zones_in: list[_ZoneIn],
    locs_in: list[_LocalityIn],
    aliases_in: list[_AliasIn],
    aliases_given: bool,
    warnings: list[str],
    actor: Any,
) -> LoadSummary:
    from iccc.geo import gazetteer, index

    minx, miny, maxx, maxy = outline.bounds
    district_values: dict[str, Any] = {
        "name": name,
        "name_hi": name_hi,
        "state": state,
        "boundary": json.loads(shapely.to_geojson(outline)),
        "min_lon": minx,
        "min_lat": miny,
        "max_lon": maxx,
        "max_lat": maxy,
        "attribution": attribution,
        "population": population,
    }
    records: list[audit.AuditRecord] = []
    with transaction.atomic():
        district = District.objects.select_for_update().filter(code=code).first()
        created = district is None
        if district is None:
            district = District.objects.create(code=code, **district_values)
            records.append(_record(AuditAction.CREATE, district, {"name": ["", name], "boundary": ["", "…"]}))
        else:
            # Keep fields the file does not give (name_hi, state...) rather than blanking them.
            for keep in ("name_hi", "state", "attribution", "population"):
                if not district_values[keep]:
                    district_values[keep] = getattr(district, keep)
            before = audit.snapshot(district, _DISTRICT_FIELDS)
            before["boundary"] = district.boundary
            changes = _audit_changes(before, district_values)
            if changes:
                for k, v in district_values.items():
                    setattr(district, k, v)
                district.save(update_fields=list(district_values))
                records.append(_record(AuditAction.UPDATE, district, changes))
        summary = LoadSummary(
            district_id=district.pk,
            district_code=code,
            district_created=created,
            district_updated=bool(records) and not created,
            warnings=warnings,
        )

        existing = {z.code: z for z in Zone.objects.filter(district=district)}
        zone_by_code: dict[str, Zone] = {}
        for zin in zones_in:
            lat, lon = _label_point(zin.geometry)
            values: dict[str, Any] = {
                "name": zin.name,
                "name_hi": zin.name_hi,
                "geometry": zin.geojson,
                "centroid_lat": lat,
                "centroid_lon": lon,
                "area_km2": zin.area_km2,
                "population": zin.population,
            }
            zone = existing.get(zin.code)
            if zone is None:
                zone = Zone.objects.create(district=district, code=zin.code, **values)
                summary.zones_created.append(zin.code)
                records.append(_record(AuditAction.CREATE, zone, {"name": ["", zin.name], "geometry": ["", "…"]}))
            else:
                if not values["name_hi"]:
                    values["name_hi"] = zone.name_hi
                before = {f: getattr(zone, f) for f in _ZONE_FIELDS}
                changes = _audit_changes(before, values)
                if changes:
                    for k, v in values.items():
                        setattr(zone, k, v)
                    zone.save(update_fields=list(values))
                    summary.zones_updated.append(zin.code)
                    records.append(_record(AuditAction.UPDATE, zone, changes))
                else:
                    summary.zones_unchanged += 1
            zone_by_code[zin.code] = zone
        summary.zones_not_in_file = sorted(set(existing) - set(zone_by_code))
        if summary.zones_not_in_file:
            warnings.append(
                _("zones in the database but not in the file were kept: %(codes)s")
                % {"codes": ", ".join(summary.zones_not_in_file)}
            )

        _write_localities(district, locs_in, zone_by_code, summary, records)
        if summary.zones_created or summary.zones_updated:
            _rezone_other_localities(district, locs_in, zones_in, zone_by_code, summary)
        if aliases_given:
            _write_aliases(district, aliases_in, zone_by_code, summary, records)

        if summary.changed:
            district.geo_revision = uuid.uuid4()
            district.save(update_fields=["geo_revision"])
        records.append(
            audit.AuditRecord(
                action=AuditAction.IMPORT,
                target_type=district._meta.label_lower,
                target_id=str(district.pk),
                target_label=str(district),
                changes={"geography": summary.as_dict()},
            )
        )
        audit.record_many(actor, records)
        district_id = district.pk

        def _drop_caches() -> None:
            index.invalidate(district_id)
            gazetteer.invalidate(district_id)

        if summary.changed:
            # Now for this process (a reader in this transaction must not see the old index),
            # and again after commit (a reader may have rebuilt it from the old rows meanwhile).
            _drop_caches()
            transaction.on_commit(_drop_caches)
    return summary


def _record(action: AuditAction, obj: Any, changes: Mapping[str, Any]) -> audit.AuditRecord:
    return audit.AuditRecord(
        action=action,
        target_type=obj._meta.label_lower,
        target_id=str(obj.pk),
        target_label=str(obj)[:200],
        changes=dict(changes),
    )


def _write_localities(
    district: District,
    locs_in: list[_LocalityIn],
    zone_by_code: Mapping[str, Zone],
    summary: LoadSummary,
    records: list[audit.AuditRecord],
) -> None:
    if not locs_in:
        return
    existing = {loc.name.casefold(): loc for loc in Locality.objects.filter(district=district)}
    new: list[Locality] = []
    changed: list[Locality] = []
    for lin in locs_in:
        values = {
            "kind": lin.kind,
            "lat": lin.lat,
            "lon": lin.lon,
            "zone_id": zone_by_code[lin.zone_code].pk,
            "source": lin.source,
        }
        loc = existing.get(lin.name.casefold())
        if loc is None:
            new.append(Locality(district=district, name=lin.name, **values))
            continue
        before = {f: getattr(loc, f) for f in _LOCALITY_FIELDS}
        if audit.diff(before, values):
            for k, v in values.items():
                setattr(loc, k, v)
            changed.append(loc)
        else:
            summary.localities_unchanged += 1
    Locality.objects.bulk_create(new)
    Locality.objects.bulk_update(changed, list(_LOCALITY_FIELDS))
    summary.localities_created, summary.localities_updated = len(new), len(changed)
    if new or changed:
        records.append(
            audit.AuditRecord(
                action=AuditAction.UPDATE,
                target_type=Locality._meta.label_lower,
                target_id=f"district:{district.pk}",
                target_label=_("localities of %(d)s") % {"d": district},
                changes={
                    "created": [None, sorted(loc.name for loc in new)],
                    "updated": [None, sorted(loc.name for loc in changed)],
                },
            )
        )


def _rezone_other_localities(
    district: District,
    locs_in: list[_LocalityIn],
    zones_in: list[_ZoneIn],
    zone_by_code: Mapping[str, Zone],
    summary: LoadSummary,
) -> None:
    """Zones moved: localities loaded earlier (not in this file) follow their point into its new zone."""
    in_file = {loc.name.casefold() for loc in locs_in}
    others = [loc for loc in Locality.objects.filter(district=district) if loc.name.casefold() not in in_file]
    if not others:
        return
    geoms = [z.geometry for z in zones_in]
    tree = shapely.STRtree(geoms)
    moved: list[Locality] = []
    for loc in others:
        hits = tree.query(shapely.Point(loc.lon, loc.lat), predicate="intersects")
        if not len(hits):
            continue  # outside every zone in the file: leave it where it was
        zone_id = zone_by_code[zones_in[int(min(hits))].code].pk
        if loc.zone_id != zone_id:
            loc.zone_id = zone_id
            moved.append(loc)
    Locality.objects.bulk_update(moved, ["zone_id"])
    summary.localities_updated += len(moved)


def _write_aliases(
    district: District,
    aliases_in: list[_AliasIn],
    zone_by_code: Mapping[str, Zone],
    summary: LoadSummary,
    records: list[audit.AuditRecord],
) -> None:
    """The aliases file is the whole list: rows no longer in it are removed (nothing points at an alias)."""
    from iccc.geo.gazetteer import normalise_phrase

    localities = {loc.name.casefold(): loc.pk for loc in Locality.objects.filter(district=district)}
    existing = {normalise_phrase(a.alias): a for a in PlaceAlias.objects.filter(district=district)}
    keep: set[int] = set()
    new: list[PlaceAlias] = []
    changed: list[PlaceAlias] = []
    for ain in aliases_in:
        values: dict[str, Any] = {
            "kind": ain.kind,
            "target_type": ain.target_type,
            "locality_id": localities.get(ain.target.casefold()) if ain.target_type == AliasTarget.LOCALITY else None,
            "zone_id": zone_by_code[ain.target].pk if ain.target_type == AliasTarget.ZONE else None,
            "place": ain.target if ain.target_type == AliasTarget.OUTSIDE else "",
            "note": ain.note,
        }
        row = existing.get(normalise_phrase(ain.alias))
        if row is None:
            new.append(PlaceAlias(district=district, alias=ain.alias, **values))
            continue
        keep.add(row.pk)
        before = {f: getattr(row, f) for f in _ALIAS_FIELDS}
        if audit.diff(before, values) or row.alias != ain.alias:
            row.alias = ain.alias
            for k, v in values.items():
                setattr(row, k, v)
            changed.append(row)
        else:
            summary.aliases_unchanged += 1
    stale = [a.pk for a in existing.values() if a.pk not in keep]
    if stale:
        PlaceAlias.objects.filter(pk__in=stale).delete()
    PlaceAlias.objects.bulk_create(new)
    PlaceAlias.objects.bulk_update(changed, ["alias", *_ALIAS_FIELDS])
    summary.aliases_created, summary.aliases_updated, summary.aliases_removed = len(new), len(changed), len(stale)
    if new or changed or stale:
        records.append(
            audit.AuditRecord(
                action=AuditAction.UPDATE,
                target_type=PlaceAlias._meta.label_lower,
                target_id=f"district:{district.pk}",
                target_label=_("place aliases of %(d)s") % {"d": district},
                changes={"created": [None, len(new)], "updated": [None, len(changed)], "removed": [None, len(stale)]},
            )
        )


# ---------------------------------------------------------------- files and the bundled demo


@dataclass(frozen=True)
class DemoDistrict:
    code: str
    name: str
    name_hi: str
    state: str
    attribution: str


DEMOS: dict[str, DemoDistrict] = {
    "gurugram": DemoDistrict(
        code="gurugram",
        name="Gurugram",
        name_hi="गुरुग्राम",
        state="Haryana",
        attribution=(
            "Map data © OpenStreetMap contributors (ODbL); district boundary: datta07/INDIAN-SHAPEFILES (MIT)"
        ),
    ),
}


def load_geography_files(
    *,
    code: str,
    name: str,
    zones_path: str | Path,
    boundary_path: str | Path | None = None,
    localities_path: str | Path | None = None,
    aliases_path: str | Path | None = None,
    zone_names_hi_path: str | Path | None = None,
    actor: Any = None,
    **district: Any,
) -> LoadSummary:
    """Read the files (every I/O problem becomes a GeographyError) and call load_geography()."""
    problems: list[str] = []

    def attempt(fn: Any, path: str | Path | None) -> Any:
        if path is None:
            return None
        try:
            return fn(path)
        except GeographyError as exc:
            problems.extend(exc.problems)
            return None

    zones = attempt(read_geojson, zones_path)
    boundary = attempt(read_geojson, boundary_path)
    localities = attempt(read_csv, localities_path)
    aliases = attempt(read_csv, aliases_path)
    names_rows = attempt(read_csv, zone_names_hi_path)
    if problems:
        raise GeographyError(problems)
    names_hi = {r.get("code", ""): r.get("name_hi", "") for r in names_rows or []}
    return load_geography(
        code=code,
        name=name,
        zones=zones,
        boundary=boundary,
        localities=localities,
        aliases=aliases,
        zone_names_hi=names_hi,
        actor=actor,
        **district,
    )


def load_demo_geography(demo: str = "gurugram", actor: Any = None) -> LoadSummary:
    """Load a district bundled under iccc/data/<demo>/ (boundary, zones, localities, aliases, Hindi names)."""
    spec = DEMOS.get(demo)
    if spec is None:
        raise GeographyError([_("no bundled district %(d)r (bundled: %(all)s)") % {"d": demo, "all": ", ".join(DEMOS)}])
    folder = DATA_DIR / demo

    def optional(name: str) -> Path | None:
        p = folder / name
        return p if p.exists() else None

    return load_geography_files(
        code=spec.code,
        name=spec.name,
        name_hi=spec.name_hi,
        state=spec.state,
        attribution=spec.attribution,
        zones_path=folder / "zones.geojson",
        boundary_path=optional("district.geojson"),
        localities_path=optional("localities.csv"),
        aliases_path=optional("aliases.csv"),
        zone_names_hi_path=optional("zone_names_hi.csv"),
        actor=actor,
    )
