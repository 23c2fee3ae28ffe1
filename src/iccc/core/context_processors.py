from typing import Any

from django.conf import settings
from django.http import HttpRequest


def iccc(request: HttpRequest) -> dict[str, Any]:
    return {
        "ICCC_DISPLAY_TIME_ZONE": settings.ICCC_DISPLAY_TIME_ZONE,
        "ICCC_TILE_URL": settings.ICCC_TILE_URL,
        "ICCC_TILE_ATTRIBUTION": settings.ICCC_TILE_ATTRIBUTION,
    }
