"""Back-office views of the registry: read-only, scoped, audited, phones always masked.

Corrections to people and cases go through the pages and `services.py` (which write the
audit row); the admin shows, it does not edit, so nothing bypasses that path.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from iccc.accounts.admin import may_use_back_office
from iccc.registry import lookup
from iccc.registry.models import Case, Household, ImportBatch, Person, PersonAccess, PossibleDuplicate, TestResult


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete from the back-office; leads and superusers view, rows scoped by `visible_to`."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_back_office(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_back_office(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TestResultInline(admin.TabularInline):
    model = TestResult
    extra = 0
    can_delete = False
    fields = ("sample_id", "sample_date", "result_date", "positive", "test_type", "lab_name")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ("name", "age", "sex", "masked_phone", "zone", "placement", "created_at")
    list_filter = ("zone", "placement", "sex")
    search_fields = ("name", "name_key")
    list_select_related = ("zone",)
    exclude = ("phone", "alt_phone", "name_key")
    readonly_fields = ("masked_phone",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return Person.objects.visible_to(request.user)  # type: ignore[arg-type]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Person) -> str:
        return lookup.mask_phone(obj.phone) or "—"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The read is audited (and counted against the hourly quota) like on the record page.
        try:
            lookup.read_person(request.user, object_id, reason="back-office")
        except lookup.ReadQuotaExceeded as exc:
            self.message_user(request, str(exc), level="error")
            return redirect("admin:registry_person_changelist")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("srf_id", "person", "zone", "status", "severity", "result_date", "result_received_at")
    list_filter = ("status", "severity", "zone", "test_type")
    search_fields = ("srf_id", "icmr_id")
    list_select_related = ("person", "zone")
    raw_id_fields = ("person", "import_batch")
    inlines = [TestResultInline]
    date_hierarchy = "result_date"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return Case.objects.visible_to(request.user)  # type: ignore[arg-type]


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "status", "received_at", "rows_total", "rows_done", "uploaded_by", "source")
    list_filter = ("status", "source")
    exclude = ("errors",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportBatch]:
        return lookup.visible_batches(request.user)


@admin.register(PossibleDuplicate)
class PossibleDuplicateAdmin(ReadOnlyAdmin):
    list_display = ("person", "candidate", "score", "status", "decided_by", "decided_at")
    list_filter = ("status",)
    raw_id_fields = ("person", "candidate")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PossibleDuplicate]:
        visible = Person.objects.visible_to(request.user).values("id")  # type: ignore[arg-type]
        return PossibleDuplicate.objects.filter(person_id__in=visible, candidate_id__in=visible).select_related(
            "person", "candidate", "decided_by"
        )


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("address_key", "zone", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        visible = Person.objects.visible_to(request.user).values("household_id")  # type: ignore[arg-type]
        return Household.objects.filter(id__in=visible).select_related("zone")


@admin.register(PersonAccess)
class PersonAccessAdmin(ReadOnlyAdmin):
    list_display = ("person", "user", "organisation", "reason", "until", "created_at")
    raw_id_fields = ("person", "user")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PersonAccess]:
        visible = Person.objects.visible_to(request.user).values("id")  # type: ignore[arg-type]
        return PersonAccess.objects.filter(person_id__in=visible).select_related("person", "user", "organisation")
