"""Reading facility lists and bed snapshots, and deciding which facility each report is about.

Pure functions (files in, plain data out) so the rules can be tested without a database.
The Haryana bed portal of April 2021 renamed entries between snapshots ("Civil Hospital."
became "Civil Hospital gurugram"; "Ahuja Residency" split into two named branches), so a
report is matched to a known facility by position *and* name, and an older report that a
newer one replaced at the same place is dropped rather than becoming a ghost facility.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from iccc.capacity.models import BedType, FacilityKind

# Two records closer than this, with compatible names, are the same place.
SAME_PLACE_METRES = 300.0
_NAME_NOISE = frozenset({"hospital", "hospitals", "gurugram", "gurgaon", "the", "and", "of", "sector", "by"})
_HOSPITAL_WORDS = re.compile(r"hospital(?!ity)|medic|health|clinic|diabet|nursing|institute", re.IGNORECASE)
_BED_COLUMNS = {
    BedType.GENERAL: ("allocated_general", "vacant_general"),
    BedType.ICU: ("allocated_icu", "vacant_icu"),
    BedType.VENTILATOR: ("allocated_ventilators", "vacant_ventilators"),
}


class SourceError(ValueError):
    """A file that cannot be read at all (missing columns, wrong format)."""


@dataclass(frozen=True)
class RowError:
    row: int
    reason: str


@dataclass(frozen=True)
class ListedFacility:
    """One row of a facilities.csv (name, kind, lat, lon, address, source, covid_role…)."""

    name: str
    kind: str
    lat: float
    lon: float
    address: str = ""
    source: str = ""
    covid_role: str = ""


@dataclass(frozen=True)
class BedFigure:
    bed_type: BedType
    total: int
    occupied: int


@dataclass(frozen=True)
class BedReport:
    """One hospital's entry in one snapshot of the bed portal."""

    name: str
    lat: float
    lon: float
    snapshot_at: datetime
    label: str
    figures: tuple[BedFigure, ...]
    source: str
    row: int


@dataclass
class PlannedFacility:
    """A facility to exist after loading, with the bed figures reported for it (if any)."""

    name: str
    kind: str
    lat: float
    lon: float
    address: str = ""
    source: str = ""
    covid_role: str = ""
    report: BedReport | None = None
    from_list: bool = True


@dataclass
class Plan:
    facilities: list[PlannedFacility] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); ample precision at district scale."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def name_tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", name.lower()) if len(t) >= 3 and t not in _NAME_NOISE}


def names_compatible(a: str, b: str) -> bool:
    """Share a significant word, allowing abbreviation ("ESI" ~ "ESIC", "Fortis" ~ "Fortis Memorial")."""
    return any(x.startswith(y) or y.startswith(x) for x in name_tokens(a) for y in name_tokens(b))


