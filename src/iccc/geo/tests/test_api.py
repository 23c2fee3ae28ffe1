"""The zones GeoJSON endpoint: every authenticated staff user gets their own district, nobody else's."""

from __future__ import annotations

import pytest
from ninja.testing import TestClient

from iccc.accounts.models import User
from iccc.geo.api import router

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> TestClient:
    return TestClient(router)


def test_every_role_sees_its_own_districts_zones_as_geojson(cast, client, django_assert_max_num_queries):
    for name, user in cast.users().items():
        if user == cast.other_district_lead:
            continue
        with django_assert_max_num_queries(2):
            response = client.get("/zones.geojson", user=user)
        assert response.status_code == 200, name
        body = response.json()
        assert body["type"] == "FeatureCollection"
        assert body["district"] == "testpur"
        assert [f["properties"]["code"] for f in body["features"]] == ["A", "B"]
        assert body["features"][0]["geometry"]["type"] == "Polygon"
        assert set(body["features"][0]["properties"]) == {"id", "code", "name", "name_hi", "area_km2"}


def test_another_districts_lead_sees_only_theirs(cast, client):
    body = client.get("/zones.geojson", user=cast.other_district_lead).json()
    assert body["district"] == "otherpur"
    zone_ids = {f["id"] for f in body["features"]}
    assert not zone_ids & {cast.zone_a.pk, cast.zone_b.pk}


def test_anonymous_callers_are_refused(client):
    assert client.get("/zones.geojson").status_code == 401


def test_a_user_without_a_district_gets_a_clear_404(cast, client):
    user = User.objects.create_user(username="nodistrict", password="x" * 12)
    response = client.get("/zones.geojson", user=user)
    assert response.status_code == 404
    assert "No district" in response.json()["detail"]


def test_a_superuser_may_pick_the_district(cast, client):
    admin = User.objects.create_superuser(username="root", password="x" * 12)
    assert client.get("/zones.geojson?district=otherpur", user=admin).json()["district"] == "otherpur"


def test_the_gurugram_zones_carry_hindi_names(gurugram, cast, client):
    admin = User.objects.create_superuser(username="root", password="x" * 12)
    body = client.get("/zones.geojson?district=gurugram", user=admin).json()
    assert len(body["features"]) == 35
    names = {f["properties"]["code"]: f["properties"]["name_hi"] for f in body["features"]}
    assert names["Z35"] == "सोहना"
    assert "OpenStreetMap" in body["attribution"]
