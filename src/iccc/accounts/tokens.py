"""API authentication for partners' own systems: `Authorization: Bearer iccc_<prefix>_<secret>`.

`ApiTokenAuth` resolves a token to its organisation's service account (a partner- or
facility-staff user, see `ApiToken`): the operation sees it as `request.auth` and
`request.user`, so every endpoint's `visible_to(request.user)` scopes a token exactly as it
scopes a person of that organisation, and audit rows name the token's account.
An unknown, malformed, expired or revoked token answers 401 with the reason; so does a
request with neither a token nor a session (`SessionOrExplain`). Failed token attempts are
rate limited per address (`services.authenticate_api_token`).

Routers that serve both staff (browser sessions, CSRF-checked) and partners' systems use
`auth=STAFF_OR_TOKEN`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from iccc.accounts import services
from iccc.accounts.models import ApiToken


class TokenError(HttpError):
    """A 401 whose message is the reason (ninja renders it as {"detail": reason})."""

    def __init__(self, reason: str) -> None:
        super().__init__(401, reason)


class ApiTokenAuth(HttpBearer):
    """Bearer token → the token's service account; a bad token is refused here, not passed on."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            api_token = services.authenticate_api_token(token, ip=request.META.get("REMOTE_ADDR", ""))
        except services.TokenRefused as refused:
            raise TokenError(_("API token refused: %(reason)s.") % {"reason": refused.reason}) from None
        actor = api_token.actor
        actor.organisation = api_token.organisation  # already loaded: saves a query per request
        request.user = actor
        request.api_token = api_token  # type: ignore[attr-defined]
        return actor


class SessionOrExplain(SessionAuth):
    """A signed-in staff member (CSRF-checked); without one, a 401 that says what to send."""

    def __call__(self, request: HttpRequest) -> Any:
        user: Any = request.user
        if not (user.is_authenticated and user.is_active):
            # Before the CSRF check: a caller with no credentials learns what to send, not "CSRF".
            raise TokenError(_("Sign in, or send an API token as 'Authorization: Bearer <token>'."))
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user


def token_of(request: HttpRequest) -> ApiToken | None:
    """The API token the request came with, or None for a staff session."""
    return getattr(request, "api_token", None)


STAFF_OR_TOKEN = [ApiTokenAuth(), SessionOrExplain()]
