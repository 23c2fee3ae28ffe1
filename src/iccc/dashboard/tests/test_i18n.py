import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from iccc.testing.cast import Cast


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    # LocaleMiddleware activates Hindi in this thread for the test client's requests and
    # leaves it active; put English back so later tests (and their output) are unaffected.
    yield
    translation.activate(settings.LANGUAGE_CODE)


CATALOGUE = Path(settings.LOCALE_PATHS[0]) / "hi" / "LC_MESSAGES"


def _client(user, language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


def test_every_home_page_reads_in_hindi(cast: Cast) -> None:
    expected = {
        "lead": "ज़िले का सारांश",
        "operator_a": "ऑपरेटर डेस्क",
        "volunteer_a": "मेरे लोग",
        "facility_staff": "आपके अस्पताल/केंद्र को भेजे गए मरीज़",
        "analyst": "ज़िले के आँकड़े",
    }
    for name, heading in expected.items():
        html = _client(getattr(cast, name), "hi").get("/").content.decode()
        assert heading in html, name
        assert 'lang="hi"' in html
        assert "साइन आउट" in html


def test_role_labels_are_translated() -> None:
    with translation.override("hi"):
        from iccc.accounts.models import Role

        assert str(Role.COMMAND_LEAD.label) == "कमांड प्रमुख"
        assert all(re.search("[\u0900-\u097f]", str(label)) for _, label in Role.choices)


def test_the_shipped_catalogue_is_compiled_and_has_no_empty_translations() -> None:
    po = (CATALOGUE / "django.po").read_text(encoding="utf-8")
    assert (CATALOGUE / "django.mo").stat().st_size > 10_000
    # Entries from the UI's own files (accounts, core, dashboard, templates) must all be translated.
    entries = po.split("\n\n")
    ours = [e for e in entries if re.search(r"^#: (accounts|core|dashboard|templates)/", e, re.M)]
    assert ours
    empty = [e for e in ours if re.search(r'^msgstr(\[0\])? ""\n(?!")', e + "\n", re.M) or "#, fuzzy" in e]
    assert empty == [], empty[:3]


def test_a_refused_new_password_is_explained_in_hindi(cast: Cast) -> None:
    client = _client(cast.operator_a, "hi")
    response = client.post(
        "/accounts/password/",
        {"old_password": "correct horse battery", "new_password1": "12345", "new_password2": "12345"},
    )
    html = response.content.decode()
    assert "यह पासवर्ड बहुत छोटा है" in html
    assert "इस पासवर्ड में केवल अंक हैं" in html
