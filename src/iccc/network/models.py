"""The partner network: which organisation offers which service, where, when and how much.

Partner organisations are `accounts.Organisation`s (private partners, NGOs, hospitals,
municipal bodies, …). Each `ServiceOffering` says what one of them gives: a service
kind (and optionally only some variants of it, e.g. ICU beds only), the zones it covers
(none = the whole district), its hours, its daily capacity, where it starts from (for
"nearest") and whom to call — including whom to call when it does not answer.

How loaded an offering is today is counted from the requests routed to it, which live in
`assistance` (a higher app): the routing there computes it, so no import points backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Organisation, Role
from iccc.core.time import local_tz
from iccc.geo.models import District, Zone

if TYPE_CHECKING:
    from iccc.accounts.models import User


class ServiceKind(models.TextChoices):
    HOSPITAL_BED = "hospital_bed", _("Hospital bed")
    TELECONSULT = "teleconsult", _("Online doctor consultation")
    OXYGEN = "oxygen", _("Oxygen (refill / concentrator)")
    AMBULANCE = "ambulance", _("Ambulance")
    FUNERAL = "funeral", _("Funeral arrangement")
    FOOD = "food", _("Food")
    VACCINATION = "vaccination", _("Vaccination help")
    TEST_BOOKING = "test_booking", _("Test booking")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


ALL_DAYS: tuple[int, ...] = tuple(range(7))

# The variants a request of a kind can need and an offering can restrict itself to; the
# request's details carry the variant under the same key (see assistance.models.DETAIL_SCHEMAS).
# Bed types are capacity.BedType's values (capacity sits above network, so they are
# repeated here; a test keeps the two in step).
VARIANT_FIELD: dict[str, str] = {
    ServiceKind.HOSPITAL_BED: "bed_type",
    ServiceKind.OXYGEN: "supply",
    ServiceKind.AMBULANCE: "ambulance_type",
    ServiceKind.FUNERAL: "rite",
}
VARIANTS: dict[str, tuple[tuple[str, Any], ...]] = {
    ServiceKind.HOSPITAL_BED: (
        ("general", _("General / oxygen")),
        ("icu", _("ICU")),
        ("ventilator", _("ICU with ventilator")),
    ),
    ServiceKind.OXYGEN: (("refill", _("Cylinder refill")), ("concentrator", _("Concentrator"))),
    ServiceKind.AMBULANCE: (
        ("basic", _("Basic (patient transport)")),
        ("advanced", _("Advanced life support (oxygen, monitor)")),
    ),
    ServiceKind.FUNERAL: (("cremation", _("Cremation")), ("burial", _("Burial"))),
}


def variant_values(kind: str) -> tuple[str, ...]:
    return tuple(v for v, _label in VARIANTS.get(kind, ()))


class ServiceOfferingQuerySet(models.QuerySet["ServiceOffering"]):
    def visible_to(self, user: User) -> ServiceOfferingQuerySet:
        """Command leads, operators and doctors: the district's offerings; partner and facility
        staff: their own organisation's only (a partner never sees a rival's contacts or capacity).

        Volunteers and analysts see none: offerings carry staff names and phone numbers.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        if user.district_id is None:
            return self.none()
        mine = self.filter(district_id=user.district_id)
        if user.role in (Role.COMMAND_LEAD, Role.OPERATOR, Role.DOCTOR):
            return mine
        if user.role in (Role.PARTNER_STAFF, Role.FACILITY_STAFF) and user.organisation_id is not None:
            return mine.filter(organisation_id=user.organisation_id)
        return self.none()

    def active(self) -> ServiceOfferingQuerySet:
        return self.filter(is_active=True, organisation__is_active=True)

    def for_service(self, district_id: int, kind: str) -> ServiceOfferingQuerySet:
        """Active offerings of one service in a district (the routing's starting set)."""
        return self.active().filter(district_id=district_id, service=kind)


