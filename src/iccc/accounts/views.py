"""Sign-in, sign-out, changing one's password, and command leads' staff management pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from iccc.accounts import services
from iccc.accounts.forms import OwnPasswordChangeForm, RateLimitedAuthenticationForm, ReasonForm
from iccc.accounts.models import Role, User


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        services.record_login(user)
        # Someone who has never picked a language on this device gets their account's language.
        cookie = settings.LANGUAGE_COOKIE_NAME
        if cookie not in self.request.COOKIES and user.preferred_language in dict(settings.LANGUAGES):
            response.set_cookie(
                cookie,
                user.preferred_language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot sign someone out."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            services.record_logout(request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("dashboard:home")

    def form_valid(self, form: Any) -> HttpResponse:
        user = self.request.user
        services.change_own_password(user, form.cleaned_data["new_password1"])  # type: ignore[arg-type]
        update_session_auth_hash(self.request, user)  # type: ignore[arg-type]
        messages.success(self.request, _("Your password has been changed."))
        return redirect(self.get_success_url())


def _require_staff_manager(user: Any) -> None:
    if not (user.is_superuser or user.role == Role.COMMAND_LEAD):
        raise PermissionDenied


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    """The staff of the lead's district, with reset and deactivate actions."""
    _require_staff_manager(request.user)
    staff = (
        User.objects.visible_to(request.user)
        .filter(api_token__isnull=True)  # API tokens' service accounts are managed as tokens, in the back-office
        .select_related("organisation")
        .prefetch_related("zones")
        .order_by("-is_active", "role", "username")
    )
    page = Paginator(staff, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/staff_list.html", {"page_obj": page, "reason_form": ReasonForm()})


def _managed_user(request: HttpRequest, pk: int) -> User:
    _require_staff_manager(request.user)
    return get_object_or_404(User.objects.visible_to(request.user), pk=pk)


@login_required
@require_POST
def staff_reset_password(request: HttpRequest, pk: int) -> HttpResponseBase:
    target = _managed_user(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Password not reset: %(errors)s") % {"errors": " ".join(str(e) for e in form.errors["reason"])}
        )
        return redirect("accounts:staff")
    try:
        password = services.set_temporary_password(request.user, target, form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:staff")
    # Shown once, on this response only; never stored in clear or logged.
    response = render(request, "accounts/temporary_password.html", {"target": target, "password": password})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def staff_deactivate(request: HttpRequest, pk: int) -> HttpResponseBase:
    target = _managed_user(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Not deactivated: %(errors)s") % {"errors": " ".join(str(e) for e in form.errors["reason"])}
        )
        return redirect("accounts:staff")
    try:
        services.deactivate_user(request.user, target, form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:staff")
    messages.success(request, _("%(user)s can no longer sign in.") % {"user": target})
    return redirect("accounts:staff")
