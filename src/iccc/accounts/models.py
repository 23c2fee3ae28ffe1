"""Organisations, staff users, their role and their scope (zones, organisation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from iccc.geo.models import District, Zone


class Role(models.TextChoices):
    COMMAND_LEAD = "command_lead", _("Command lead")
    OPERATOR = "operator", _("Operator")
    DOCTOR = "doctor", _("Doctor")
    VOLUNTEER = "volunteer", _("Volunteer")
    PARTNER_STAFF = "partner_staff", _("Partner staff")
    FACILITY_STAFF = "facility_staff", _("Facility staff")
    ANALYST = "analyst", _("Analyst")


# Roles whose work needs patients' personal data at all; the others see aggregates
# or only the records explicitly assigned to them (volunteer, partner, facility).
PERSONAL_DATA_ROLES = frozenset({Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR})
# Roles that see phone numbers masked (calls go through the bridge).
MASKED_PHONE_ROLES = frozenset({Role.VOLUNTEER, Role.PARTNER_STAFF, Role.FACILITY_STAFF, Role.ANALYST})


class OrganisationKind(models.TextChoices):
    ADMINISTRATION = "administration", _("District administration")
    MUNICIPAL = "municipal", _("Municipal / development authority")
    HOSPITAL = "hospital", _("Hospital / care centre")
    PRIVATE_PARTNER = "private_partner", _("Private partner")
    NGO = "ngo", _("NGO")
    VOLUNTEER_GROUP = "volunteer_group", _("Volunteer group")
    LAB = "lab", _("Laboratory")


class Organisation(models.Model):
    """An agency, partner, hospital or volunteer group whose staff use the ICCC."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="organisations")
    name = models.CharField(_("name"), max_length=160)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=OrganisationKind.choices)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["district", "name"], name="organisation_unique_per_district")]

    def __str__(self) -> str:
        return self.short_name or self.name


class ZoneScopedQuerySet(models.QuerySet[Any]):
    """Staff records that carry a `district` and a `zone` (alerts and the like): one scoping rule.

    Command leads see their district; operators and doctors their zones (all of it when
    district-wide); every other role, nothing.
    """

    def visible_to(self, user: User) -> Self:
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        if user.district_id is None:
            return self.none()
        mine = self.filter(district_id=user.district_id)
        if user.role == Role.COMMAND_LEAD:
            return mine
        if user.role in (Role.OPERATOR, Role.DOCTOR):
            zones = user.zone_ids()
            return mine if zones is None else mine.filter(zone_id__in=zones)
        return self.none()


class StaffQuerySet(models.QuerySet["User"]):
    def visible_to(self, user: User) -> StaffQuerySet:
        """Command leads see their district's staff; everyone else only themselves."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        if user.role == Role.COMMAND_LEAD:
            return self.filter(district_id=user.district_id)
        return self.filter(pk=user.pk)

    def colleagues_of(self, user: User) -> StaffQuerySet:
        """Active staff of `user`'s own organisation (names and roles for a partner's home page)."""
        if not user.is_authenticated or not user.is_active or user.organisation_id is None:
            return self.none()
        return self.filter(organisation_id=user.organisation_id, district_id=user.district_id, is_active=True)

    def command_leads_for(self, user: User) -> StaffQuerySet:
        """The active command leads of `user`'s district: whom staff call when something is wrong."""
        if not user.is_authenticated or not user.is_active or user.district_id is None:
            return self.none()
        return self.filter(district_id=user.district_id, role=Role.COMMAND_LEAD, is_active=True)


class StaffManager(UserManager.from_queryset(StaffQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A staff member: one role, one district, and a scope of zones and/or an organisation.

    Operators and doctors work the zones listed in `zones`, or the whole district
    when `district_wide` is set (a central desk); with neither they see no patient,
    so a half-configured account fails closed. Partner, facility and volunteer staff are
    scoped by their organisation and by what is assigned to them.
    """

    role = models.CharField(_("role"), max_length=24, choices=Role.choices, default=Role.OPERATOR)
    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.PROTECT, related_name="staff")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    zones = models.ManyToManyField(Zone, blank=True, related_name="staff", verbose_name=_("zones"))
    district_wide = models.BooleanField(
        _("whole district"), default=False, help_text=_("works every zone of the district (central desk)")
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    languages = models.CharField(_("languages"), max_length=60, blank=True, default="en,hi")
    preferred_language = models.CharField(_("preferred language"), max_length=8, default="en")
    must_change_password = models.BooleanField(
        _("must change password"),
        default=False,
        help_text=_("set when an administrator gives a temporary password; cleared when the user picks their own"),
    )

    objects = StaffManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def sees_personal_data(self) -> bool:
        return self.is_superuser or self.role in PERSONAL_DATA_ROLES

    @property
    def sees_masked_phones(self) -> bool:
        return not self.is_superuser and self.role in MASKED_PHONE_ROLES

    def zone_ids(self) -> list[int] | None:
        """The zones this user is limited to, or None when the whole district is in scope."""
        if self.is_superuser or self.district_wide or self.role in (Role.COMMAND_LEAD, Role.ANALYST):
            return None
        cached: list[int] | None = getattr(self, "_zone_ids", None)
        if cached is None:
            cached = list(self.zones.values_list("id", flat=True))
            self._zone_ids = cached
        return cached


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def visible_to(self, user: User) -> ApiTokenQuerySet:
        """Command leads see their district's tokens; nobody else sees any (they are credentials)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        if user.role == Role.COMMAND_LEAD and user.district_id is not None:
            return self.filter(organisation__district_id=user.district_id)
        return self.none()


class ApiToken(models.Model):
    """An organisation's credential for the REST API (a partner's own system calling ICCC).

    Only a prefix (to find the row) and the SHA-256 of the whole token are stored: the raw
    token is shown once, when issued, and cannot be read back. Each token acts through its
    own service account (`actor`, a partner- or facility-staff user of the organisation with
    no usable password), so scoping (`visible_to`) and the audit log treat the token exactly
    like a member of the organisation, and "what did this token do" is one audit query.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=80, help_text=_("what the token is for, e.g. 'dispatch system'"))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, help_text=_("the token's first characters"))
    token_hash = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    actor = models.OneToOneField(
        User, on_delete=models.PROTECT, related_name="api_token", verbose_name=_("service account")
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by")
    )
    created_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.name} ({self.prefix}…)"

    def refusal(self, now: datetime) -> str:
        """Why this token may not be used at `now`, or "" when it may (the reason a 401 gives)."""
        if self.revoked_at is not None:
            return gettext("the token was revoked")
        if self.expires_at <= now:
            return gettext("the token has expired")
        if not self.organisation.is_active:
            return gettext("the organisation is no longer active")
        if not self.actor.is_active:
            return gettext("the token's service account is deactivated")
        return ""

    def is_usable(self, now: datetime) -> bool:
        return self.refusal(now) == ""


class ApiReplay(models.Model):
    """The first answer to an API write sent with an `Idempotency-Key`, kept so a retry gets it again.

    Keyed by the caller (a staff user or a token's service account) and the key: a client
    that retries after a timeout gets the same answer and the write happens once. A key
    reused for a different request (method, path or body) is refused. Rows older than a day
    are purged as new ones are written.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("API replay record")
        verbose_name_plural = _("API replay records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_replay_unique_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.method} {self.path} [{self.key}]"
