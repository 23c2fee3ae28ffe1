"""Staff accounts: creating them, temporary passwords, deactivation, and the sign-in trail.

Every function here owns its transaction and writes its audit row. Permission checks live
here too (not only in views) so the admin, the pages and management commands share them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.accounts.models import ApiToken, Organisation, OrganisationKind, Role, User
from iccc.core import audit
from iccc.core.choices import AuditAction
from iccc.core.models import AuditEntry
from iccc.geo.models import District, Zone

# Failed sign-ins allowed per username and IP address within the window before refusing.
LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
# The audit rows for sign-ins name the attempted username, not a user id: the user may not exist.
LOGIN_TARGET_TYPE = "accounts.login"

# Unambiguous characters only: temporary passwords are read out over the phone.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"


def can_manage(actor: Any, user: User) -> bool:
    """Superusers manage everyone; a command lead manages the staff of their own district."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    if actor.role != Role.COMMAND_LEAD or actor.district_id is None:
        return False
    return user.district_id == actor.district_id and not user.is_superuser


def _require_manager(actor: Any, user: User) -> None:
    if not can_manage(actor, user):
        raise PermissionDenied(_("You may only manage staff of your own district."))


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError(_("Give a reason of at least 5 characters; it is kept in the audit log."))
    return reason


@transaction.atomic
def create_staff_user(
    actor: Any,
    *,
    username: str,
    password: str,
    role: Role | str,
    district: District | None,
    organisation: Organisation | None = None,
    zones: Iterable[Zone] = (),
    district_wide: bool = False,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    must_change_password: bool = True,
) -> User:
    """Create a staff account. Command leads get `is_staff` (the back-office); nobody else does.

    `actor` None means the system (demo seeding, management commands run by an operator of
    the server); otherwise the actor must be a superuser or a command lead of `district`.
    """
    role = Role(role)
    if (
        actor is not None
        and not actor.is_superuser
        and not (actor.role == Role.COMMAND_LEAD and district is not None and actor.district_id == district.pk)
    ):
        raise PermissionDenied(_("You may only create staff in your own district."))
    if organisation is not None and district is not None and organisation.district_id != district.pk:
        raise ValidationError(_("The organisation belongs to another district."))
    zones = list(zones)
    if any(z.district_id != (district.pk if district else None) for z in zones):
        raise ValidationError(_("Every zone must belong to the user's district."))
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("The username %(username)s is already taken.") % {"username": username})
    user = User(
        username=username,
        role=role,
        district=district,
        organisation=organisation,
        district_wide=district_wide,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        is_staff=(role == Role.COMMAND_LEAD),
        must_change_password=must_change_password,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    if zones:
        user.zones.set(zones)
    audit.record(
        actor,
        AuditAction.CREATE,
        user,
        changes={
            "role": [None, role.value],
            "district": [None, district.pk if district else None],
            "organisation": [None, organisation.pk if organisation else None],
            "zones": [None, sorted(z.pk for z in zones)],
            "is_staff": [None, user.is_staff],
        },
    )
    return user


def make_temporary_password() -> str:
    return "-".join("".join(secrets.choice(_TEMP_ALPHABET) for _ in range(4)) for _ in range(3))


@transaction.atomic
def set_temporary_password(actor: Any, user: User, reason: str, password: str | None = None) -> str:
    """Give `user` a temporary password they must change at their next sign-in; return it.

    The password itself is never logged; the audit row says who reset whose password and why.
    """
    _require_manager(actor, user)
    reason = _require_reason(reason)
    if ApiToken.objects.filter(actor_id=user.pk).exists():
        # A token's service account never signs in; a password would turn the token into a login.
        raise ValidationError(_("This is an API token's service account: it has no password. Revoke the token."))
    password = password or make_temporary_password()
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    audit.record(
        actor,
        AuditAction.UPDATE,
        user,
        changes={"password": ["…", "temporary"], "must_change_password": [None, True]},
        reason=reason,
    )
    return password


@transaction.atomic
def deactivate_user(actor: Any, user: User, reason: str) -> User:
    """Switch an account off. Their open sessions end on their next request (ActiveUserMiddleware)."""
    _require_manager(actor, user)
    reason = _require_reason(reason)
    if actor.pk == user.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(actor, AuditAction.UPDATE, user, changes={"is_active": [True, False]}, reason=reason)
    return user


@transaction.atomic
def change_own_password(user: User, new_password: str) -> None:
    """The user picked their own password (validated by the form); the temporary flag goes."""
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit.record(user, AuditAction.UPDATE, user, changes={"password": ["…", "changed by the user"]})


def _login_key(username: str) -> str:
    return (username or "").strip().lower()[:64]


def recent_login_failures(username: str, ip: str) -> int:
    """Failed sign-ins for this username from this IP within the window (read from the audit log)."""
    since = timezone.now() - LOGIN_FAILURE_WINDOW
    return AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED,
        target_type=LOGIN_TARGET_TYPE,
        target_id=_login_key(username),
        ip=ip,
        at__gte=since,
    ).count()


