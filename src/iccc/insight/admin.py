"""Back-office for the insight app: a district's analysis settings are edited here; runs are read-only.

Runs and their results change only through `services.compute_insight` (which audits them); the
recorded series is replaced with `iccc insight-refresh --history FILE` (or `load_historical_series`).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from iccc.insight.models import HistoricalSeries, InsightResult, InsightRun, InsightSettings


@admin.register(InsightSettings)
class InsightSettingsAdmin(admin.ModelAdmin):
    list_display = ("district", "source", "registry_from", "si_mean", "si_sd", "refresh_minutes", "updated_at")
    list_filter = ("source",)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HistoricalSeries)
class HistoricalSeriesAdmin(_ReadOnly):
    list_display = ("district", "name", "start", "scale", "loaded_at")
    exclude = ("counts",)  # hundreds of numbers: shown as a summary, not a form field
    readonly_fields = ("district", "name", "source", "sha256", "start", "scale", "notes", "loaded_at")


class InsightResultInline(admin.TabularInline):
    model = InsightResult
    fields = ("kind", "zone")
    readonly_fields = ("kind", "zone")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InsightRun)
class InsightRunAdmin(_ReadOnly):
    list_display = ("district", "as_of", "status", "trigger", "started_at", "duration_ms")
    list_filter = ("status", "trigger", "district")
    date_hierarchy = "started_at"
    readonly_fields = (
        "district", "as_of", "zone_as_of", "source", "status", "trigger", "requested_by",
        "started_at", "computed_at", "duration_ms", "error", "summary",
    )  # fmt: skip
    inlines = [InsightResultInline]


@admin.register(InsightResult)
class InsightResultAdmin(_ReadOnly):
    list_display = ("run", "kind", "zone")
    list_filter = ("kind",)
    list_select_related = ("run", "zone")
    readonly_fields = ("run", "zone", "kind", "payload")
