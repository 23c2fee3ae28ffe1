"""The lab-result upload page with the real import services (the task runs at once in tests)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from iccc.registry.models import Case, ImportBatch, ImportStatus
from iccc.registry.tests.test_pages import ALL

HEADER = (
    "SRF ID,Patient Name,Age,Gender,Mobile Number,Address,Sample Collection Date,Result Date,Result,Lab Name,"
    "Latitude,Longitude\n"
)
ROWS = [
    "0660101000001,Ravi Kumar,34,M,98765 43210,H.No 12 West Block,28-04-2021,29-04-2021,Positive,Civil Lab,28.45,77.05",
    "0660101000002,Sunita Devi,52,F,+91 98111 22233,Flat 4,28-04-2021,29-04-2021,Positive,Civil Lab,28.45,77.15",
    "0660101000003,Mohd Irfan,29,M,9822233344,Unknown lane,28-04-2021,31-02-2021,Positive,Civil Lab,,",
    "0660101000001,Ravi Kumar,34,M,98765 43210,H.No 12 West Block,28-04-2021,29-04-2021,Positive,Civil Lab,28.45,77.05",
]
LINE_LIST = (HEADER + "\n".join(ROWS) + "\n").encode()


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": tmp_path}},
    }


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    """Post a file as `user`; the task is enqueued on commit and (ImmediateBackend) runs at once."""

    def post(client, user, content: bytes = LINE_LIST, name: str = "lab-29-04.csv"):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("registry:import"), {"file": SimpleUploadedFile(name, content, "text/csv")})

    return post


def test_uploading_a_line_list_imports_it_and_shows_the_report(client, cast, upload):
    response = upload(client, cast.operator_a)
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("registry:import_detail", args=[batch.pk])
    assert (batch.status, batch.uploaded_by, batch.source) == (ImportStatus.DONE, cast.operator_a, "web")
    assert set(Case.objects.values_list("srf_id", flat=True)) == {"0660101000001", "0660101000002"}

    html = client.get(response["Location"]).content.decode()
    assert 'id="import-summary"' in html
    assert 'id="error-rows"' in html
    assert "hx-trigger" not in html  # finished: nothing polls any more
    # Row 4 (impossible date) and row 5 (the same SRF ID again) are reported by row number.
    rows_reported = {e["row"] for e in batch.errors}
    assert 4 in rows_reported
    assert ">4<" in html


def test_the_progress_fragment_polls_until_done_then_stops(client, cast, upload):
    upload(client, cast.operator_a)
    batch = ImportBatch.objects.get()
    url = reverse("registry:import_progress", args=[batch.pk])
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done.status_code == 286  # HTMX: stop polling
    assert "Import finished" in done.content.decode()
    # While a batch is still running, the fragment carries the once-a-second trigger and a <progress>.
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING, rows_done=1, rows_total=4)
    running = client.get(url, HTTP_HX_REQUEST="true")
    html = running.content.decode()
    assert running.status_code == 200
    assert 'hx-trigger="every 1s"' in html
    assert '<progress class="progress" value="25" max="100">' in html


def test_the_error_report_downloads_as_csv(client, cast, upload):
    upload(client, cast.operator_a)
    batch = ImportBatch.objects.get()
    response = client.get(reverse("registry:import_errors", args=[batch.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["row", "reason"]
    assert {r[0] for r in rows[1:]} >= {"4"}


def test_reuploading_the_same_file_changes_nothing(client, cast, upload):
    upload(client, cast.operator_a)
    cases = set(Case.objects.values_list("id", "srf_id", "updated_at"))
    upload(client, cast.operator_a)
    assert set(Case.objects.values_list("id", "srf_id", "updated_at")) == cases


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("lab.pdf", b"%PDF-1.4", "is not a CSV or XLSX file"),
        ("lab.csv", b"", "empty"),
    ],
)
def test_a_bad_upload_is_refused_with_a_reason_and_stores_nothing(client, cast, upload, name, content, message):
    response = upload(client, cast.operator_a, content, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_file_without_the_required_columns_fails_with_a_clear_reason(client, cast, upload):
    response = upload(client, cast.operator_a, b"foo,bar\n1,2\n", "junk.csv")
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    html = client.get(response["Location"]).content.decode()
    assert 'id="import-failed"' in html


UPLOAD_PAGE = {
    "lead": 200,
    "operator_a": 200,
    "operator_b": 200,
    "doctor_a": 403,
    "volunteer_a": 403,
    "partner_staff": 403,
    "rival_staff": 403,
    "facility_staff": 403,
    "analyst": 403,
    "other_district_lead": 200,
}
SEES_BATCH = {"lead", "operator_a", "operator_b"}


@pytest.mark.parametrize("who", ALL)
def test_import_pages_are_for_operators_and_leads_of_the_district(client, cast, upload, who):
    upload(client, cast.operator_a)
    batch = ImportBatch.objects.get()
    client.logout()
    user = getattr(cast, who)
    client.force_login(user)
    assert client.get(reverse("registry:import")).status_code == UPLOAD_PAGE[who]
    assert client.get(reverse("registry:imports")).status_code == UPLOAD_PAGE[who]
    expected = 200 if who in SEES_BATCH else 404
    for name in ("registry:import_detail", "registry:import_progress", "registry:import_errors"):
        assert client.get(reverse(name, args=[batch.pk])).status_code in (expected, 286 if expected == 200 else 404)
    if UPLOAD_PAGE[who] == 200:
        listed = "lab-29-04.csv" in client.get(reverse("registry:imports")).content.decode()
        assert listed == (who in SEES_BATCH)
    if UPLOAD_PAGE[who] == 403:
        response = client.post(reverse("registry:import"), {"file": SimpleUploadedFile("x.csv", LINE_LIST)})
        assert response.status_code == 403
        assert ImportBatch.objects.count() == 1


def test_the_recent_imports_list_has_a_bounded_number_of_queries(client, cast, upload, django_assert_max_num_queries):
    for i in range(3):
        upload(client, cast.operator_a, LINE_LIST.replace(b"0660101", f"07{i}0101".encode()), f"lab-{i}.csv")
    client.force_login(cast.lead)
    with django_assert_max_num_queries(8):
        html = client.get(reverse("registry:imports")).content.decode()
    assert html.count("lab-") >= 3


def test_the_row_errors_are_written_in_the_language_of_the_page_that_uploaded_the_file(client, cast, upload):
    client.cookies["django_language"] = "hi"
    upload(client, cast.operator_a)
    reasons = {e["row"]: e["reason"] for e in ImportBatch.objects.get().errors}
    assert reasons[4] == "नतीजे की तारीख़: 31-02-2021 कोई वास्तविक तारीख़ नहीं है"
    assert reasons[5].startswith("फ़ाइल में SRF ID 0660101000001 दोबारा है")
    html = client.get(reverse("registry:import_detail", args=[ImportBatch.objects.get().pk])).content.decode()
    assert "नतीजे की तारीख़: 31-02-2021" in html