def login_blocked(username: str, ip: str) -> bool:
    return recent_login_failures(username, ip) >= LOGIN_FAILURE_LIMIT


def record_login_failed(username: str, reason: str = "") -> None:
    """One failed sign-in. The counter for the rate limit is these rows, so no cache is needed."""
    audit.record_many(
        None,
        [
            audit.AuditRecord(
                action=AuditAction.LOGIN_FAILED,
                target_type=LOGIN_TARGET_TYPE,
                target_id=_login_key(username),
                target_label=(username or "")[:150],
                reason=reason,
            )
        ],
    )


def record_login(user: User) -> None:
    audit.record(user, AuditAction.LOGIN, user)


def record_logout(user: User) -> None:
    audit.record(user, AuditAction.LOGOUT, user)


# ----------------------------------------------------------------------------- API tokens

# Tokens read "iccc_<prefix>_<secret>": the prefix finds the row, the secret (32 random
# bytes) makes guessing hopeless; only the SHA-256 of the whole string is stored.
API_TOKEN_SCHEME = "iccc"  # noqa: S105 - the tokens' public prefix, not a secret
API_TOKEN_DEFAULT_DAYS = 90
API_TOKEN_MAX_DAYS = 366
# Failed token authentications allowed per address within the window before refusing all.
API_TOKEN_FAILURE_LIMIT = 20
API_TOKEN_FAILURE_WINDOW = timedelta(minutes=15)
API_TOKEN_TARGET_TYPE = "accounts.api_token_auth"  # noqa: S105 - an audit target type
# Writing `last_used_at` on every call would make each read a write; once a minute is enough.
API_TOKEN_TOUCH_EVERY = timedelta(minutes=1)
# Roles a token's service account may take: the organisation's own staff roles, no more.
_TOKEN_ROLE_FOR_KIND = {OrganisationKind.HOSPITAL: Role.FACILITY_STAFF}


class TokenRefused(Exception):
    """An API token could not be used; `reason` is what the 401 says (never which part was wrong)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def hash_api_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _split_token(raw: str) -> str | None:
    """The prefix of a well-formed token, or None."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_TOKEN_SCHEME or len(parts[1]) != 8 or len(parts[2]) < 32:
        return None
    return parts[1]


