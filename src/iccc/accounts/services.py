"""Staff accounts: creating them, temporary passwords, deactivation, and the sign-in trail.

Every function here owns its transaction and writes its audit row. Permission checks live
here too (not only in views) so the admin, the pages and management commands share them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.accounts.models import Organisation, Role, User
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
