"""Reading bed-portal snapshots and matching them to facilities (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iccc.capacity.models import BedType, FacilityKind
from iccc.capacity.sources import (
    ListedFacility,
    SourceError,
    names_compatible,
    plan_facilities,
    read_bed_snapshots,
    read_facility_list,
)

HEADER = (
    "snapshot_time,snapshot_commit,source_path,hospital,portal_last_updated,general_bed_label,"
    "allocated_general,allocated_icu,allocated_ventilators,vacant_general,vacant_icu,vacant_ventilators,lat,lon\n"
)
T1 = "2021-04-29T13:33:34+05:30"
T2 = "2021-05-01T11:33:51+05:30"


def beds_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "beds.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def row(at: str, name: str, alloc: str, vacant: str, lat: float, lon: float, label: str = "Isolation") -> str:
    return f'{at},abc123,x.js,"{name}",today,{label},{alloc},{vacant},{lat},{lon}'


def test_negative_vacancies_are_beds_over_used(tmp_path: Path) -> None:
    path = beds_file(tmp_path, row(T2, "Paras Hospital", "66,53,18", "-53,0,0", 28.451, 77.087))
    reports, errors = read_bed_snapshots(path)
    assert errors == []
    general = {f.bed_type: f for f in reports[0].figures}[BedType.GENERAL]
    assert (general.total, general.occupied) == (66, 119)


def test_bed_types_with_no_beds_are_left_out(tmp_path: Path) -> None:
    path = beds_file(tmp_path, row(T2, "Hotel Dolphin", "33,0,0", "33,0,0", 28.468, 77.034))
    (report,), _ = read_bed_snapshots(path)
    assert [(f.bed_type, f.total, f.occupied) for f in report.figures] == [(BedType.GENERAL, 33, 0)]


def test_bad_rows_get_a_row_numbered_reason_and_the_good_ones_are_kept(tmp_path: Path) -> None:
    path = beds_file(
        tmp_path,
        row(T2, "Good Hospital", "10,0,0", "2,0,0", 28.45, 77.05),
        row(T2, "Impossible Hospital", "10,0,0", "12,0,0", 28.45, 77.05),
        row(T2, "Wordy Hospital", "ten,0,0", "2,0,0", 28.45, 77.05),
        row("yesterday", "Undated Hospital", "10,0,0", "2,0,0", 28.45, 77.05),
        row(T2, "Lost Hospital", "10,0,0", "2,0,0", 128.45, 77.05),
    )
    reports, errors = read_bed_snapshots(path)
    assert [r.name for r in reports] == ["Good Hospital"]
    assert [e.row for e in errors] == [3, 4, 5, 6]
    assert "12 vacant of 10 allocated" in errors[0].reason
    assert "not whole numbers" in errors[1].reason
    assert "bad snapshot time" in errors[2].reason
    assert "bad coordinates" in errors[3].reason


def test_a_file_without_the_bed_columns_is_refused_with_their_names(tmp_path: Path) -> None:
    path = tmp_path / "beds.csv"
    path.write_text("hospital,lat,lon\nX,28.4,77.0\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"missing column.*allocated_general"):
        read_bed_snapshots(path)


def test_a_facility_list_row_of_an_unknown_kind_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    path.write_text("name,kind,lat,lon\nA,hospital,28.4,77.0\nB,spaceport,28.4,77.0\n,hospital,1,1\n", encoding="utf-8")
    listed, errors = read_facility_list(path)
    assert [f.name for f in listed] == ["A"]
    assert [(e.row, e.reason.split(" ")[0]) for e in errors] == [(3, "unknown"), (4, "no")]


def test_the_portal_name_is_matched_to_the_listed_hospital_by_place_and_name(tmp_path: Path) -> None:
    listed = [ListedFacility("ESIC Hospital, Sector 9A", FacilityKind.HOSPITAL, 28.4681, 77.00136)]
    reports, _ = read_bed_snapshots(
        beds_file(tmp_path, row(T2, "ESI Hospital Gurugram", "72,0,0", "0,0,0", 28.4684, 77.0020))
    )
    plan = plan_facilities(listed, reports)
    assert [(f.name, f.report.name if f.report else None) for f in plan.facilities] == [
        ("ESIC Hospital, Sector 9A", "ESI Hospital Gurugram")
    ]


def test_each_hospital_takes_its_last_snapshot_and_renamed_entries_are_superseded(tmp_path: Path) -> None:
    path = beds_file(
        tmp_path,
        row(T1, "Civil Hospital.", "20,0,0", "5,0,0", 28.45646, 76.99742),
        row(T2, "Civil Hospital gurugram", "20,0,0", "0,0,0", 28.456455, 76.997418),
        row(T1, "Kalyani Hospital", "20,0,0", "9,0,0", 28.4678, 77.0425),
        row(T2, "Kalyani Hospital", "20,0,0", "6,0,0", 28.4678, 77.0425),
    )
    plan = plan_facilities([], read_bed_snapshots(path)[0])
    by_name = {f.name: f for f in plan.facilities}
    assert sorted(by_name) == ["Civil Hospital gurugram", "Kalyani Hospital"]
    kalyani = by_name["Kalyani Hospital"].report
    assert kalyani is not None
    assert kalyani.figures[0].occupied == 14  # the 1 May figure
    assert plan.superseded == ["Civil Hospital. (row 2): replaced by 'Civil Hospital gurugram' at the same place"]


def test_distinct_names_in_one_snapshot_stay_distinct_even_metres_apart(tmp_path: Path) -> None:
    path = beds_file(
        tmp_path,
        row(T2, "Moms PG-1", "40,0,0", "40,0,0", 28.49971, 77.0604),
        row(T2, "Moms PG-2", "40,0,0", "40,0,0", 28.49969, 77.06044),
    )
    plan = plan_facilities([], read_bed_snapshots(path)[0])
    assert [f.name for f in plan.facilities] == ["Moms PG-1", "Moms PG-2"]
    assert {f.kind for f in plan.facilities} == {FacilityKind.COVID_CARE_CENTRE}


def test_names_compatible_allows_abbreviations_but_not_strangers() -> None:
    assert names_compatible("ESI Hospital Gurugram", "ESIC Hospital, Sector 9A")
    assert names_compatible("Colombia Asia Hospital", "Columbia Asia Hospital Palam Vihar")
    assert not names_compatible("Hotel New Destination", "Pushpanjali Hospital")
