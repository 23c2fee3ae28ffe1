"""Back-office for outreach policy (settings, isolation protocol, red-flag rules) and a read view of the work.

Policy is edited here; tasks, attempts, check-ins and escalations are read-only (they change
only through the services, which audit them).
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from iccc.outreach.models import (
    Alert,
    CallAttempt,
    CheckIn,
    Escalation,
    IsolationProtocol,
    NeedFlag,
    OutreachSettings,
    OutreachTask,
    RedFlagRule,
)


@admin.register(OutreachSettings)
class OutreachSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "district",
        "sla_minutes",
        "retry_count",
        "retry_gap_minutes",
        "lease_seconds",
        "follow_up_due_hour",
    )


@admin.register(IsolationProtocol)
class IsolationProtocolAdmin(admin.ModelAdmin):
    list_display = ("district", "release_after_days", "fever_free_days", "fever_threshold_c", "max_days")


@admin.register(RedFlagRule)
class RedFlagRuleAdmin(admin.ModelAdmin):
    list_display = ("code", "district", "kind", "action", "need_kind", "priority", "is_active")
    list_filter = ("district", "kind", "action", "is_active")
    search_fields = ("code", "description")


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutreachTask)
class OutreachTaskAdmin(_ReadOnly):
    list_display = ("id", "kind", "status", "priority", "zone", "due_at", "leased_by", "assigned_to", "attempts")
    list_filter = ("kind", "status", "district")
    list_select_related = ("zone", "leased_by", "assigned_to")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutreachTask]:
        return OutreachTask.objects.visible_to(request.user).select_related(*self.list_select_related)  # type: ignore[arg-type]


@admin.register(CallAttempt)
class CallAttemptAdmin(_ReadOnly):
    list_display = ("id", "task", "agent", "outcome", "at")
    list_filter = ("outcome",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallAttempt]:
        return super().get_queryset(request).filter(task__in=OutreachTask.objects.visible_to(request.user))  # type: ignore[arg-type]


@admin.register(CheckIn)
class CheckInAdmin(_ReadOnly):
    list_display = ("id", "case", "source", "at", "spo2", "temperature_c", "pulse")
    list_filter = ("source",)


@admin.register(Escalation)
class EscalationAdmin(_ReadOnly):
    list_display = ("id", "rule_code", "action", "case", "created_at", "acknowledged_at")
    list_filter = ("rule_code", "action")


@admin.register(NeedFlag)
class NeedFlagAdmin(_ReadOnly):
    list_display = ("id", "kind", "urgency", "status", "zone", "created_at")
    list_filter = ("kind", "urgency", "status")


@admin.register(Alert)
class AlertAdmin(_ReadOnly):
    list_display = ("id", "kind", "zone", "message", "created_at", "acknowledged_at")
    list_filter = ("kind",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return Alert.objects.visible_to(request.user)  # type: ignore[arg-type]
