"""Back-office for the assistance policy (SLAs, windows) and a read view of requests and their trail.

Policy is edited here; requests, assignments, timelines, codes and alerts are read-only
(they change only through `assistance.services`, which audit them).
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from iccc.assistance.models import (
    Assignment,
    AssistancePolicy,
    OutboundMessage,
    RequestAlert,
    RequestEvent,
    ServiceRequest,
)


@admin.register(AssistancePolicy)
class AssistancePolicyAdmin(admin.ModelAdmin):
    list_display = ("district", "duplicate_window_minutes", "otp_ttl_minutes", "otp_max_attempts", "auto_close_hours")


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    fields = ("organisation", "offering", "assigned_at", "accept_by", "outcome", "outcome_at", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    fields = ("at", "kind", "from_state", "to_state", "message", "actor", "organisation")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(_ReadOnly):
    list_display = ("reference", "kind", "priority", "state", "zone", "assignee_org", "created_at", "due_at")
    list_filter = ("kind", "priority", "state", "channel", "district")
    search_fields = ("reference",)
    list_select_related = ("zone", "assignee_org")
    exclude = ("requester_phone",)  # personal data is read on the request page, where the read is audited
    inlines = [AssignmentInline, EventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServiceRequest]:
        qs = ServiceRequest.objects.visible_to(request.user)  # type: ignore[arg-type]
        return qs.select_related(*self.list_select_related)


@admin.register(RequestAlert)
class RequestAlertAdmin(_ReadOnly):
    list_display = ("created_at", "kind", "message", "zone", "acknowledged_at")
    list_filter = ("kind", "district")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RequestAlert]:
        return RequestAlert.objects.visible_to(request.user)  # type: ignore[arg-type]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(_ReadOnly):
    list_display = ("created_at", "purpose", "channel", "provider", "status")
    list_filter = ("status", "channel", "provider")
    exclude = ("body", "to_phone")  # codes and numbers stay out of the back-office