def can_manage_tokens(actor: Any, organisation: Organisation) -> bool:
    """Superusers, and command leads of the organisation's district."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    return bool(actor.role == Role.COMMAND_LEAD and actor.district_id == organisation.district_id)


@transaction.atomic
def issue_api_token(
    actor: Any,
    organisation: Organisation,
    name: str,
    *,
    days: int = API_TOKEN_DEFAULT_DAYS,
    now: Any = None,
) -> tuple[ApiToken, str]:
    """Issue a token for `organisation`; return it and the raw token (shown once, never stored).

    The token acts through a new service account of the organisation (partner or facility
    staff, no usable password), so it sees exactly what the organisation's staff see.
    `actor` None means the system (demo seeding, a management command).
    """
    if actor is not None and not can_manage_tokens(actor, organisation):
        raise PermissionDenied(_("Only a command lead of the organisation's district may issue its API tokens."))
    name = (name or "").strip()
    if not 3 <= len(name) <= 80:
        raise ValidationError({"name": [_("Name the token (3 to 80 characters), e.g. 'dispatch system'.")]})
    if not 1 <= days <= API_TOKEN_MAX_DAYS:
        why = _("A token lives 1 to %(max)d days; issue a new one before it ends.") % {"max": API_TOKEN_MAX_DAYS}
        raise ValidationError({"days": [why]})
    if not organisation.is_active:
        raise ValidationError(_("The organisation is not active."))
    now = now or timezone.now()
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():  # 1 in 4 billion; cheap to be sure
        prefix = secrets.token_hex(4)
    raw = f"{API_TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    service_user = User(
        username=f"api-{prefix}",
        # Timelines and the audit log name the actor by full name: "<organisation> (API: <token name>)".
        first_name=str(organisation)[:100],
        last_name=f"(API: {name})"[:150],
        role=_TOKEN_ROLE_FOR_KIND.get(OrganisationKind(organisation.kind), Role.PARTNER_STAFF),
        district_id=organisation.district_id,
        organisation=organisation,
        languages="en",
        is_staff=False,
    )
    service_user.set_unusable_password()
    service_user.save()
    token = ApiToken.objects.create(
        organisation=organisation,
        name=name,
        prefix=prefix,
        token_hash=hash_api_token(raw),
        actor=service_user,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    audit.record(
        actor,
        AuditAction.CREATE,
        token,
        changes={
            "organisation": [None, organisation.pk],
            "name": [None, name],
            "prefix": [None, prefix],
            "service_account": [None, service_user.username],
            "expires_at": [None, token.expires_at.isoformat()],
        },
    )
    return token, raw


@transaction.atomic
def revoke_api_token(actor: Any, token: ApiToken, reason: str, *, now: Any = None) -> ApiToken:
    """Revoke a token at once (its next call answers 401) and switch its service account off."""
    if actor is not None and not can_manage_tokens(actor, token.organisation):
        raise PermissionDenied(_("Only a command lead of the organisation's district may revoke its API tokens."))
    reason = _require_reason(reason)
    token = ApiToken.objects.select_for_update().select_related("actor").get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = now or timezone.now()
    token.save(update_fields=["revoked_at"])
    User.objects.filter(pk=token.actor_id).update(is_active=False)
    audit.record(
        actor, AuditAction.UPDATE, token, changes={"revoked_at": [None, token.revoked_at.isoformat()]}, reason=reason
    )
    return token


def api_token_auth_blocked(ip: str, *, now: Any = None) -> bool:
    """Too many failed token authentications from this address lately (read from the audit log)."""
    since = (now or timezone.now()) - API_TOKEN_FAILURE_WINDOW
    failures = AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED, target_type=API_TOKEN_TARGET_TYPE, ip=ip, at__gte=since
    ).count()
    return failures >= API_TOKEN_FAILURE_LIMIT


def record_api_token_failure(prefix: str, reason: str) -> None:
    """One refused token; the rate limit counts these rows. The token itself is never logged."""
    audit.record_many(
        None,
        [
            audit.AuditRecord(
                action=AuditAction.LOGIN_FAILED,
                target_type=API_TOKEN_TARGET_TYPE,
                target_id=(prefix or "malformed")[:16],
                reason=reason,
            )
        ],
    )


def authenticate_api_token(raw: str, *, ip: str = "", now: Any = None) -> ApiToken:
    """The usable token `raw` names (with its organisation and service account), else TokenRefused.

    Refusals are audited and rate limited per address; once an address is over the limit it
    is refused before any lookup, and those refusals are not logged again (a flood cannot
    grow the audit log without bound).
    """
    now = now or timezone.now()
    if api_token_auth_blocked(ip, now=now):
        raise TokenRefused(_("too many failed token attempts from this address; wait 15 minutes"))
    prefix = _split_token(raw)
    token = None
    if prefix is not None:
        token = ApiToken.objects.select_related("organisation", "actor").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.token_hash, hash_api_token(raw.strip())):
        reason = _("unknown token")
        record_api_token_failure(prefix or "", "unknown")
        raise TokenRefused(reason)
    refusal = token.refusal(now)
    if refusal:
        record_api_token_failure(prefix or "", refusal)
        raise TokenRefused(refusal)
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
