"""Back-office for organisations and staff, restricted by role.

Superusers see everything. A command lead sees and edits only their own district's
organisations and staff, cannot grant superuser or permissions, and cannot create a user
outside their district. Everyone else is kept out of the admin (see core/admin.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from iccc.accounts import services
from iccc.accounts.models import ApiToken, Organisation, Role, User
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.geo.models import Zone


def form_changes(form: forms.ModelForm) -> dict[str, list[Any]]:
    """What the admin form changed, as audit `changes` (passwords never included)."""
    changes: dict[str, list[Any]] = {}
    for name in form.changed_data:
        if "password" in name:
            continue
        value: Any = form.cleaned_data.get(name)
        if value is not None and hasattr(value, "__iter__") and not isinstance(value, str):
            changes[name] = [None, sorted(str(getattr(v, "pk", v)) for v in value)]
        else:
            changes[name] = [None, audit._jsonable(value)]
    return changes


def district_of(request: HttpRequest) -> Any:
    user: Any = request.user
    return user.district_id


def is_lead(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and user.role == Role.COMMAND_LEAD and user.district_id)


def may_use_back_office(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and (user.is_superuser or is_lead(request)))


class RoleRestrictedAdmin(admin.ModelAdmin):
    """Leads get full rights over their district's rows without holding Django permissions."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_back_office(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_back_office(request) and self._in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_back_office(request) and self._in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_use_back_office(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Staff and organisations are deactivated, never deleted: the audit log points at them.
        return bool(getattr(request.user, "is_superuser", False))

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or getattr(request.user, "is_superuser", False):
            return True
        return obj.district_id == district_of(request)


