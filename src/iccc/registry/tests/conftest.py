"""Fixtures of the registry's importer tests: uploads under a temporary MEDIA, a district the gazetteer knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iccc.geo.models import Locality, LocalityKind


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


@pytest.fixture
def placed(cast: Any, media: Path) -> Any:
    """The cast's district with a few localities the gazetteer can find."""
    d = cast.district
    Locality.objects.create(
        district=d, name="Sector 45", kind=LocalityKind.SECTOR, lat=28.45, lon=77.05, zone=cast.zone_a
    )
    Locality.objects.create(district=d, name="Sohna", kind=LocalityKind.TOWN, lat=28.45, lon=77.15, zone=cast.zone_b)
    try:
        from iccc.geo.models import AliasTarget, PlaceAlias

        PlaceAlias.objects.create(district=d, alias="Faridabad", target_type=AliasTarget.OUTSIDE, place="Faridabad")
    except ImportError:  # the geo app without aliases: the fallback knows Faridabad is outside
        pass
    return cast


@pytest.fixture(params=["in_process", "two_processes"])
def import_mode(request: Any, settings: Any) -> str:
    """Run a test with the line list read in this process, and again read by a forked child process."""
    settings.ICCC_IMPORT_PARALLEL_BYTES = 0 if request.param == "two_processes" else 1 << 62
    return str(request.param)
