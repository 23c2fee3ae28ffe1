"""Sends a user with a temporary password to the change-password page before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

# Paths a user with a temporary password may still reach (to change it, leave, or read it in Hindi).
_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = {reverse("accounts:password_change"), reverse("accounts:logout")}
            if request.path not in allowed and not request.path.startswith(_ALLOWED_PREFIXES):
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "password change required"}, status=403)
                return redirect("accounts:password_change")
        return self.get_response(request)