@admin.register(Organisation)
class OrganisationAdmin(RoleRestrictedAdmin):
    list_display = ("name", "short_name", "kind", "district", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        qs = super().get_queryset(request).select_related("district")
        if getattr(request.user, "is_superuser", False):
            return qs
        return qs.filter(district_id=district_of(request))

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("district",) if not getattr(request.user, "is_superuser", False) else ()

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        if not getattr(request.user, "is_superuser", False):
            obj.district_id = district_of(request)
        super().save_model(request, obj, form, change)
        audit.record(
            request.user, AuditAction.UPDATE if change else AuditAction.CREATE, obj, changes=form_changes(form)
        )


class LeadUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


@admin.register(User)
class StaffUserAdmin(RoleRestrictedAdmin, DjangoUserAdmin):
    add_form = LeadUserCreationForm
    list_display = ("username", "first_name", "last_name", "role", "organisation", "district", "is_active")
    list_filter = ("role", "is_active", "must_change_password")
    search_fields = ("username", "first_name", "last_name", "phone")
    filter_horizontal = ("zones",)
    _scope_fieldsets = (
        (_("Role and scope"), {"fields": ("role", "district", "organisation", "zones", "district_wide")}),
        (_("Contact"), {"fields": ("first_name", "last_name", "email", "phone", "languages", "preferred_language")}),
        (_("Status"), {"fields": ("is_active", "must_change_password", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2")}),
        (_("Role and scope"), {"fields": ("role", "district", "organisation", "zones", "district_wide")}),
        (_("Contact"), {"fields": ("first_name", "last_name", "phone")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if getattr(request.user, "is_superuser", False):
            return self.readonly_fields
        # Leads deactivate on the staff page, which asks for the reason the audit log keeps.
        return (*self.readonly_fields, "is_active")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets: Any
        if obj is None:
            fieldsets = self.add_fieldsets
        else:
            fieldsets = ((None, {"fields": ("username", "password")}), *self._scope_fieldsets)
            if getattr(request.user, "is_superuser", False):
                fieldsets = (*fieldsets, (_("Superuser"), {"fields": ("is_superuser", "is_staff")}))
        if not getattr(request.user, "is_superuser", False):
            # A lead's users are always in the lead's district: the field is not offered.
            fieldsets = tuple(
                (name, {**opts, "fields": tuple(f for f in opts["fields"] if f != "district")})
                for name, opts in fieldsets
            )
        return fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return User.objects.visible_to(request.user).select_related("organisation", "district")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organisation" and not getattr(request.user, "is_superuser", False):
            kwargs["queryset"] = Organisation.objects.filter(district_id=district_of(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "zones" and not getattr(request.user, "is_superuser", False):
            kwargs["queryset"] = Zone.objects.filter(district_id=district_of(request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        actor: Any = request.user
        if not actor.is_superuser:
            if obj.is_superuser:
                raise PermissionDenied(_("Only a superuser can grant superuser rights."))
            obj.district_id = actor.district_id
        # Only command leads (and superusers) may enter the back-office.
        obj.is_staff = obj.is_superuser or obj.role == Role.COMMAND_LEAD
        if not change:
            obj.must_change_password = True
        super().save_model(request, obj, form, change)
        audit.record(
            actor,
            AuditAction.UPDATE if change else AuditAction.CREATE,
            obj,
            changes=form_changes(form),
        )

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        # Leads reset passwords on the staff page, which demands a reason and forces a change.
        if not getattr(request.user, "is_superuser", False):
            return redirect("accounts:staff")
        return super().user_change_password(request, id, form_url)


class IssueApiTokenForm(forms.ModelForm):
    """Issuing a token: which organisation, what for, and for how long (the secret is made by the service)."""

    days = forms.IntegerField(
        label=_("valid for (days)"),
        min_value=1,
        max_value=services.API_TOKEN_MAX_DAYS,
        initial=services.API_TOKEN_DEFAULT_DAYS,
    )

    class Meta:
        model = ApiToken
        fields = ("organisation", "name")


class RevokeApiTokenForm(forms.ModelForm):
    """A token's page: everything read-only but a reason, which revokes it."""

    revoke_reason = forms.CharField(
        label=_("revoke: reason"),
        required=False,
        max_length=500,
        help_text=_("Fill in to revoke the token now (kept in the audit log). Its next call is refused."),
    )

    class Meta:
        model = ApiToken
        fields: tuple[str, ...] = ()


@admin.register(ApiToken)
class ApiTokenAdmin(RoleRestrictedAdmin):
    """Leads issue and revoke their district's partner tokens; the raw token is shown once, on issue."""

    list_display = ("name", "organisation", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("organisation",)
    search_fields = ("name", "prefix", "organisation__name")
    readonly_fields = (
        "organisation",
        "name",
        "prefix",
        "actor",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        user: Any = request.user
        return ApiToken.objects.visible_to(user).select_related("organisation", "actor", "created_by")

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or getattr(request.user, "is_superuser", False):
            return True
        return bool(obj.organisation.district_id == district_of(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the audit log names the token's account

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = RevokeApiTokenForm if obj is not None else IssueApiTokenForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("organisation", "name", "days")
        return (*self.readonly_fields, "revoke_reason") if obj.revoked_at is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organisation" and not getattr(request.user, "is_superuser", False):
            kwargs["queryset"] = Organisation.objects.filter(district_id=district_of(request), is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            data = form.cleaned_data
            token, raw = services.issue_api_token(request.user, data["organisation"], data["name"], days=data["days"])
            obj.pk = token.pk
            request._iccc_raw_token = raw  # type: ignore[attr-defined]
            return
        reason = form.cleaned_data.get("revoke_reason", "")
        if reason:
            services.revoke_api_token(request.user, obj, reason)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # the service wrote everything

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: Any = None) -> Any:
        token = ApiToken.objects.select_related("organisation").get(pk=obj.pk)
        raw = getattr(request, "_iccc_raw_token", "")
        # Shown once, on this response only; only its hash is stored.
        response = render(request, "accounts/api_token_issued.html", {"token": token, "raw": raw})
        response["Cache-Control"] = "no-store"
        return response
