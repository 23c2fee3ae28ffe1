from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from iccc.capacity.models import BedCapacity, Facility


class BedCapacityInline(admin.TabularInline):
    model = BedCapacity
    extra = 0
    fields = ("bed_type", "total", "occupied", "updated_at", "label")


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "zone", "organisation", "district", "is_active")
    list_filter = ("kind", "district", "is_active")
    search_fields = ("name", "address")
    list_select_related = ("zone", "organisation", "district")
    inlines = [BedCapacityInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Facility]:
        return Facility.objects.visible_to(request.user).select_related(*self.list_select_related)  # type: ignore[arg-type]


@admin.register(BedCapacity)
class BedCapacityAdmin(admin.ModelAdmin):
    list_display = ("facility", "bed_type", "total", "occupied", "updated_at")
    list_filter = ("bed_type",)
    list_select_related = ("facility",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[BedCapacity]:
        visible: Any = Facility.objects.visible_to(request.user)  # type: ignore[arg-type]
        return super().get_queryset(request).filter(facility__in=visible)
