"""The analyst page through the test client: who may open it, what it shows, Hindi, query counts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from iccc.insight.models import InsightRun
from iccc.insight.tests.conftest import Epidemic
from iccc.testing.cast import Cast

PAGE = "/insight/"
CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "hi" / "LC_MESSAGES"


def _client(user: Any, language: str = "en") -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


ACCESS = {
    "lead": 200, "analyst": 200, "other_district_lead": 200, "operator_a": 403, "operator_b": 403,
    "doctor_a": 403, "volunteer_a": 403, "partner_staff": 403, "rival_staff": 403, "facility_staff": 403,
}  # fmt: skip


def test_who_may_open_the_analyst_page(computed: Epidemic) -> None:
    for name, status in ACCESS.items():
        assert _client(getattr(computed.cast, name)).get(PAGE).status_code == status, name
    assert Client().get(PAGE).status_code == 302  # to the sign-in page


def test_the_page_draws_every_chart_and_explains_the_numbers(computed: Epidemic) -> None:
    html = _client(computed.cast.analyst).get(PAGE).content.decode()
    for chart in ("epi", "rt", "fc", "pool-general", "pool-icu", "pool-ventilator", "oxygen", "scenarios"):
        assert f'data-chart="{chart}"' in html, chart
    assert "Each person with COVID-19 is passing it on to about" in html
    assert "We are 95% sure it is between" in html
    assert "Rt is above 1: the epidemic is growing" in html
    assert "In the week ending" in html
    assert 'id="hotspot-map"' in html
    assert 'id="hotspot-data"' in html
    assert "beds not on record" in html  # the cast has no ventilator beds
    assert "Data up to 20 April 2021" in html


def test_another_districts_lead_sees_their_own_empty_state_not_ours(computed: Epidemic) -> None:
    html = _client(computed.cast.other_district_lead).get(PAGE).content.decode()
    assert "No analysis has been computed for this district yet" in html
    assert 'data-chart="rt"' not in html
    assert "Testpur" not in html


def test_a_zone_view_shows_the_zones_charts_with_small_counts_withheld(computed: Epidemic) -> None:
    client = _client(computed.cast.lead)
    html = client.get(PAGE, {"zone": "B"}).content.decode()
    assert 'data-chart="zone-weeks"' in html
    assert "Weeks with 1 to 4 cases are drawn as a short hatched bar" in html
    html_a = client.get(PAGE, {"zone": "A"}).content.decode()
    assert 'data-chart="zone-rt"' in html_a
    assert 'data-chart="zone-fc"' in html_a
    assert client.get(PAGE, {"zone": "Z99"}).status_code == 404


def test_no_person_is_on_the_page(computed: Epidemic) -> None:
    html = _client(computed.cast.lead).get(PAGE).content.decode()
    assert "Test Person" not in html
    assert "880000" not in html


def test_before_any_run_the_page_explains_and_offers_a_refresh(epidemic: Cast) -> None:
    html = _client(epidemic.analyst).get(PAGE).content.decode()
    assert "No analysis has been computed for this district yet" in html
    assert 'action="/insight/refresh/"' in html


def test_the_refresh_button_queues_a_run(epidemic: Cast, django_capture_on_commit_callbacks: Any) -> None:
    client = _client(epidemic.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/insight/refresh/", follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert "Recomputation queued" in response.content.decode()
    assert InsightRun.objects.filter(district=epidemic.district, status="done").exists()
    assert _client(epidemic.operator_a).post("/insight/refresh/").status_code == 403
    assert _client(epidemic.analyst).get("/insight/refresh/").status_code == 405


def test_the_page_takes_a_fixed_number_of_queries(computed: Epidemic, django_assert_max_num_queries: Any) -> None:
    client = _client(computed.cast.analyst)
    client.get(PAGE)  # warm the session and the per-process caches
    with django_assert_max_num_queries(12):
        assert client.get(PAGE).status_code == 200
    with django_assert_max_num_queries(13):
        assert client.get(PAGE, {"zone": "A"}).status_code == 200


def test_the_page_reads_in_hindi(computed: Epidemic) -> None:
    html = _client(computed.cast.analyst, "hi").get(PAGE).content.decode()
    assert 'lang="hi"' in html
    assert "महामारी का विश्लेषण" in html  # "Epidemic analysis"
    assert "संख्याएँ क्या कहती हैं" in html  # "What the numbers say"
    assert "प्रजनन संख्या" in html  # "Reproduction number"
    assert "Each person with COVID-19" not in html


def test_the_hindi_catalogue_is_complete_and_compiled() -> None:
    po = (CATALOGUE / "django.po").read_text(encoding="utf-8")
    assert (CATALOGUE / "django.mo").stat().st_size > 5_000
    entries = [e for e in po.split("\n\n") if "msgid" in e and not e.lstrip().startswith('msgid ""\nmsgstr ""\n"')]
    assert len(entries) > 100
    empty = [e for e in entries[1:] if re.search(r'^msgstr(\[\d\])? ""\n(?!")', e + "\n", re.M) or "#, fuzzy" in e]
    assert empty == [], empty[:3]
    assert (CATALOGUE / "django.mo").stat().st_mtime >= (CATALOGUE / "django.po").stat().st_mtime - 1
