"""People who tested positive, their episodes of infection, results, households and imports."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Role
from iccc.core.ids import uuid7
from iccc.geo.models import District, Zone

if TYPE_CHECKING:
    from iccc.accounts.models import User


def _scope_q(user: Any, prefix: str) -> Q | None:
    """The rows of a person-bearing model `user` may see; None means none at all.

    `prefix` is the path from the model to its Person ("" for Person itself,
    "person__" for Case). Written once here; every list, page and API uses it.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Q()
    if user.district_id is None:
        return None
    in_district = Q(**{f"{prefix}district_id": user.district_id})
    if user.role in (Role.COMMAND_LEAD,):
        return in_district
    grants = PersonAccess.objects.filter(until__gt=timezone.now())
    mine = Q(user_id=user.pk) | Q(organisation_id=user.organisation_id) if user.organisation_id else Q(user_id=user.pk)
    granted = Q(**{f"{prefix}id__in": grants.filter(mine).values("person_id")})
    if user.role in (Role.OPERATOR, Role.DOCTOR):
        zone_ids = user.zone_ids()
        zoned = in_district if zone_ids is None else in_district & Q(**{f"{prefix}zone_id__in": zone_ids})
        return zoned | (in_district & granted)
    if user.role in (Role.VOLUNTEER, Role.PARTNER_STAFF, Role.FACILITY_STAFF):
        # Only people whose work was handed to them (a task, a request, an admission).
        return in_district & granted
    return None  # analysts: aggregates only


class PersonQuerySet(models.QuerySet["Person"]):
    def visible_to(self, user: User) -> PersonQuerySet:
        q = _scope_q(user, "")
        return self.none() if q is None else self.filter(q)


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user: User) -> CaseQuerySet:
        q = _scope_q(user, "person__")
        return self.none() if q is None else self.filter(q)


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    OTHER = "O", _("Other")
    UNKNOWN = "U", _("Not stated")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")
    NONE = "none", _("No usable number")


class Language(models.TextChoices):
    """Languages a patient may need a call in (Gurugram's call floor, 2021; extend per district)."""

    HINDI = "hi", _("Hindi")
    ENGLISH = "en", _("English")
    HARYANVI = "bgc", _("Haryanvi")
    PUNJABI = "pa", _("Punjabi")
    BENGALI = "bn", _("Bengali")
    URDU = "ur", _("Urdu")
    NEPALI = "ne", _("Nepali")
    ODIA = "or", _("Odia")
    MARATHI = "mr", _("Marathi")
    TAMIL = "ta", _("Tamil")
    TELUGU = "te", _("Telugu")
    MALAYALAM = "ml", _("Malayalam")


class Placement(models.TextChoices):
    """How a person's address was placed on the map."""

    COORDINATES = "coordinates", _("From coordinates")
    GAZETTEER = "gazetteer", _("From the address text")
    MANUAL = "manual", _("Placed by staff")
    UNPLACED = "unplaced", _("Not placed")


class CaseStatus(models.TextChoices):
    HOME_ISOLATION = "home_isolation", _("Home isolation")
    IN_FACILITY = "in_facility", _("In a facility")
    RECOVERED = "recovered", _("Recovered")
    DECEASED = "deceased", _("Deceased")
    MOVED_OUT = "moved_out", _("Moved out of the district")


ACTIVE_CASE_STATUSES = (CaseStatus.HOME_ISOLATION, CaseStatus.IN_FACILITY)


class Severity(models.TextChoices):
    UNKNOWN = "unknown", _("Not assessed")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic")
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")
    CRITICAL = "critical", _("Critical")


class TestType(models.TextChoices):
    RTPCR = "rtpcr", _("RT-PCR")
    RAT = "rat", _("Rapid antigen")
    TRUENAT = "truenat", _("TrueNat")
    CBNAAT = "cbnaat", _("CBNAAT")
    OTHER = "other", _("Other")


