"""Sign-in with a rate limit, and the forms command leads use to manage staff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext_lazy

from iccc.accounts import services


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing after too many failures and auditing each failure."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or password is not right. Both are case-sensitive."),
        "rate_limited": _(
            "Too many failed sign-ins for this username from this device. Wait 15 minutes, "
            "or ask your command lead to set a temporary password."
        ),
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        # Our own labels, so the Hindi matches the rest of ICCC (Django's reads "कूटशब्द").
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def _ip(self) -> str:
        return self.request.META.get("REMOTE_ADDR", "") if self.request is not None else ""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if username and services.login_blocked(username, self._ip()):
            # Refused before the password is checked, so guessing gains nothing; not logged
            # again, so a flood cannot grow the audit log without bound.
            raise ValidationError(self.error_messages["rate_limited"], code="rate_limited")
        try:
            return super().clean()
        except ValidationError as error:
            if username:
                services.record_login_failed(username, reason=error.code or "invalid_login")
            raise


class ReasonForm(forms.Form):
    """A reason is required for resets and deactivations: it goes into the audit log."""

    reason = forms.CharField(
        label=_("Reason"),
        min_length=5,
        max_length=500,
        help_text=_("Kept in the audit log, e.g. 'forgot password, identity checked by phone'."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's form with labels worded like the rest of ICCC (and translated with it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Current or temporary password")
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password1"].help_text = _(
            "At least 10 characters; not a common password, not only digits, not like your name. "
            "A short sentence is easy to remember."
        )
        self.fields["new_password2"].label = _("New password again")


# Django ships no Hindi for its password checks. These copies of its message ids bring them
# into ICCC's catalogue (which takes precedence over Django's), so a Hindi user sees why a
# new password was refused in Hindi. The texts must match Django's exactly.
# (Django's texts use the typographic apostrophe, hence the noqa.)
DJANGO_PASSWORD_MESSAGES = (
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        1,
    ),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        1,
    ),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("Your password can’t be too similar to your other personal information."),  # noqa: RUF001
    gettext_noop("This password is too common."),
    gettext_noop("Your password can’t be a commonly used password."),  # noqa: RUF001
    gettext_noop("This password is entirely numeric."),
    gettext_noop("Your password can’t be entirely numeric."),  # noqa: RUF001
    gettext_noop("The two password fields didn’t match."),  # noqa: RUF001
    gettext_noop("Your old password was entered incorrectly. Please enter it again."),
)
