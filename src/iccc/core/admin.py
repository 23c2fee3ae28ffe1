"""The audit log in the back-office: read-only; and who may enter the back-office at all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from iccc.accounts.models import Role
from iccc.core.models import AuditEntry


def _lead_or_superuser(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and (user.is_superuser or (user.is_staff and user.role == Role.COMMAND_LEAD)))


# Only superusers and command leads enter the back-office, whatever `is_staff` says: a
# stray flag on an operator's account must not open it.
admin.site.has_permission = _lead_or_superuser  # type: ignore[method-assign]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "actor_role", "action", "target_type", "target_label", "person_id", "ip")
    list_filter = ("action", "actor_role", "target_type")
    search_fields = ("actor_label", "target_id", "person_id", "request_id")
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False  # counting a large log on every page is slow

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        qs = super().get_queryset(request)
        user: Any = request.user
        if user.is_superuser:
            return qs
        # A lead sees what their district's staff did.
        return qs.filter(actor__district_id=user.district_id)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _lead_or_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _lead_or_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _own_password_change(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    # One place to change one's own password: it clears the temporary-password flag and is audited.
    return redirect("accounts:password_change")


admin.site.password_change = _own_password_change  # type: ignore[method-assign,assignment]
