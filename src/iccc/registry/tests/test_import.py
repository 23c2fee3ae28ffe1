"""The lab line-list import: bad input gets a row-numbered reason, good rows are kept, nothing is half-written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry, Event
from iccc.registry import services
from iccc.registry.importer import pipeline
from iccc.registry.importer.validate import RowError, parse_date
from iccc.registry.models import Case, ImportBatch, ImportStatus, Person, Placement
from iccc.registry.models import TestResult as Result
from iccc.registry.tests.test_import_support import (
    HEADER,
    RECEIVED,
    csv_text,
    import_file,
    reasons,
    row,
    write_csv,
)

# Every behaviour below holds whether the file is read in this process or beside it (big files).
pytestmark = pytest.mark.usefixtures("import_mode")


def test_a_clean_file_creates_people_cases_results_and_is_placed(placed: Any, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ok.csv",
        [row("0601", "Ravi Kumar"), row("0602", "Sunita Devi", **{"Mobile Number": "9812345678", "Address": "Sohna"})],
    )
    summary = import_file(path, placed.district)
    assert (summary.rows_total, summary.new_cases, summary.new_people, summary.rows_in_error) == (2, 2, 2, 0)
    ravi = Person.objects.get(name="Ravi Kumar")
    assert ravi.phone == "+919876543210"
    assert ravi.phone_kind == "mobile"
    assert ravi.zone_id == placed.zone_a.pk
    assert ravi.placement == Placement.GAZETTEER
    case = Case.objects.get(srf_id="0601")
    assert case.result_date == date(2021, 4, 28)
    assert case.sample_date == date(2021, 4, 27)
    assert case.result_received_at == RECEIVED
    assert case.import_row == 2
    assert case.test_type == "rtpcr"
    assert case.zone_id == placed.zone_a.pk
    assert Result.objects.filter(case=case, positive=True).count() == 1
    assert Person.objects.get(name="Sunita Devi").zone_id == placed.zone_b.pk


def test_every_bad_row_gets_its_spreadsheet_row_number_and_a_reason(placed: Any, tmp_path: Path) -> None:
    rows = [
        row("A1"),  # row 2: fine
        row("A2", **{"Result Date": "31/02/2021"}),  # 3
        row("A3", **{"Mobile Number": "1950"}),  # 4
        row("A4", **{"Mobile Number": "0000000000"}),  # 5
        row("A5", **{"Mobile Number": "+91 98765 4321"}),  # 6
        row("A6", **{"Result": "Negative"}),  # 7
        row("A7", **{"Address": "H.No 5, Sector 15, Faridabad"}),  # 8
        row("A1", "Ravi Kumar"),  # 9: same SRF ID again in this file
        row("A9", **{"Result Date": "28/04/2031"}),  # 10: future
        row("A10", **{"Sample Collection Date": "29/04/2021", "Result Date": "28/04/2021"}),  # 11
        row("A11", **{"Result Date": "15/12/2019"}),  # 12: before 2020
        row("A12", **{"Mobile Number": ""}),  # 13
        row("A13", **{"Patient Name": ""}),  # 14
        row("", "No Srf"),  # 15
        row("A15", **{"Age": "two hundred"}),  # 16
        row("A16", **{"Result Date": "soon"}),  # 17
    ]
    summary = import_file(write_csv(tmp_path / "bad.csv", rows), placed.district)
    got = reasons(summary)
    assert summary.new_cases == 1
    assert summary.rows_in_error == 15
    assert summary.rows_total == 16
    assert "31/02/2021 is not a real date" in got[3]
    assert "short code" in got[4]
    assert "placeholder" in got[5]
    assert "9 digits" in got[6]
    assert got[7] == "result is not positive"
    assert "outside the district" in got[8]
    assert "Faridabad" in got[8]
    assert "duplicate SRF ID" in got[9]
    assert "row 2" in got[9]
    assert "in the future" in got[10]
    assert "before the sample date" in got[11]
    assert "before 2020" in got[12]
    assert "phone number is missing" in got[13]
    assert got[14] == "patient name is missing"
    assert got[15] == "SRF ID is missing"
    assert "age" in got[16]
    assert "not a date" in got[17]
    assert Case.objects.count() == 1


def test_rows_outside_the_district_by_column_or_coordinates_are_refused(placed: Any, tmp_path: Path) -> None:
    header = [*HEADER, "District", "Latitude", "Longitude"]
    rows = [
        row("B1", **{"District": "Gurgaon" if placed.district.name == "Gurugram" else placed.district.name}),
        row("B2", **{"District": "Faridabad"}),
        row("B3", "Asha Rani", **{"Mobile Number": "9812345678", "Latitude": "28.45", "Longitude": "77.15"}),
        row("B4", **{"Latitude": "19.07", "Longitude": "72.87"}),  # Mumbai
    ]
    summary = import_file(write_csv(tmp_path / "d.csv", rows, header=header), placed.district)
    got = reasons(summary)
    assert set(got) == {3, 5}
    assert "names district Faridabad" in got[3]
    assert "coordinates" in got[5]
    assert "outside the district" in got[5]
    b3 = Case.objects.get(srf_id="B3")
    assert b3.zone_id == placed.zone_b.pk
    assert b3.person.placement == Placement.COORDINATES


def test_an_address_nobody_can_place_is_kept_and_counted_unplaced(placed: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "u.csv", [row("C1", **{"Address": "near the big tree"})])
    summary = import_file(path, placed.district)
    assert summary.new_cases == 1
    assert summary.unplaced == 1
    assert Person.objects.get().placement == Placement.UNPLACED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04/05/2021", date(2021, 5, 4)),  # day first: the Indian default
        ("4-5-2021", date(2021, 5, 4)),
        ("04.05.21", date(2021, 5, 4)),
        ("2021-05-04", date(2021, 5, 4)),
        ("04-May-2021", date(2021, 5, 4)),
        ("4 May 2021", date(2021, 5, 4)),
        ("44320", date(2021, 5, 4)),  # an Excel serial
        ("2021-05-04 10:30:00", date(2021, 5, 4)),
    ],
)
def test_dates_in_the_usual_indian_forms_are_understood(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2021", "32/01/2021", "15/13/2021", "yesterday", "04-Mai-2021"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(RowError):
        parse_date(text)


def test_header_variants_are_recognised(placed: Any, tmp_path: Path) -> None:
    header = ["srf_id", "Name", "Age (Years)", "Sex", "Contact No", "Residential Address", "Date of Sample Collection",
              "Date of Result", "Final Result", "Testing Lab", "Type of Test", "Patient ID"]  # fmt: skip
    text = ",".join(header) + "\r\nS1,Asha Rani,29,F,98123 45678,Sector 45,26/04/2021,27/04/2021,POS,SRL,RAT,P-77\r\n"
    (tmp_path / "v.csv").write_text(text, encoding="utf-8")
    summary = import_file(tmp_path / "v.csv", placed.district)
    assert summary.new_cases == 1, summary.errors
    case = Case.objects.get(srf_id="S1")
    assert (case.test_type, case.icmr_id, case.lab_name, case.person.sex, case.person.age) == (
        "rat",
        "P-77",
        "SRL",
        "F",
        29,
    )


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")],
)
def test_the_usual_encodings_are_read_and_the_one_used_is_reported(
    placed: Any, tmp_path: Path, encoding: str, reported: str
) -> None:
    name = "José Fernandes" if encoding != "utf-16" else "José Fernandes ज"
    path = write_csv(tmp_path / "e.csv", [row("E1", name)], encoding=encoding)
    summary = import_file(path, placed.district)
    assert summary.new_cases == 1
    assert summary.encoding == reported
    assert Person.objects.get().name == name


def test_excel_utf16_tab_separated_text_is_read(placed: Any, tmp_path: Path) -> None:
    text = csv_text([row("T1")]).replace(",", "\t")
    (tmp_path / "t.txt").write_bytes(text.encode("utf-16"))
    summary = import_file(tmp_path / "t.txt", placed.district)
    assert summary.new_cases == 1, summary.errors


def test_an_empty_file_fails_the_batch_with_a_clear_message(placed: Any, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(services.ImportFileError, match="empty"):
        services.create_import_batch(tmp_path / "empty.csv", district=placed.district, actor=None)
    (tmp_path / "blank.csv").write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    summary = import_file(tmp_path / "blank.csv", placed.district)
    assert "empty" in summary.failure
    assert ImportBatch.objects.get().status == ImportStatus.FAILED


def test_a_file_without_a_recognisable_header_says_which_columns_it_expected(placed: Any, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("foo,bar,baz\n1,2,3\n", encoding="utf-8")
    summary = import_file(tmp_path / "x.csv", placed.district)
    assert "no header row" in summary.failure
    assert "SRF ID" in summary.failure
    (tmp_path / "y.csv").write_text("Patient Name,Age,Gender,Mobile Number\nRavi,3,M,9876543210\n", encoding="utf-8")
    summary = import_file(tmp_path / "y.csv", placed.district)
    assert "no column for" in summary.failure
    assert "SRF ID" in summary.failure


def test_a_file_over_the_size_limit_is_refused_and_not_kept(
    placed: Any, tmp_path: Path, settings: Any, media: Path
) -> None:
    settings.ICCC_MAX_IMPORT_BYTES = 100
    path = write_csv(tmp_path / "big.csv", [row(f"Z{i}") for i in range(10)])
    with pytest.raises(services.ImportFileError, match="larger than"):
        services.create_import_batch(path, district=placed.district, actor=None)
    assert not ImportBatch.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def _xlsx(path: Path, rows: list[Any], merges: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)
    return path


def test_xlsx_with_a_merged_title_row_above_the_header(placed: Any, tmp_path: Path) -> None:
    data = [
        ["Gurugram positive line list 29.04.2021"],
        [],
        HEADER,
        ["X1", "Ravi Kumar", 34, "M", 9876543210, "H.No 12, Sector 45", "27/04/2021", date(2021, 4, 28), "Positive",
         "SRL", "RT-PCR"],
        ["X2", "Asha", 30, "F", "98123 45678", "Sohna", date(2021, 4, 27), "31/02/2021", "Positive", "SRL", "RAT"],
        [None] * 11,
        ["X3", "Mohd Salim", 51, "M", "1950", "Sector 45", "27/04/2021", "28/04/2021", "Positive", "SRL", "RAT"],
    ]  # fmt: skip
    path = _xlsx(tmp_path / "list.xlsx", data, merges=("A1:K1",))
    summary = import_file(path, placed.district)
    assert summary.header_row == 3
    assert summary.encoding == "xlsx"
    assert summary.new_cases == 1
    assert set(reasons(summary)) == {5, 7}  # the row numbers Excel shows
    case = Case.objects.get(srf_id="X1")
    assert case.result_date == date(2021, 4, 28)
    assert case.person.phone == "+919876543210"


def test_xlsx_with_a_two_row_merged_header(placed: Any, tmp_path: Path) -> None:
    data = [
        ["SRF ID", "Patient details", None, None, "Mobile Number", "Dates", None, "Result"],
        [None, "Name", "Age", "Sex", None, "Sample Collection Date", "Result Date", None],
        ["M1", "Ravi Kumar", 34, "M", "9876543210", "27/04/2021", "28/04/2021", "POS"],
    ]
    path = _xlsx(tmp_path / "two.xlsx", data, merges=("A1:A2", "B1:D1", "E1:E2", "F1:G1", "H1:H2"))
    summary = import_file(path, placed.district)
    assert summary.new_cases == 1, summary.errors
    assert summary.header_row == 2
    assert Case.objects.get().person.age == 34


def test_an_empty_workbook_is_refused(placed: Any, tmp_path: Path) -> None:
    summary = import_file(_xlsx(tmp_path / "e.xlsx", []), placed.district)
    assert "empty" in summary.failure


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(placed: Any, tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("SRF ID,Name\n", encoding="utf-8")
    summary = import_file(tmp_path / "fake.xlsx", placed.district)
    assert "not an Excel workbook" in summary.failure


def test_reimporting_the_same_file_changes_nothing(placed: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row("R1"), row("R2", "Asha Rani", **{"Mobile Number": "9812345678"})])
    first = import_file(path, placed.district)
    counts = (Person.objects.count(), Case.objects.count(), Result.objects.count(), Event.objects.count())
    second = import_file(path, placed.district)
    assert first.new_cases == 2
    assert (second.new_cases, second.new_people, second.duplicates, second.rows_in_error) == (0, 0, 2, 0)
    assert (Person.objects.count(), Case.objects.count(), Result.objects.count(), Event.objects.count()) == counts


def test_every_new_case_publishes_case_registered_with_the_time_the_result_arrived(placed: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ev.csv", [row("V1"), row("V2", "Asha Rani", **{"Mobile Number": "9812345678"})])
    import_file(path, placed.district)
    events = list(Event.objects.filter(name="case_registered"))
    assert len(events) == 2
    case = Case.objects.get(srf_id="V1")
    payload = next(e.payload for e in events if e.payload["case_id"] == str(case.pk))
    assert payload["person_id"] == str(case.person_id)
    assert payload["zone_id"] == placed.zone_a.pk
    assert payload["result_received_at"] == RECEIVED.isoformat()
    assert payload["age"] == 34
    assert payload["severity"] == "unknown"
    assert all(e.occurred_at == RECEIVED and e.district_id == placed.district.pk for e in events)


def test_one_audit_row_per_batch_carries_the_summary(placed: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row("AU1"), row("AU2", **{"Mobile Number": "1950"})])
    summary = import_file(path, placed.district, actor=None)
    entries = AuditEntry.objects.filter(action=AuditAction.IMPORT)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.target_id == str(summary.batch_id)
    assert entry.changes["new_cases"] == 1
    assert entry.changes["rows_in_error"] == 1
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.DONE
    assert batch.rows_done == 2
    assert batch.errors[0]["row"] == 3
    assert batch.sha256
    assert batch.size_bytes > 0
    assert (batch.stored_file.name or "").startswith("imports/")


def test_a_crash_mid_file_leaves_whole_chunks_and_a_rerun_completes(
    placed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row(f"K{i:03d}", f"Person {chr(65 + i % 26)}{i}", **{"Mobile Number": f"98{i:08d}"}) for i in range(25)]
    path = write_csv(tmp_path / "k.csv", rows)
    batch = services.create_import_batch(path, district=placed.district, actor=None, received_at=RECEIVED)
    real = pipeline.Importer._write_new
    calls = {"n": 0}

    def failing(self: Any, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        real(self, *args, **kwargs)  # the chunk's rows are written ... then the process dies
        if calls["n"] == 2:
            raise RuntimeError("power cut")

    monkeypatch.setattr(pipeline.Importer, "_write_new", failing)
    with pytest.raises(RuntimeError):
        services.run_import(batch, chunk_rows=10)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED
    assert "power cut" in batch.failure
    assert batch.summary["new_cases"] == 10  # the report matches what was committed
    assert Case.objects.count() == 10  # chunk 1 whole, chunk 2 rolled back entirely
    assert Person.objects.count() == 10
    assert Result.objects.count() == 10
    assert Event.objects.filter(name="case_registered").count() == 10
    monkeypatch.setattr(pipeline.Importer, "_write_new", real)
    summary = services.run_import(batch, chunk_rows=10)
    assert (summary.new_cases, summary.duplicates) == (15, 10)
    assert Case.objects.count() == 25
    assert Person.objects.count() == 25


def test_import_records_takes_in_memory_rows_like_the_simulator(placed: Any) -> None:
    summary = services.import_records(
        [row("IM1"), row("IM2", **{"Result": "NEG"})], district=placed.district, received_at=RECEIVED
    )
    assert summary.new_cases == 1
    assert reasons(summary) == {3: "result is not positive"}
    assert Case.objects.get().result_received_at == RECEIVED
    assert ImportBatch.objects.get().source == "simulator"


def test_the_background_task_runs_a_queued_batch(placed: Any, tmp_path: Path) -> None:
    from iccc.registry.tasks import run_import_task

    batch = services.create_import_batch(
        write_csv(tmp_path / "bg.csv", [row("BG1")]), district=placed.district, actor=placed.lead
    )
    run_import_task.enqueue(batch.pk)  # the test settings run tasks immediately
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE
    assert batch.summary["new_cases"] == 1
    assert AuditEntry.objects.get(action=AuditAction.IMPORT).actor_id == placed.lead.pk


def test_cli_json_prints_the_summary_with_row_numbered_errors(placed: Any, tmp_path: Path, capsys: Any) -> None:
    path = write_csv(tmp_path / "cli.csv", [row("CL1"), row("CL2", **{"Mobile Number": "108"})])
    call_command(
        "import_results", str(path), "--district", placed.district.code, "--json", "--received-at", RECEIVED.isoformat()
    )
    out = json.loads(capsys.readouterr().out)
    assert out["new_cases"] == 1
    assert out["rows_in_error"] == 1
    assert out["errors"] == [{"row": 3, "reason": out["errors"][0]["reason"]}]
    assert "short code" in out["errors"][0]["reason"]
    for key in ("rows_total", "new_people", "updated", "duplicates", "unplaced", "possible_duplicates", "seconds"):
        assert key in out
    assert Case.objects.get().result_received_at == RECEIVED


def test_cli_human_output_and_a_progress_bar(placed: Any, tmp_path: Path, capsys: Any) -> None:
    path = write_csv(tmp_path / "h.csv", [row("H1")])
    call_command("import_results", str(path), "--district", placed.district.code)
    captured = capsys.readouterr()
    assert "new cases" in captured.out
    assert "rows" in captured.err


def test_cli_refuses_an_unknown_district_or_file(placed: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no district"):
        call_command("import_results", str(tmp_path / "x.csv"), "--district", "nowhere")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_results", str(tmp_path / "missing.csv"), "--district", placed.district.code)


def test_a_big_batch_reaches_subscribers_as_saved_events_after_commit(
    placed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from iccc.core import events as core_events

    seen: list[Any] = []
    core_events.subscribe("case_registered", seen.extend)
    try:
        rows = [row(f"BB{i}", f"Person {i}", **{"Mobile Number": f"97{i:08d}"}) for i in range(300)]
        with django_capture_on_commit_callbacks(execute=True):
            services.import_records(rows, district=placed.district, received_at=RECEIVED)
    finally:
        core_events._subscribers["case_registered"].remove(seen.extend)
    assert len(seen) == 300
    stored = {e.pk: e.payload["case_id"] for e in Event.objects.filter(name="case_registered")}
    assert {e.pk: e.payload["case_id"] for e in seen} == stored
    assert set(stored.values()) == {str(pk) for pk in Case.objects.values_list("pk", flat=True)}
