"""An operator in a real browser: upload a line list, read the report, find a patient, open the record.

Screenshots (English and Hindi) go to var/screenshots/ for review.
"""

from __future__ import annotations

import pytest

from iccc.registry.tests.test_pages_import import LINE_LIST
from iccc.testing.browser import shot, sign_in
from iccc.testing.cast import build_cast


@pytest.fixture
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": tmp_path}},
    }


@pytest.mark.browser
def test_operator_uploads_a_line_list_then_finds_and_opens_a_patient(transactional_db, media_in_tmp, tmp_path, page):
    build_cast()
    line_list = tmp_path / "lab-29-04.csv"
    line_list.write_bytes(LINE_LIST)

    sign_in(page, "operator_a")

    # Upload: the progress fragment polls until done, then shows the summary and the row errors.
    page.goto("/registry/import/")
    shot(page, "registry-import-form-en")
    page.set_input_files("input[type=file]", str(line_list))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-summary", timeout=15000)
    assert page.locator("#error-rows tbody tr").count() >= 1
    assert page.locator("#error-rows").inner_text().count("4") >= 1
    shot(page, "registry-import-report-en")

    # Live search: typing fills the results table without a page load.
    page.goto("/registry/search/")
    page.fill("#id_q", "Ravi Kumaar")
    page.wait_for_selector("#results-table")
    assert "Ravi Kumar" in page.locator("#results-table").inner_text()
    shot(page, "registry-search-en")

    page.click("#results-table a")
    page.wait_for_selector("#access-recorded")
    assert "0660101000001" in page.inner_text("#cases")
    shot(page, "registry-record-en")

    # The same pages in Hindi.
    page.click("button.lang-btn[value=hi]")
    page.wait_for_selector("html[lang=hi]")
    assert "दर्ज" in page.inner_text("#access-recorded")
    shot(page, "registry-record-hi")
    page.goto("/registry/search/?q=Ravi")
    page.wait_for_selector("#results-table")
    shot(page, "registry-search-hi")
    page.goto("/registry/import/")
    page.click("#batches-table a")
    page.wait_for_selector("#import-summary")
    shot(page, "registry-import-report-hi")