class ServiceOffering(models.Model):
    """One service one partner organisation gives in a district: where, when, how much, whom to call.

    * `zones` empty means the whole district; otherwise only requests placed in one of
      those zones are routed here (an unplaced request only to whole-district offerings).
    * Hours: `open_24x7`, or `opens_at`-`closes_at` (district local time) on `days`
      (0 = Monday). A window that closes before it opens runs past midnight (20:00-08:00),
      and its early-morning hours belong to the day it opened.
    * `daily_capacity`: how many requests it can take in one local day (routing skips a
      full offering); `variants` empty means every variant of the service (all bed types).
    """

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="offerings")
    service = models.CharField(_("service"), max_length=16, choices=ServiceKind.choices)
    name = models.CharField(_("name"), max_length=160, blank=True, help_text=_("e.g. 'ICU beds, Sector 38 wing'"))
    variants = models.JSONField(
        _("variants offered"), default=list, blank=True, help_text=_("empty = every variant of the service")
    )
    zones = models.ManyToManyField(
        Zone, blank=True, related_name="+", verbose_name=_("zones covered"), help_text=_("empty = the whole district")
    )
    open_24x7 = models.BooleanField(_("open 24x7"), default=True)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True, help_text=_("local time"))
    closes_at = models.TimeField(_("closes at"), null=True, blank=True, help_text=_("local time"))
    days = models.JSONField(_("days open"), default=list, blank=True, help_text=_("0 = Monday … 6 = Sunday"))
    daily_capacity = models.PositiveIntegerField(
        _("requests per day"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text=_("routing sends no more than this many requests in one day"),
    )
    base_lat = models.FloatField(_("base latitude"), null=True, blank=True)
    base_lon = models.FloatField(_("base longitude"), null=True, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=120, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=16, blank=True, help_text=_("E.164"))
    escalation_name = models.CharField(_("escalation contact"), max_length=120, blank=True)
    escalation_phone = models.CharField(_("escalation phone"), max_length=16, blank=True, help_text=_("E.164"))
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceOfferingQuerySet.as_manager()

    class Meta:
        verbose_name = _("service offering")
        verbose_name_plural = _("service offerings")
        ordering = ["district", "service", "organisation", "id"]
        indexes = [models.Index(fields=["district", "service", "is_active"], name="offering_routing")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(open_24x7=True) | models.Q(opens_at__isnull=False, closes_at__isnull=False),
                name="offering_hours_given",
            ),
            models.CheckConstraint(
                condition=models.Q(base_lat__isnull=True, base_lon__isnull=True)
                | models.Q(base_lat__isnull=False, base_lon__isnull=False),
                name="offering_base_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        label = self.name or self.get_service_display()
        return f"{self.organisation} — {label}"

    # ------------------------------------------------------------------ invariants (pure)

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        allowed = variant_values(self.service)
        bad = [v for v in self.variants or [] if v not in allowed]
        if bad:
            errors["variants"] = [
                _("not a variant of this service: %(v)s (choose from %(ok)s)")
                % {"v": ", ".join(map(str, bad)), "ok": ", ".join(allowed) or "—"}
            ]
        bad_days = [d for d in self.days or [] if not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6]
        if bad_days:
            errors["days"] = [_("days are numbers 0 (Monday) to 6 (Sunday)")]
        if not self.open_24x7:
            if self.opens_at is None:
                errors["opens_at"] = [_("give the opening time, or mark the service open 24x7")]
            if self.closes_at is None:
                errors["closes_at"] = [_("give the closing time, or mark the service open 24x7")]
            if self.opens_at is not None and self.opens_at == self.closes_at:
                errors["closes_at"] = [_("opening and closing times are the same: mark it open 24x7 instead")]
        if (self.base_lat is None) != (self.base_lon is None):
            errors["base_lat"] = [_("give both latitude and longitude, or neither")]
        if self.base_lat is not None and not -90 <= self.base_lat <= 90:
            errors["base_lat"] = [_("latitude must be between -90 and 90")]
        if self.base_lon is not None and not -180 <= self.base_lon <= 180:
            errors["base_lon"] = [_("longitude must be between -180 and 180")]
        if errors:
            raise ValidationError(errors)

    @property
    def is_live(self) -> bool:
        """Taking work at all: the offering and its organisation are active (as `active()` filters)."""
        return self.is_active and self.organisation.is_active

    def open_days(self) -> tuple[int, ...]:
        return tuple(self.days) if self.days else ALL_DAYS

    def is_open_at(self, dt: datetime) -> bool:
        """Does the offering take work at `dt` (an aware datetime; judged on the district's clock)?"""
        local = dt.astimezone(local_tz())
        days = self.open_days()
        if self.open_24x7:
            return local.weekday() in days
        opens, closes = self.opens_at, self.closes_at
        if opens is None or closes is None:
            return False
        return window_open(local.weekday(), local.time(), opens, closes, days)

    def covers(self, zone_id: int | None, zone_ids: Iterable[int] | None = None) -> bool:
        """Is a request in `zone_id` inside this offering's area?

        `zone_ids` are this offering's zones when the caller already has them (routing
        prefetches them); otherwise they are read. No zones = the whole district; an
        unplaced request (no zone) is covered only by whole-district offerings.
        """
        ids = set(zone_ids) if zone_ids is not None else set(self.zone_ids())
        if not ids:
            return True
        return zone_id is not None and zone_id in ids

    def zone_ids(self) -> list[int]:
        cached = getattr(self, "_prefetched_objects_cache", {}).get("zones")
        if cached is not None:
            return [z.pk for z in cached]
        return list(self.zones.values_list("id", flat=True))

    def offers_variant(self, variant: str | None) -> bool:
        """True when the request's variant (ICU, concentrator, …) is among those offered (or none is asked)."""
        return not variant or not self.variants or variant in self.variants

    def hours_label(self) -> str:
        return hours_text(self.open_24x7, self.opens_at, self.closes_at, self.days)

    def hours_facts(self) -> dict[str, Any]:
        """The hours as plain data (JSON), to be read out later by `hours_text` in the reader's language."""
        return {
            "open_24x7": self.open_24x7,
            "opens_at": f"{self.opens_at:%H:%M}" if self.opens_at else None,
            "closes_at": f"{self.closes_at:%H:%M}" if self.closes_at else None,
            "days": list(self.days or []),
        }


def hours_text(open_24x7: bool, opens_at: time | str | None, closes_at: time | str | None, days: Sequence[int]) -> str:
    """Pure: "24x7", "09:00-17:00 Mon,Tue" — in the active language (day names and "24x7" are translated)."""
    open_days = tuple(days) if days else ALL_DAYS
    day_text = "" if len(open_days) == 7 else " " + ",".join(str(Weekday(d).label)[:3] for d in open_days)
    if open_24x7:
        return str(_("24x7")) + day_text
    if opens_at is None or closes_at is None:
        return "—"
    opens = opens_at if isinstance(opens_at, str) else f"{opens_at:%H:%M}"
    closes = closes_at if isinstance(closes_at, str) else f"{closes_at:%H:%M}"
    return f"{opens}-{closes}{day_text}"


def window_open(weekday: int, at: time, opens: time, closes: time, days: Sequence[int]) -> bool:
    """Pure: is a daily window [opens, closes) on `days` open at local (`weekday`, `at`)?

    A window that closes at or before it opens runs past midnight; the hours after
    midnight count for the previous day (a Saturday 20:00-08:00 shift covers Sunday 03:00).
    """
    if opens < closes:
        return weekday in days and opens <= at < closes
    if at >= opens:
        return weekday in days
    return at < closes and (weekday - 1) % 7 in days
