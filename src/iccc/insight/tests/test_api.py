"""The insight API over the cast: who reads what, suppression, query counts, refresh, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from iccc.accounts.models import User
from iccc.insight import services
from iccc.insight.tests.conftest import AS_OF, NOW, Epidemic

API = "/api/v1/insight"
READS = ["latest", "epicurve", "rt", "growth", "forecasts", "demand", "hotspots", "scenarios", "zones"]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


ALLOWED = {"lead": 200, "analyst": 200}
REFUSED = ["operator_a", "operator_b", "doctor_a", "volunteer_a", "partner_staff", "rival_staff", "facility_staff"]


@pytest.mark.parametrize("endpoint", READS)
def test_analysts_and_leads_read_their_district(computed: Epidemic, endpoint: str) -> None:
    for name in ALLOWED:
        response = _client(getattr(computed.cast, name)).get(f"{API}/{endpoint}")
        assert response.status_code == 200, (name, endpoint, response.content[:200])
        body = response.json()
        run = body if endpoint == "latest" else body["run"]
        assert run["district"] == "testpur"
        assert run["as_of"] == "2021-04-20"


@pytest.mark.parametrize("name", REFUSED)
def test_other_roles_are_refused(computed: Epidemic, name: str) -> None:
    client = _client(getattr(computed.cast, name))
    for endpoint in READS:
        response = client.get(f"{API}/{endpoint}")
        assert response.status_code == 403, (name, endpoint)
    assert client.post(f"{API}/refresh").status_code == 403


def test_another_districts_lead_sees_nothing_of_it(computed: Epidemic) -> None:
    client = _client(computed.cast.other_district_lead)
    for endpoint in READS:
        response = client.get(f"{API}/{endpoint}")
        assert response.status_code == 404, endpoint
        assert "testpur" not in response.content.decode()
    # Naming our district or our zone changes nothing: scope is the user's district.
    assert client.get(f"{API}/rt", {"district": "testpur"}).status_code == 404
    assert client.get(f"{API}/rt", {"zone": "A"}).status_code == 404


def test_signed_out_callers_are_refused(computed: Epidemic) -> None:
    assert Client().get(f"{API}/rt").status_code == 401


def test_a_zone_answer_holds_no_count_from_one_to_four(computed: Epidemic) -> None:
    body = _client(computed.cast.analyst).get(f"{API}/epicurve", {"zone": "B"}).json()
    assert body["zone"] == "B"
    counts = [w["cases"] for w in body["data"]["weeks"]]
    assert None in counts
    assert not any(c in (1, 2, 3, 4) for c in counts)
    zones = _client(computed.cast.analyst).get(f"{API}/zones").json()
    assert zones["suppressed_below"] == 5
    for z in zones["zones"]:
        assert z["cases_last7"] not in (1, 2, 3, 4)
        assert z["cases_prev7"] not in (1, 2, 3, 4)


def test_an_unknown_zone_is_404(computed: Epidemic) -> None:
    response = _client(computed.cast.lead).get(f"{API}/rt", {"zone": "Z99"})
    assert response.status_code == 404
    assert response.json()["detail"] == "No such zone."


def test_forecasts_come_in_the_hub_format(computed: Epidemic) -> None:
    data = _client(computed.cast.analyst).get(f"{API}/forecasts").json()["data"]
    first = data["forecasts"][0]
    assert first["horizon"] == 1
    assert first["target_end_date"] == "2021-04-24"
    levels = sorted(float(k) for k in first["quantiles"])  # a JSON object: no key order to rely on
    assert len(levels) == 23
    assert levels[0] == 0.01
    assert levels[-1] == 0.99
    values = [first["quantiles"][f"{lv:g}"] for lv in levels]
    assert values == sorted(values)


def test_no_person_appears_in_any_answer(computed: Epidemic) -> None:
    client = _client(computed.cast.lead)
    for endpoint in READS:
        text = client.get(f"{API}/{endpoint}").content.decode()
        assert "Test Person" not in text
        assert "880000" not in text


@pytest.mark.parametrize("endpoint", READS)
def test_reads_take_a_fixed_number_of_queries(
    computed: Epidemic, endpoint: str, django_assert_max_num_queries: Any
) -> None:
    client = _client(computed.cast.analyst)
    with django_assert_max_num_queries(7):
        assert client.get(f"{API}/{endpoint}").status_code == 200


def test_before_any_run_the_answer_says_so(epidemic: Any) -> None:
    response = _client(epidemic.analyst).get(f"{API}/rt")
    assert response.status_code == 404
    assert "No analysis has been computed" in response.json()["detail"]


def test_refresh_is_accepted_and_not_queued_twice(epidemic: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = _client(epidemic.lead)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"{API}/refresh")
    assert first.status_code == 202
    assert first.json()["queued"] is True
    assert services.latest_run(epidemic.district.pk) is not None
    from iccc.insight.models import InsightRun

    InsightRun.objects.create(district=epidemic.district, as_of=AS_OF, source="registry", trigger="schedule",
                              started_at=NOW.replace(year=2100))  # fmt: skip
    second = client.post(f"{API}/refresh")
    assert second.status_code == 202
    assert second.json()["queued"] is False


def test_a_superuser_names_the_district(computed: Epidemic) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "x" * 12)
    client = _client(admin)
    assert client.get(f"{API}/rt", {"district": "testpur"}).json()["run"]["district"] == "testpur"
    assert client.get(f"{API}/rt", {"district": "otherpur"}).status_code == 404
