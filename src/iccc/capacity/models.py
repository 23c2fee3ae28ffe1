"""Facilities (hospitals, care centres, refill plants, …) and their beds by type."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Organisation, Role
from iccc.geo.models import District, Zone

if TYPE_CHECKING:
    from iccc.accounts.models import User

# Bed figures older than this are shown as stale: hospitals' self-reports on the 2021
# Haryana portal were often a day or more old, which is exactly what misled families.
DEFAULT_STALE_AFTER_HOURS = 6


def stale_after() -> timedelta:
    return timedelta(hours=getattr(settings, "ICCC_BEDS_STALE_AFTER_HOURS", DEFAULT_STALE_AFTER_HOURS))


class FacilityKind(models.TextChoices):
    HOSPITAL = "hospital", _("Hospital")
    COVID_CARE_CENTRE = "covid_care_centre", _("Covid care centre")
    OXYGEN_REFILL = "oxygen_refill", _("Oxygen refill plant")
    CREMATORIUM = "crematorium", _("Crematorium")
    VACCINATION_CENTRE = "vaccination_centre", _("Vaccination centre")
    LAB = "lab", _("Laboratory")


class BedType(models.TextChoices):
    GENERAL = "general", _("General / oxygen")
    ICU = "icu", _("ICU")
    VENTILATOR = "ventilator", _("ICU with ventilator")


class FacilityQuerySet(models.QuerySet["Facility"]):
    def visible_to(self, user: User) -> FacilityQuerySet:
        """Everyone in the district sees its facilities: they hold no personal data."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        if user.district_id is None:
            return self.none()
        return self.filter(district_id=user.district_id)

    def editable_by(self, user: User) -> FacilityQuerySet:
        """Facility staff change only their own organisation's facility; leads any in the district."""
        visible = self.visible_to(user)
        if user.is_superuser or getattr(user, "role", None) == Role.COMMAND_LEAD:
            return visible
        if getattr(user, "role", None) == Role.FACILITY_STAFF and user.organisation_id is not None:
            return visible.filter(organisation_id=user.organisation_id)
        return self.none()


class Facility(models.Model):
    """A place that gives a service to patients: beds, oxygen, vaccination, tests, cremation.

    A hospital is also an `Organisation`, whose facility-staff users are scoped by it.
    """

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="facilities")
    name = models.CharField(_("name"), max_length=160)
    kind = models.CharField(_("kind"), max_length=24, choices=FacilityKind.choices)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="facilities")
    address = models.TextField(_("address"), blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="facilities"
    )
    source = models.TextField(_("source"), blank=True, help_text=_("where the position and facts come from"))
    covid_role = models.TextField(_("COVID-19 role"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        ordering = ["district", "name"]
        constraints = [models.UniqueConstraint(fields=["district", "name"], name="facility_unique_per_district")]
        indexes = [models.Index(fields=["district", "kind"])]

    def __str__(self) -> str:
        return self.name


class BedCapacity(models.Model):
    """How many beds of one type a facility has and how many are taken, as last reported.

    `occupied` may exceed `total`: hospitals in April 2021 reported "beds over utilised"
    (patients on trolleys and chairs); that over-use is kept, not clipped.
    """

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="beds")
    bed_type = models.CharField(_("bed type"), max_length=12, choices=BedType.choices)
    total = models.PositiveIntegerField(_("total"))
    occupied = models.PositiveIntegerField(_("occupied"))
    updated_at = models.DateTimeField(_("figures as of"), help_text=_("when the facility last reported these figures"))
    label = models.CharField(_("label at source"), max_length=40, blank=True)
    source = models.TextField(_("source"), blank=True, help_text=_("who reported these figures, and where"))

    class Meta:
        verbose_name = _("bed capacity")
        verbose_name_plural = _("bed capacities")
        ordering = ["facility", "bed_type"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "bed_type"], name="bed_capacity_unique_type"),
        ]

    def __str__(self) -> str:
        return f"{self.facility} {self.get_bed_type_display()}: {self.occupied}/{self.total}"

    @property
    def vacant(self) -> int:
        """Free beds; negative when the facility is over capacity."""
        return self.total - self.occupied

    @property
    def over_capacity(self) -> int:
        return max(0, self.occupied - self.total)

    def is_stale(self, now: datetime, max_age: timedelta | None = None) -> bool:
        """True when the figures are too old to send a patient on."""
        return now - self.updated_at > (max_age if max_age is not None else stale_after())