def _read_csv(path: Path, required: set[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = required - set(reader.fieldnames or [])
            if missing:
                raise SourceError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
            return list(reader)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file") from exc


def _coordinates(row: dict[str, str]) -> tuple[float, float]:
    lat, lon = float(row["lat"]), float(row["lon"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("coordinates out of range")
    return lat, lon


def read_facility_list(path: Path) -> tuple[list[ListedFacility], list[RowError]]:
    rows = _read_csv(path, {"name", "kind", "lat", "lon"})
    kinds = set(FacilityKind.values)
    out: list[ListedFacility] = []
    errors: list[RowError] = []
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        name = (row.get("name") or "").strip()
        kind = (row.get("kind") or "").strip()
        if not name:
            errors.append(RowError(n, "no name"))
            continue
        if kind not in kinds:
            errors.append(RowError(n, f"unknown kind {kind!r} (one of {', '.join(sorted(kinds))})"))
            continue
        try:
            lat, lon = _coordinates(row)
        except ValueError:
            errors.append(RowError(n, f"bad coordinates {row.get('lat')!r}, {row.get('lon')!r}"))
            continue
        out.append(
            ListedFacility(
                name=name,
                kind=kind,
                lat=lat,
                lon=lon,
                address=(row.get("address") or "").strip(),
                source=(row.get("source") or "").strip(),
                covid_role=(row.get("covid_role") or "").strip(),
            )
        )
    return out, errors


def read_bed_snapshots(path: Path) -> tuple[list[BedReport], list[RowError]]:
    """Every row of a bed-portal extract; negative vacancies mean beds over-used."""
    required = {"snapshot_time", "hospital", "lat", "lon"} | {c for pair in _BED_COLUMNS.values() for c in pair}
    rows = _read_csv(path, required)
    out: list[BedReport] = []
    errors: list[RowError] = []
    for n, row in enumerate(rows, start=2):
        name = (row.get("hospital") or "").strip()
        if not name:
            errors.append(RowError(n, "no hospital name"))
            continue
        try:
            at = datetime.fromisoformat(row["snapshot_time"].strip())
        except ValueError:
            errors.append(RowError(n, f"bad snapshot time {row['snapshot_time']!r}"))
            continue
        if at.tzinfo is None:
            errors.append(RowError(n, f"snapshot time {row['snapshot_time']!r} has no time zone"))
            continue
        try:
            lat, lon = _coordinates(row)
        except ValueError:
            errors.append(RowError(n, f"bad coordinates {row.get('lat')!r}, {row.get('lon')!r}"))
            continue
        figures: list[BedFigure] = []
        bad = ""
        for bed_type, (alloc_col, vacant_col) in _BED_COLUMNS.items():
            try:
                allocated = int(row[alloc_col] or 0)
                vacant = int(row[vacant_col] or 0)
            except ValueError:
                bad = f"{alloc_col}/{vacant_col} not whole numbers: {row[alloc_col]!r}, {row[vacant_col]!r}"
                break
            if allocated < 0 or vacant > allocated:
                bad = f"{bed_type.label}: {vacant} vacant of {allocated} allocated is impossible"
                break
            if allocated or vacant:
                # vacant < 0 is the portal's "beds over utilised N": occupied exceeds total.
                figures.append(BedFigure(bed_type, total=allocated, occupied=allocated - vacant))
        if bad:
            errors.append(RowError(n, bad))
            continue
        commit = (row.get("snapshot_commit") or "")[:12]
        out.append(
            BedReport(
                name=name,
                lat=lat,
                lon=lon,
                snapshot_at=at,
                label=(row.get("general_bed_label") or "").strip()[:40],
                figures=tuple(figures),
                source=(
                    f"Haryana COVID-19 bed portal as '{name}', snapshot {at.isoformat()}"
                    f"{f' (pxthxk/COVIDBedsIndia @{commit})' if commit else ''}; "
                    f"portal last updated {row.get('portal_last_updated', '').strip() or 'unknown'}"
                ),
                row=n,
            )
        )
    return out, errors


def latest_reports(reports: list[BedReport]) -> list[BedReport]:
    """Each hospital's entries from the last snapshot that lists it, newest first."""
    by_name: dict[str, list[BedReport]] = defaultdict(list)
    for rep in reports:
        by_name[rep.name].append(rep)
    latest: list[BedReport] = []
    for reps in by_name.values():
        last = max(r.snapshot_at for r in reps)
        latest.extend(r for r in reps if r.snapshot_at == last)
    return sorted(latest, key=lambda r: (-r.snapshot_at.timestamp(), r.row))


def _kind_for(name: str) -> str:
    # The portal listed hotels and hostels turned into isolation centres next to hospitals.
    return FacilityKind.HOSPITAL if _HOSPITAL_WORDS.search(name) else FacilityKind.COVID_CARE_CENTRE


def plan_facilities(listed: list[ListedFacility], reports: list[BedReport]) -> Plan:
    """Listed facilities plus one per reported hospital, each with its latest bed figures."""
    plan = Plan(
        facilities=[
            PlannedFacility(
                name=f.name,
                kind=f.kind,
                lat=f.lat,
                lon=f.lon,
                address=f.address,
                source=f.source,
                covid_role=f.covid_role,
            )
            for f in listed
        ]
    )
    names = {f.name for f in plan.facilities}
    for rep in latest_reports(reports):
        target = _same_place(plan.facilities, rep)
        if target is not None and target.report is not None and target.report.snapshot_at > rep.snapshot_at:
            plan.superseded.append(f"{rep.name} (row {rep.row}): replaced by '{target.report.name}' at the same place")
            continue
        if target is not None and target.report is None:
            target.report = rep
            continue
        name = rep.name
        suffix = 2
        while name in names:  # one portal name for two branches in one snapshot
            name = f"{rep.name} ({suffix})"
            suffix += 1
        names.add(name)
        plan.facilities.append(
            PlannedFacility(
                name=name,
                kind=_kind_for(rep.name),
                lat=rep.lat,
                lon=rep.lon,
                source=rep.source,
                covid_role=f"listed on the Haryana COVID-19 bed portal (Apr-May 2021), {rep.label or 'isolation'} beds",
                report=rep,
                from_list=False,
            )
        )
    return plan


def _same_place(candidates: list[PlannedFacility], rep: BedReport) -> PlannedFacility | None:
    """The known facility this report is about: near enough and a compatible name.

    Distinct names in the *same* snapshot are distinct facilities (Moms PG-1, PG-2 and PG-3
    stand metres apart), so a report only ever replaces one from an earlier snapshot.
    """
    best: tuple[float, PlannedFacility] | None = None
    for cand in candidates:
        if cand.report is not None and cand.report.snapshot_at == rep.snapshot_at:
            continue
        d = metres_between(cand.lat, cand.lon, rep.lat, rep.lon)
        if d <= SAME_PLACE_METRES and names_compatible(cand.name, rep.name) and (best is None or d < best[0]):
            best = (d, cand)
    return best[1] if best else None
