"""Back-office views of the geography: read-only, because `iccc load-geography` owns every write.

Geometry is never edited by hand: a file is the source, and loading it is validated and audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Role
from iccc.geo.models import District, Locality, PlaceAlias, Zone


def _lead_or_superuser(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and (user.is_superuser or user.role == Role.COMMAND_LEAD))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Superusers see every district; a command lead sees only their own."""

    district_field = "district"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        user: Any = request.user
        if user.is_superuser:
            return qs
        return qs.filter(**{self.district_field: user.district_id})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _lead_or_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _lead_or_superuser(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(District)
class DistrictAdmin(ReadOnlyAdmin):
    district_field = "pk"
    list_display = ("code", "name", "name_hi", "state", "zone_count")
    search_fields = ("code", "name", "name_hi")
    exclude = ("boundary",)
    readonly_fields = ("geo_revision",)

    @admin.display(description=_("zones"))
    def zone_count(self, obj: District) -> int:
        return obj.zones.count()


@admin.register(Zone)
class ZoneAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "name_hi", "district", "area_km2", "centroid_lat", "centroid_lon")
    list_filter = ("district",)
    search_fields = ("code", "name", "name_hi")
    list_select_related = ("district",)
    exclude = ("geometry",)


@admin.register(Locality)
class LocalityAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "zone", "lat", "lon", "district")
    list_filter = ("district", "kind")
    search_fields = ("name",)
    list_select_related = ("zone", "district")


@admin.register(PlaceAlias)
class PlaceAliasAdmin(ReadOnlyAdmin):
    list_display = ("alias", "target_type", "locality", "zone", "place", "kind", "district")
    list_filter = ("district", "target_type", "kind")
    search_fields = ("alias", "place", "note")
    list_select_related = ("locality", "zone", "district")