class Household(models.Model):
    """People living at one address: contacts to trace, meals to deliver, one home to visit."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Both are covered by the unique (district, address_key) index: no index of their own.
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    address_key = models.CharField(_("normalised address"), max_length=255)
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [models.UniqueConstraint(fields=["district", "address_key"], name="household_unique_address")]

    def __str__(self) -> str:
        return self.address_key


class Person(models.Model):
    """Someone who tested positive (or a household member): the personal data the ICCC holds.

    The id is a time-ordered UUID (version 7, `iccc.core.ids`) ending in 62 random bits, so
    that no URL can be guessed by counting (SEC-5).
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Covered by the (district, zone) and (district, phone) indexes; every index costs the importer.
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    name = models.CharField(_("name"), max_length=160)
    # Not indexed: search matches it with LIKE '%…%', which no B-tree index serves, and the
    # importer would pay for the index on every row.
    name_key = models.CharField(_("name key"), max_length=160, help_text=_("normalised for matching"))
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    # Looked up within a district: the (district, phone) index below serves it.
    phone = models.CharField(_("phone"), max_length=16, blank=True, help_text=_("E.164"))
    phone_kind = models.CharField(_("phone kind"), max_length=10, choices=PhoneKind.choices, default=PhoneKind.NONE)
    language = models.CharField(
        _("language for calls"),
        max_length=8,
        choices=Language.choices,
        blank=True,
        # A database default too: the importer's bulk insert names its columns and leaves this out.
        default="",
        db_default="",
        help_text=_("set by the agent who reached them; their calls then go to agents who speak it"),
    )
    alt_phone = models.CharField(_("other phone"), max_length=16, blank=True)
    address = models.TextField(_("address"), blank=True)
    # The (district, zone) index serves every scoped query; a zone is almost never deleted.
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    placement = models.CharField(_("placed by"), max_length=12, choices=Placement.choices, default=Placement.UNPLACED)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # Set when a reviewer decided this record is the same human as another: its cases moved
    # there. The row is kept (never deleted) so nothing that pointed at it is lost.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("merged into"),
        db_index=False,  # a partial index below: merges are rare, a full index would cost every imported row
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            models.Index(fields=["district", "zone"]),
            # The importer's dedup looks people up by phone within a district, per chunk.
            models.Index(fields=["district", "phone"], name="person_district_phone"),
            # Deleting a person checks for records merged into it: without an index that is a
            # scan of the table per deleted row. Only merged rows are indexed.
            models.Index(fields=["merged_into"], name="person_merged_into", condition=Q(merged_into__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name

    def age_band(self) -> str:
        if self.age is None:
            return "?"
        return "60+" if self.age >= 60 else f"{self.age // 10 * 10}-{self.age // 10 * 10 + 9}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportBatch(models.Model):
    """One lab line-list file imported: its fingerprint, progress and row-level report."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(_("file fingerprint"), max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=16, default="cli")
    # The upload as stored under MEDIA/imports/ (empty for in-memory imports such as the simulator).
    stored_file = models.FileField(_("stored file"), upload_to="imports/", max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    received_at = models.DateTimeField(_("received at"), help_text=_("when the results reached the ICCC"))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.received_at:%Y-%m-%d %H:%M})"

    @property
    def progress_percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class Case(models.Model):
    """One episode of infection of one person, identified by the lab's SRF ID.

    `result_received_at` is when the positive result reached the ICCC: the outreach
    clock starts there.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Covered by the unique (district, srf_id) index and the (district, ...) indexes below.
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    srf_id = models.CharField(_("SRF ID"), max_length=40)
    icmr_id = models.CharField(_("ICMR patient ID"), max_length=40, blank=True)
    sample_date = models.DateField(_("sample date"), null=True, blank=True)
    result_date = models.DateField(_("result date"))
    result_received_at = models.DateTimeField(_("result received at"), db_index=True)
    lab_name = models.CharField(_("lab"), max_length=160, blank=True)
    test_type = models.CharField(_("test type"), max_length=10, choices=TestType.choices, default=TestType.RTPCR)
    symptomatic = models.BooleanField(_("symptomatic"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.HOME_ISOLATION
    )  # no index of its own: district-scoped queries use (district, zone, status), and every index costs the importer
    severity = models.CharField(_("severity"), max_length=14, choices=Severity.choices, default=Severity.UNKNOWN)
    # Served by the (district, zone, status) index, as for Person.zone.
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    import_row = models.PositiveIntegerField(null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [models.UniqueConstraint(fields=["district", "srf_id"], name="case_srf_unique_per_district")]
        indexes = [
            models.Index(fields=["district", "zone", "status"]),
            models.Index(fields=["district", "result_date"]),
        ]

    def __str__(self) -> str:
        return self.srf_id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_CASE_STATUSES

    def days_since_result(self, today: date) -> int:
        return (today - self.result_date).days


class TestResult(models.Model):
    """A lab result line for a case (the first positive and any later re-test)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="results")
    sample_id = models.CharField(_("sample / SRF ID"), max_length=40)
    sample_date = models.DateField(_("sample date"), null=True, blank=True)
    result_date = models.DateField(_("result date"))
    positive = models.BooleanField(_("positive"))
    test_type = models.CharField(_("test type"), max_length=10, choices=TestType.choices, default=TestType.RTPCR)
    lab_name = models.CharField(_("lab"), max_length=160, blank=True)
    ct_value = models.FloatField(_("Ct value"), null=True, blank=True)
    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("test result")
        verbose_name_plural = _("test results")

    def __str__(self) -> str:
        return f"{self.sample_id} {'+' if self.positive else '-'}"


class MatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    MERGED = "merged", _("Same person: merged")
    DISTINCT = "distinct", _("Different people")


class PossibleDuplicate(models.Model):
    """Two person records that may be the same human: a reviewer decides, never the machine."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("match score"))
    reasons = models.JSONField(_("why"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=MatchStatus.choices, default=MatchStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [models.UniqueConstraint(fields=["person", "candidate"], name="possible_duplicate_pair_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} ~ {self.candidate_id} ({self.score:.2f})"


class PersonAccess(models.Model):
    """A time-limited grant to see one person, given when work about them is handed over.

    Higher apps (outreach tasks for volunteers, requests for partners, admissions for
    facilities) create grants; `visible_to` honours them. The grant, not the higher
    app's tables, is what scoping reads, so no import points backwards.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="access_grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=120)
    until = models.DateTimeField(_("until"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(organisation__isnull=False), name="person_access_has_grantee"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.user_id or self.organisation_id} until {self.until:%Y-%m-%d}"
