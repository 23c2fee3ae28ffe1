"""Back-office read view of the partner network; offerings change through `network.services` (audited)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from iccc.network.models import ServiceOffering


@admin.register(ServiceOffering)
class ServiceOfferingAdmin(admin.ModelAdmin):
    list_display = ("organisation", "service", "name", "daily_capacity", "open_24x7", "is_active", "district")
    list_filter = ("service", "is_active", "district")
    search_fields = ("name", "organisation__name", "contact_name")
    list_select_related = ("organisation", "district")
    filter_horizontal = ("zones",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceOffering]:
        qs = ServiceOffering.objects.visible_to(request.user)  # type: ignore[arg-type]
        return qs.select_related(*self.list_select_related)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
