"""Geography API: the caller's district zones as GeoJSON, for the map. No personal data."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.security import django_auth

from iccc.geo.models import District, Zone

# The API root applies django_auth too; repeating it keeps the router safe wherever it is mounted.
router = Router(tags=["geo"], auth=django_auth)


class ZoneProperties(Schema):
    id: int
    code: str
    name: str
    name_hi: str
    area_km2: float | None


class ZoneFeature(Schema):
    type: Literal["Feature"] = "Feature"
    id: int
    properties: ZoneProperties
    geometry: dict[str, Any]


class ZoneCollection(Schema):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    district: str
    attribution: str
    features: list[ZoneFeature]


class GeoError(Schema):
    detail: str


def _district_for(user: Any, code: str | None) -> District | None:
    """The user's own district; a superuser (no district) may name one with ?district=code."""
    if getattr(user, "district_id", None):
        return District.objects.filter(pk=user.district_id).first()
    if user.is_superuser:
        qs = District.objects.all()
        if code:
            qs = qs.filter(code=code)
        return qs.order_by("id").first()
    return None


@router.get(
    "/zones.geojson",
    response={200: ZoneCollection, 404: GeoError},
    summary="Zones of your district as a GeoJSON FeatureCollection",
)
def zones_geojson(request: HttpRequest, district: str | None = None) -> tuple[int, Any]:
    """Every zone of the caller's district with code, name and Hindi name (any authenticated staff user)."""
    found = _district_for(request.user, district)
    if found is None:
        return 404, {"detail": _("No district is configured for your account.")}
    zones = (
        Zone.objects.filter(district=found)
        .order_by("code")
        .values("id", "code", "name", "name_hi", "area_km2", "geometry")
    )
    features = [
        {
            "type": "Feature",
            "id": z["id"],
            "properties": {k: z[k] for k in ("id", "code", "name", "name_hi", "area_km2")},
            "geometry": z["geometry"],
        }
        for z in zones
    ]
    return 200, {
        "type": "FeatureCollection",
        "district": found.code,
        "attribution": found.attribution,
        "features": features,
    }
