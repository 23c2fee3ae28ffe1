"""Every write to facilities and beds. Loading a district's facility list is idempotent."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from iccc.accounts.models import Organisation, OrganisationKind
from iccc.capacity import sources
from iccc.capacity.models import BedCapacity, Facility, FacilityKind
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.geo import index
from iccc.geo.models import District

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_FACILITY_FIELDS = ("kind", "lat", "lon", "address", "source", "covid_role", "zone_id", "organisation_id")
_BED_FIELDS = ("total", "occupied", "label", "source")
# Places whose staff are an organisation of their own (facility-staff users are scoped by it).
_ORGANISATION_KINDS = {FacilityKind.HOSPITAL, FacilityKind.COVID_CARE_CENTRE}


@dataclass
class FacilityLoadSummary:
    """What a load did; `errors` are row-level reasons, `superseded` renamed portal entries."""

    facilities_created: int = 0
    facilities_updated: int = 0
    facilities_unchanged: int = 0
    beds_created: int = 0
    beds_updated: int = 0
    beds_unchanged: int = 0
    organisations_created: int = 0
    outside_district: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.facilities_created
            or self.facilities_updated
            or self.beds_created
            or self.beds_updated
            or self.organisations_created
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def demo_files(code: str) -> tuple[Path, Path]:
    """The bundled facility list and bed snapshot of a demo district."""
    folder = DATA_DIR / code
    facilities, beds = folder / "facilities.csv", folder / f"{code}_hospital_beds_2021-04.csv"
    if not facilities.exists():
        raise sources.SourceError(_("No bundled facility data for %(code)s.") % {"code": code})
    return facilities, beds


def _zone_id_for(district: District, lat: float, lon: float) -> int | None:
    return index.zone_for_point(district.pk, lat, lon)


@transaction.atomic
def load_facilities(
    district: District,
    *,
    facilities_csv: Path,
    beds_csv: Path | None = None,
    actor: Any = None,
    as_of: datetime | None = None,
) -> FacilityLoadSummary:
    """Create or update the district's facilities and their latest bed figures.

    Running it again with the same files changes nothing and writes no audit row.
    `as_of` stamps new or changed bed figures with that time instead of the snapshot's
    own (the demo uses it so a fresh demo does not open with every figure stale).
    """
    summary = FacilityLoadSummary()
    listed, errors = sources.read_facility_list(facilities_csv)
    summary.errors += [{"file": facilities_csv.name, "row": e.row, "reason": e.reason} for e in errors]
    reports: list[sources.BedReport] = []
    if beds_csv is not None:
        reports, errors = sources.read_bed_snapshots(beds_csv)
        summary.errors += [{"file": beds_csv.name, "row": e.row, "reason": e.reason} for e in errors]
    plan = sources.plan_facilities(listed, reports)
    summary.superseded = plan.superseded

    existing = {f.name: f for f in Facility.objects.filter(district=district).prefetch_related("beds")}
    orgs = {o.name: o for o in Organisation.objects.filter(district=district)}
    records: list[audit.AuditRecord] = []
    for planned in plan.facilities:
        zone_id = _zone_id_for(district, planned.lat, planned.lon)
        if zone_id is None:
            summary.outside_district.append(planned.name)
            continue
        org = orgs.get(planned.name)
        if org is None and planned.kind in _ORGANISATION_KINDS:
            org = Organisation.objects.create(district=district, name=planned.name, kind=OrganisationKind.HOSPITAL)
            orgs[org.name] = org
            summary.organisations_created += 1
            records.append(_record(AuditAction.CREATE, org, {"kind": [None, org.kind]}))
        wanted = {
            "kind": planned.kind,
            "lat": planned.lat,
            "lon": planned.lon,
            "address": planned.address,
            "source": planned.source,
            "covid_role": planned.covid_role,
            "zone_id": zone_id,
            "organisation_id": org.pk if org else None,
        }
        facility = existing.get(planned.name)
        if facility is None:
            facility = Facility.objects.create(district=district, name=planned.name, **wanted)
            summary.facilities_created += 1
            records.append(_record(AuditAction.CREATE, facility, {k: [None, v] for k, v in wanted.items()}))
        else:
            before = {k: getattr(facility, k) for k in _FACILITY_FIELDS}
            changes = audit.diff(before, wanted)
            if changes:
                for k, v in wanted.items():
                    setattr(facility, k, v)
                facility.save()
                summary.facilities_updated += 1
                records.append(_record(AuditAction.UPDATE, facility, changes))
            else:
                summary.facilities_unchanged += 1
        if planned.report is not None:
            _apply_beds(facility, planned.report, as_of, summary, records)
    if records:
        records.append(
            audit.AuditRecord(
                action=AuditAction.IMPORT,
                target_type="capacity.facility",
                target_id=district.code,
                target_label=_("facility list of %(district)s") % {"district": district.name},
                changes={
                    "files": [None, [p.name for p in (facilities_csv, beds_csv) if p is not None]],
                    "summary": [None, {k: v for k, v in summary.as_dict().items() if isinstance(v, int)}],
                },
            )
        )
        audit.record_many(actor, records)
    return summary


def _apply_beds(
    facility: Facility,
    report: sources.BedReport,
    as_of: datetime | None,
    summary: FacilityLoadSummary,
    records: list[audit.AuditRecord],
) -> None:
    current = {b.bed_type: b for b in facility.beds.all()}
    for fig in report.figures:
        wanted: dict[str, Any] = {
            "total": fig.total,
            "occupied": fig.occupied,
            "label": report.label,
            "source": report.source,
        }
        bed = current.get(fig.bed_type)
        if bed is None:
            bed = BedCapacity.objects.create(
                facility=facility, bed_type=fig.bed_type, updated_at=as_of or report.snapshot_at, **wanted
            )
            summary.beds_created += 1
            records.append(_record(AuditAction.CREATE, bed, {k: [None, v] for k, v in wanted.items()}))
            continue
        changes = audit.diff({k: getattr(bed, k) for k in _BED_FIELDS}, wanted)
        if not changes:
            summary.beds_unchanged += 1
            continue
        for k, v in wanted.items():
            setattr(bed, k, v)
        bed.updated_at = as_of or report.snapshot_at
        bed.save()
        summary.beds_updated += 1
        records.append(_record(AuditAction.UPDATE, bed, changes))


def _record(action: AuditAction, obj: Any, changes: dict[str, Any]) -> audit.AuditRecord:
    return audit.AuditRecord(
        action=action,
        target_type=obj._meta.label_lower,
        target_id=str(obj.pk),
        target_label=str(obj)[:200],
        changes={k: [audit._jsonable(a), audit._jsonable(b)] for k, (a, b) in changes.items()},
    )
