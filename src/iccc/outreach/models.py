"""Outreach: reaching every positive patient first, and checking on everyone in home isolation daily.

The work is a queue of `OutreachTask`s (first contact, daily follow-up, callback, field
visit). Agents lease one task at a time (`services.claim_next_task`), record a
`CallAttempt` per call and, when they reach the patient, a `CheckIn` that the district's
`RedFlagRule`s evaluate; a rule that fires makes an `Escalation` (a doctor callback, an
urgent `NeedFlag`) and an `Alert` for the zone's supervisors.

Invariants live here as methods without I/O; every write goes through `services.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Role, ZoneScopedQuerySet
from iccc.geo.models import District, Zone
from iccc.registry.models import Case, Person, Severity

if TYPE_CHECKING:
    from iccc.accounts.models import User


# ----------------------------------------------------------------------------- choices


class TaskKind(models.TextChoices):
    FIRST_CONTACT = "first_contact", _("First contact")
    FOLLOW_UP = "follow_up", _("Daily follow-up")
    CALLBACK = "callback", _("Callback")
    DOCTOR_CALLBACK = "doctor_callback", _("Doctor callback")
    FIELD_VISIT = "field_visit", _("Field visit")


# Tasks worked over the phone; field visits are done on foot by volunteers.
PHONE_KINDS = (TaskKind.FIRST_CONTACT, TaskKind.FOLLOW_UP, TaskKind.CALLBACK, TaskKind.DOCTOR_CALLBACK)


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Waiting")
    LEASED = "leased", _("With an agent")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    ESCALATED = "escalated", _("Escalated (handed to a field visit)")


LIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.LEASED)


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached the patient")
    NOT_REACHABLE = "not_reachable", _("Not reachable / no answer")
    SWITCHED_OFF = "switched_off", _("Phone switched off")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    CALL_BACK_LATER = "call_back_later", _("Call back later")
    REFUSED = "refused", _("Refused to talk")
    DECEASED = "deceased", _("Patient has died")
    MOVED_OUT = "moved_out", _("Moved out of the district")
    # For field visits: the volunteer found (or did not find) the patient at home.
    VISITED = "visited", _("Visited at home")
    NOT_FOUND = "not_found", _("Not found at the address")


# Outcomes that count as a human contact for "time to first contact" (a refusal is a
# contact: someone answered and the ICCC's message reached them).
CONTACT_OUTCOMES = frozenset({CallOutcome.REACHED, CallOutcome.REFUSED, CallOutcome.VISITED})
# Outcomes that try again later under the retry policy.
RETRY_OUTCOMES = frozenset({CallOutcome.NOT_REACHABLE, CallOutcome.SWITCHED_OFF})


class CheckInSource(models.TextChoices):
    CALL = "call", _("Phone call")
    FIELD_VISIT = "field_visit", _("Field visit")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SELF_REPORT = "self_report", _("Self report (web)")


class Symptom(models.TextChoices):
    FEVER = "fever", _("Fever")
    COUGH = "cough", _("Cough")
    BREATHLESSNESS = "breathlessness", _("Breathlessness")
    CHEST_PAIN = "chest_pain", _("Chest pain or pressure")
    CONFUSION = "confusion", _("Confusion / unable to wake")
    BLUISH_LIPS = "bluish_lips", _("Bluish lips or face")
    LOSS_OF_SMELL = "loss_of_smell", _("Loss of smell or taste")
    SORE_THROAT = "sore_throat", _("Sore throat")
    FATIGUE = "fatigue", _("Fatigue")
    BODY_ACHE = "body_ache", _("Body ache")
    DIARRHOEA = "diarrhoea", _("Diarrhoea")
    HEADACHE = "headache", _("Headache")


class Comorbidity(models.TextChoices):
    DIABETES = "diabetes", _("Diabetes")
    HYPERTENSION = "hypertension", _("Hypertension")
    HEART = "heart_disease", _("Heart disease")
    LUNG = "lung_disease", _("Chronic lung disease / asthma")
    KIDNEY = "kidney_disease", _("Kidney disease")
    LIVER = "liver_disease", _("Liver disease")
    CANCER = "cancer", _("Cancer")
    IMMUNOCOMPROMISED = "immunocompromised", _("Immunocompromised (HIV, transplant, steroids)")
    OBESITY = "obesity", _("Obesity")
    PREGNANCY = "pregnancy", _("Pregnancy")


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", _("A value crosses a threshold")
    TREND = "trend", _("A value changes since the last check-in")
    COMBINATION = "combination", _("Several conditions together")


class RuleAction(models.TextChoices):
    DOCTOR_CALLBACK = "doctor_callback", _("Doctor calls back")
    REQUEST_BED = "request_bed", _("Urgent need: bed / oxygen / ambulance")
    ALERT_SUPERVISOR = "alert_supervisor", _("Alert the zone's supervisor only")


class NeedKind(models.TextChoices):
    BED = "bed", _("Hospital bed")
    ICU = "icu", _("ICU bed")
    OXYGEN = "oxygen", _("Oxygen")
    AMBULANCE = "ambulance", _("Ambulance")
    DOCTOR = "doctor", _("Doctor consultation")
    MEDICINE = "medicine", _("Medicine kit")
    FOOD = "food", _("Food")
    FUNERAL = "funeral", _("Funeral / hearse")
    OTHER = "other", _("Other")


class NeedUrgency(models.TextChoices):
    URGENT = "urgent", _("Urgent (now)")
    HIGH = "high", _("High (within hours)")
    NORMAL = "normal", _("Normal (today)")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    HANDED_OVER = "handed_over", _("Handed to assistance")
    CLOSED = "closed", _("Closed")


class AlertKind(models.TextChoices):
    RED_FLAG = "red_flag", _("Red flag on a check-in")
    BREACH = "breach", _("First contact past its SLA")
    FIELD_VISIT = "field_visit", _("Field visit without a volunteer")
    WRONG_NUMBER = "wrong_number", _("Wrong phone number")
    DECEASED = "deceased", _("Death reported")


# ----------------------------------------------------------------------------- settings


DEFAULT_PRIORITY_RULES: dict[str, Any] = {
    # The priority score is the sum of the matching weights (higher = called sooner).
    # Kept as data on OutreachSettings so a district can re-weigh without a release.
    "base": {"first_contact": 100, "doctor_callback": 300, "callback": 150, "follow_up": 50, "field_visit": 100},
    "elderly_age": 60,
    "elderly": 40,
    "comorbid": 30,
    "symptomatic": 10,
    "severity": {"moderate": 20, "severe": 60, "critical": 80},
}


class OutreachSettings(models.Model):
    """A district's outreach policy: SLA, retries, lease length and the priority rule (as data).

    Priority rule (`priority_rules`, see DEFAULT_PRIORITY_RULES): the score is the task
    kind's base plus a weight for the elderly (age ≥ `elderly_age`), for a known
    comorbidity, for symptoms, and for severity (moderate/severe/critical). The queue
    serves overdue tasks first, then the highest score, then the earliest due time.
    """

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="outreach_settings")
    sla_minutes = models.PositiveIntegerField(
        _("first-contact SLA (minutes)"), default=120, help_text=_("from the result arriving to a human contact")
    )
    retry_count = models.PositiveSmallIntegerField(_("calls before a field visit"), default=3)
    retry_gap_minutes = models.PositiveIntegerField(_("minutes between tries"), default=30)
    lease_seconds = models.PositiveIntegerField(
        _("lease (seconds)"), default=600, help_text=_("a task returns to the queue if its agent goes quiet this long")
    )
    follow_up_due_hour = models.PositiveSmallIntegerField(
        _("follow-ups due by (hour, local)"), default=18, help_text=_("each day's follow-up call is due by this hour")
    )
    callback_sla_minutes = models.PositiveIntegerField(_("callback window (minutes)"), default=30)
    doctor_callback_sla_minutes = models.PositiveIntegerField(_("doctor callback SLA (minutes)"), default=60)
    field_visit_hours = models.PositiveIntegerField(_("field visit due within (hours)"), default=6)
    field_visit_access_days = models.PositiveIntegerField(
        _("volunteer access (days)"), default=2, help_text=_("how long the volunteer may see the patient's record")
    )
    priority_rules = models.JSONField(_("priority rule"), default=dict, blank=True)

    class Meta:
        verbose_name = _("outreach settings")
        verbose_name_plural = _("outreach settings")

    def __str__(self) -> str:
        return f"outreach settings of {self.district_id}"

    @property
    def sla(self) -> timedelta:
        return timedelta(minutes=self.sla_minutes)

    @property
    def retry_gap(self) -> timedelta:
        return timedelta(minutes=self.retry_gap_minutes)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    def rules(self) -> dict[str, Any]:
        return {**DEFAULT_PRIORITY_RULES, **(self.priority_rules or {})}

    def priority_for(
        self,
        kind: str,
        *,
        age: int | None = None,
        comorbid: bool = False,
        symptomatic: bool | None = None,
        severity: str = Severity.UNKNOWN,
    ) -> int:
        """The priority score of a task (pure; see the class docstring for the rule)."""
        r = self.rules()
        score = int(r["base"].get(kind, 0))
        if age is not None and age >= int(r["elderly_age"]):
            score += int(r["elderly"])
        if comorbid:
            score += int(r["comorbid"])
        if symptomatic:
            score += int(r["symptomatic"])
        score += int(r["severity"].get(severity, 0))
        return score


def settings_for(district_id: int) -> OutreachSettings:
    """The district's settings (an unsaved default row when none was configured)."""
    found = OutreachSettings.objects.filter(district_id=district_id).first()
    return found or OutreachSettings(district_id=district_id)


class IsolationProtocol(models.Model):
    """When a patient in home isolation may be released (per district; 2021 Indian guidelines).

    Default: at least `release_after_days` (10) from symptom onset — or from the result for
    those without symptoms — and no fever in the last `fever_free_days` (3) days of check-ins.
    """

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="isolation_protocol")
    release_after_days = models.PositiveSmallIntegerField(_("release after (days)"), default=10)
    fever_free_days = models.PositiveSmallIntegerField(_("no fever for (days)"), default=3)
    fever_threshold_c = models.FloatField(_("fever from (°C)"), default=37.8)
    max_days = models.PositiveSmallIntegerField(
        _("review after (days)"), default=17, help_text=_("a case still not releasable this long is flagged for review")
    )

    class Meta:
        verbose_name = _("isolation protocol")
        verbose_name_plural = _("isolation protocols")

    def __str__(self) -> str:
        return f"{self.release_after_days} days, {self.fever_free_days} fever-free"

    def release_date(self, onset: date | None, result_date: date) -> date:
        """The first day the patient may be released (if fever-free)."""
        return (onset or result_date) + timedelta(days=self.release_after_days)

    def can_release(self, today: date, *, onset: date | None, result_date: date, checkins: Iterable[CheckIn]) -> bool:
        """True when the protocol's day count has passed and no check-in of the last N days had fever."""
        if today < self.release_date(onset, result_date):
            return False
        since = today - timedelta(days=self.fever_free_days)
        return not any(c.at.date() > since and c.has_fever(self.fever_threshold_c) for c in checkins)


def protocol_for(district_id: int) -> IsolationProtocol:
    found = IsolationProtocol.objects.filter(district_id=district_id).first()
    return found or IsolationProtocol(district_id=district_id)


# ----------------------------------------------------------------------------- tasks


class OutreachTaskQuerySet(models.QuerySet["OutreachTask"]):
    def visible_to(self, user: User) -> OutreachTaskQuerySet:
        """Operators and doctors: their zones; volunteers: tasks assigned to them; leads: the district.

        Partner, facility and analyst accounts see no task (analysts get KPIs only).
        """
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
            if zones is None:
                return mine
            return mine.filter(Q(zone_id__in=zones) | Q(assigned_to_id=user.pk) | Q(leased_by_id=user.pk))
        if user.role == Role.VOLUNTEER:
            q = Q(assigned_to_id=user.pk)
            if user.organisation_id:
                q |= Q(assigned_org_id=user.organisation_id, kind=TaskKind.FIELD_VISIT)
            return mine.filter(q)
        return self.none()

    def live(self) -> OutreachTaskQuerySet:
        return self.filter(status__in=LIVE_TASK_STATUSES)


class OutreachTask(models.Model):
    """One piece of outreach work about one case: call them first, follow up today, call back, visit.

    The clock: `clock_start` is when the result reached the ICCC (first contacts) or when
    the task was made (others); `due_at` is the SLA. `available_at` holds retries and
    callbacks back until their time. A task is worked by one agent at a time through a
    lease (`leased_by`, `lease_expires_at`) that lapses if the agent goes away.
    """

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Every import writes one task per case, so each index here costs every imported row: the
    # single-column foreign-key indexes Django would add are left out where a composite or
    # partial index below already serves the lookups (or the parent row is almost never deleted).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outreach_tasks", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=TaskKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    priority = models.IntegerField(_("priority score"), default=0, help_text=_("higher is called sooner"))
    clock_start = models.DateTimeField(_("clock starts"))
    due_at = models.DateTimeField(_("due by"))
    available_at = models.DateTimeField(_("not before"), help_text=_("retries and callbacks wait until then"))
    for_date = models.DateField(_("for day"), null=True, blank=True, help_text=_("follow-ups: the day they cover"))
    created_at = models.DateTimeField(_("created"))
    # Required skills: a language the patient needs (blank = any) and doctor-only calls.
    language = models.CharField(_("language needed"), max_length=8, blank=True)
    doctor_only = models.BooleanField(_("doctor only"), default=False)
    leased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("only this person may take it (field visits, reassignment)"), db_index=False,
    )  # fmt: skip
    assigned_org = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    attempts = models.PositiveSmallIntegerField(_("calls made"), default=0)
    last_outcome = models.CharField(_("last outcome"), max_length=16, choices=CallOutcome.choices, blank=True)
    contacted_at = models.DateTimeField(_("contact made at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("marked breached at"), null=True, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    note = models.CharField(_("note"), max_length=240, blank=True)

    objects = OutreachTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("outreach task")
        verbose_name_plural = _("outreach tasks")
        indexes = [
            # The queue: open tasks of a district in claim order (see services.claim_next_task).
            models.Index(
                fields=["district", "-priority", "due_at", "id"], condition=Q(status="open"), name="outreach_task_ready"
            ),
            models.Index(fields=["district", "status", "available_at"], name="outreach_task_queue"),
            # Only leased tasks have a lease to expire: new tasks (an import makes thousands) stay out of it.
            models.Index(fields=["lease_expires_at"], condition=Q(status="leased"), name="outreach_task_lease"),
            models.Index(fields=["district", "kind", "clock_start"], name="outreach_task_kpi"),
            models.Index(fields=["case", "kind"], name="outreach_task_case_kind"),
            # Columns empty on a new task are indexed only where set: the import pays nothing for
            # them, and deleting a task, a user or an organisation still finds the rows pointing at
            # it through an index (both databases check foreign keys on delete by these columns).
            models.Index(fields=["parent"], condition=Q(parent__isnull=False), name="outreach_task_parent"),
            models.Index(fields=["leased_by"], condition=Q(leased_by__isnull=False), name="outreach_task_leased_by"),
            models.Index(
                fields=["assigned_to"], condition=Q(assigned_to__isnull=False), name="outreach_task_assigned_to"
            ),
            models.Index(
                fields=["assigned_org"], condition=Q(assigned_org__isnull=False), name="outreach_task_assigned_org"
            ),
        ]
        constraints = [
            # An agent holds at most one lease: the database enforces it, not only the code.
            models.UniqueConstraint(
                fields=["leased_by"], condition=Q(status="leased"), name="outreach_one_lease_per_agent"
            ),
            # One first contact per case, one follow-up per case per day: replays are harmless.
            models.UniqueConstraint(
                fields=["case"], condition=Q(kind="first_contact"), name="outreach_one_first_contact"
            ),
            models.UniqueConstraint(
                fields=["case", "for_date"], condition=Q(kind="follow_up"), name="outreach_one_follow_up_a_day"
            ),
            models.CheckConstraint(
                condition=Q(status="leased", leased_by__isnull=False, lease_expires_at__isnull=False)
                | ~Q(status="leased"),
                name="outreach_leased_has_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_TASK_STATUSES

    def is_breached(self, now: datetime) -> bool:
        """Past its due time without being closed (or closed late)."""
        if self.status in (TaskStatus.DONE, TaskStatus.ESCALATED) or self.status == TaskStatus.CANCELLED:
            end = self.contacted_at or self.completed_at
            return end is not None and end > self.due_at and self.status != TaskStatus.CANCELLED
        return now > self.due_at

    def lease_is_held(self, now: datetime) -> bool:
        return self.status == TaskStatus.LEASED and self.lease_expires_at is not None and self.lease_expires_at > now

    def next_retry_at(self, now: datetime, policy: OutreachSettings) -> datetime | None:
        """When to try again after an unanswered call; None when the tries are used up."""
        if self.attempts >= policy.retry_count:
            return None
        return now + policy.retry_gap

    def minutes_to_contact(self) -> float | None:
        if self.contacted_at is None:
            return None
        return (self.contacted_at - self.clock_start).total_seconds() / 60

    def waited_minutes(self, now: datetime) -> float:
        return max(0.0, (now - self.clock_start).total_seconds() / 60)


class CallAttempt(models.Model):
    """One call (or visit) made on a task and what came of it.

    `idempotency_key` is unique: the same outcome submitted twice (a double click, a
    retried request) is stored once and the second submission gets the first row back.
    """

    task = models.ForeignKey(OutreachTask, on_delete=models.CASCADE, related_name="attempts_made")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=16, choices=CallOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    call_id = models.CharField(_("bridge call id"), max_length=80, blank=True)
    at = models.DateTimeField(_("at"), db_index=True)
    checkin = models.ForeignKey("CheckIn", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        indexes = [models.Index(fields=["agent", "at"])]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} on {self.task_id}"


# ----------------------------------------------------------------------------- check-ins


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    unit: str


# Physiological bounds: outside them a reading is a typing or device error, never a patient.
VITAL_BOUNDS: dict[str, Bound] = {
    "spo2": Bound(50, 100, "%"),
    "temperature_c": Bound(30, 45, "°C"),
    "pulse": Bound(20, 250, "/min"),
}


class CheckIn(models.Model):
    """One health check of a patient, from a call, a visit or (later) WhatsApp: one model, one rule set."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="checkins")
    task = models.ForeignKey(OutreachTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkins")
    source = models.CharField(_("source"), max_length=12, choices=CheckInSource.choices, default=CheckInSource.CALL)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    symptom_onset = models.DateField(_("symptoms started on"), null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField(_("SpO2 (%)"), null=True, blank=True)
    temperature_c = models.FloatField(_("temperature (°C)"), null=True, blank=True)
    pulse = models.PositiveSmallIntegerField(_("pulse (/min)"), null=True, blank=True)
    comorbidities = models.JSONField(_("comorbidities"), default=list, blank=True)
    vaccination_doses = models.PositiveSmallIntegerField(_("vaccine doses"), null=True, blank=True)
    household_members = models.PositiveSmallIntegerField(_("household members"), null=True, blank=True)
    contacts = models.JSONField(_("contacts"), default=list, blank=True, help_text=_("[{name, phone}] for tracing"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["district", "at"])]

    def __str__(self) -> str:
        return f"check-in {self.case_id} {self.at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        errors = validate_vitals({k: getattr(self, k) for k in VITAL_BOUNDS})
        bad = [s for s in self.symptoms or [] if s not in Symptom.values]
        if bad:
            errors["symptoms"] = [_("unknown symptom: %(s)s") % {"s": ", ".join(map(str, bad))}]
        badc = [c for c in self.comorbidities or [] if c not in Comorbidity.values]
        if badc:
            errors["comorbidities"] = [_("unknown comorbidity: %(s)s") % {"s": ", ".join(map(str, badc))}]
        if self.vaccination_doses is not None and self.vaccination_doses > 5:
            errors["vaccination_doses"] = [_("at most 5 vaccine doses")]
        if self.household_members is not None and self.household_members > 60:
            errors["household_members"] = [_("at most 60 household members")]
        if errors:
            raise ValidationError(errors)

    def has_fever(self, threshold_c: float = 37.8) -> bool:
        return Symptom.FEVER in (self.symptoms or []) or (
            self.temperature_c is not None and self.temperature_c >= threshold_c
        )

    @property
    def is_comorbid(self) -> bool:
        return bool(self.comorbidities)


def out_of_range(name: str, value: Any) -> str:
    """The reason a vital sign is refused, e.g. "140% is not a possible SpO2 reading (50 to 100%)"."""
    b = VITAL_BOUNDS[name]
    label = {"spo2": "SpO2", "temperature_c": _("temperature"), "pulse": _("pulse")}[name]
    return str(
        _("%(value)s%(unit)s is not a possible %(name)s reading (%(low)g to %(high)g%(unit)s): check the device")
        % {"value": value, "unit": b.unit, "name": label, "low": b.low, "high": b.high}
    )


def validate_vitals(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Reasons for each vital sign outside its physiological range (pure)."""
    errors: dict[str, list[Any]] = {}
    for name, b in VITAL_BOUNDS.items():
        v = values.get(name)
        if v is None:
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(float(v)):
            errors[name] = [_("%(name)s must be a number") % {"name": name}]
        elif not b.low <= float(v) <= b.high:
            errors[name] = [out_of_range(name, v)]
    return errors


# ----------------------------------------------------------------------------- red flags


class RedFlagRule(models.Model):
    """A district's rule that turns a check-in into an escalation (data, not code).

    `params` by kind:
    * threshold: {"field": "spo2", "op": "<", "value": 94}
      (fields: spo2, temperature_c, pulse, age, days_since_onset);
    * trend: {"field": "spo2", "change": -3} — changed by at least that much since the previous check-in;
    * combination: {"all": [cond, ...]} or {"any": [cond, ...]} where cond is a threshold
      condition, {"symptom": "chest_pain"}, {"comorbid": true} or {"fever": true}.
    """

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("code"), max_length=40)
    description = models.CharField(_("description"), max_length=200)
    description_hi = models.CharField(_("description (Hindi)"), max_length=200, blank=True)
    kind = models.CharField(_("kind of test"), max_length=12, choices=RuleKind.choices)
    params = models.JSONField(_("parameters"), default=dict)
    action = models.CharField(_("action"), max_length=20, choices=RuleAction.choices)
    need_kind = models.CharField(_("need"), max_length=12, choices=NeedKind.choices, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=50, help_text=_("higher fires first"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("red-flag rule")
        verbose_name_plural = _("red-flag rules")
        ordering = ["-priority", "code"]
        constraints = [models.UniqueConstraint(fields=["district", "code"], name="red_flag_rule_code_unique")]

    def __str__(self) -> str:
        return self.code

    def fires(self, checkin: CheckIn, *, previous: CheckIn | None, age: int | None, onset: date | None) -> bool:
        """Does this rule fire on `checkin` (pure: the caller passes the previous check-in and facts)?"""
        facts = _Facts(checkin, previous, age, onset)
        p = self.params or {}
        if self.kind == RuleKind.THRESHOLD:
            return facts.test(p)
        if self.kind == RuleKind.TREND:
            return facts.trend(p)
        if self.kind == RuleKind.COMBINATION:
            if "all" in p:
                return all(facts.test(c) for c in p["all"])
            return any(facts.test(c) for c in p.get("any", []))
        return False


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}


@dataclass
class _Facts:
    checkin: CheckIn
    previous: CheckIn | None
    age: int | None
    onset: date | None

    def value(self, field: str) -> Any:
        if field == "age":
            return self.age
        if field == "days_since_onset":
            return None if self.onset is None else (self.checkin.at.date() - self.onset).days
        return getattr(self.checkin, field, None)

    def test(self, cond: Mapping[str, Any]) -> bool:
        if "symptom" in cond:
            return cond["symptom"] in (self.checkin.symptoms or [])
        if "comorbid" in cond:
            return self.checkin.is_comorbid == bool(cond["comorbid"])
        if "fever" in cond:
            return self.checkin.has_fever() == bool(cond["fever"])
        if "trend" in cond:
            return self.trend(cond["trend"])
        v = self.value(str(cond.get("field")))
        op = _OPS.get(str(cond.get("op")))
        return v is not None and op is not None and bool(op(v, cond.get("value")))

    def trend(self, p: Mapping[str, Any]) -> bool:
        if self.previous is None:
            return False
        field = str(p.get("field"))
        now, before = getattr(self.checkin, field, None), getattr(self.previous, field, None)
        if now is None or before is None:
            return False
        change = float(p.get("change", 0))
        delta = now - before
        return delta <= change if change < 0 else delta >= change


@dataclass(frozen=True)
class DefaultRule:
    code: str
    description: str
    description_hi: str
    kind: str
    params: dict[str, Any]
    action: str
    need_kind: str
    priority: int


# The defaults every district starts with (India's 2021 home-isolation "seek medical
# attention" signs); a district edits its own copies in the admin.
DEFAULT_RED_FLAG_RULES: Sequence[DefaultRule] = (
    DefaultRule("spo2_critical", "SpO2 below 90%", "SpO2 90% से कम", RuleKind.THRESHOLD,
                {"field": "spo2", "op": "<", "value": 90}, RuleAction.REQUEST_BED, NeedKind.OXYGEN, 100),
    DefaultRule("spo2_low", "SpO2 below 94%", "SpO2 94% से कम", RuleKind.THRESHOLD,
                {"field": "spo2", "op": "<", "value": 94}, RuleAction.DOCTOR_CALLBACK, "", 90),
    DefaultRule("spo2_falling", "SpO2 fell 3 points or more since the last check-in",
                "पिछली जाँच से SpO2 3 अंक या अधिक गिरा", RuleKind.TREND,
                {"field": "spo2", "change": -3}, RuleAction.DOCTOR_CALLBACK, "", 85),
    DefaultRule("confusion", "Confusion or difficulty waking", "भ्रम या जागने में कठिनाई", RuleKind.COMBINATION,
                {"any": [{"symptom": "confusion"}, {"symptom": "bluish_lips"}]}, RuleAction.REQUEST_BED,
                NeedKind.AMBULANCE, 95),
    DefaultRule("breathlessness", "Difficulty breathing", "साँस लेने में कठिनाई", RuleKind.COMBINATION,
                {"any": [{"symptom": "breathlessness"}]}, RuleAction.DOCTOR_CALLBACK, "", 80),
    DefaultRule("chest_pain", "Persistent chest pain or pressure", "सीने में लगातार दर्द या दबाव",
                RuleKind.COMBINATION, {"any": [{"symptom": "chest_pain"}]}, RuleAction.DOCTOR_CALLBACK, "", 80),
    DefaultRule("pulse_high", "Pulse 120 or more", "नाड़ी 120 या अधिक", RuleKind.THRESHOLD,
                {"field": "pulse", "op": ">=", "value": 120}, RuleAction.DOCTOR_CALLBACK, "", 60),
    DefaultRule("fever_beyond_day_3", "Fever beyond day 3 of illness", "बीमारी के तीसरे दिन के बाद भी बुखार",
                RuleKind.COMBINATION, {"all": [{"fever": True}, {"field": "days_since_onset", "op": ">", "value": 3}]},
                RuleAction.DOCTOR_CALLBACK, "", 50),
    DefaultRule("elderly_comorbid", "Over 60 with a comorbidity", "60 वर्ष से अधिक आयु और अन्य बीमारी",
                RuleKind.COMBINATION, {"all": [{"field": "age", "op": ">", "value": 60}, {"comorbid": True}]},
                RuleAction.DOCTOR_CALLBACK, "", 40),
)  # fmt: skip


class NeedFlag(models.Model):
    """An urgent need found on a call (bed, oxygen, ambulance, food, …), handed to assistance as a request.

    A need of a kind assistance serves becomes a `ServiceRequest` at once (`request`,
    status handed over); a medicine kit, an "other" need, or one whose hand-over failed
    stays open on the supervisor page.
    """

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="need_flags")
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("need"), max_length=12, choices=NeedKind.choices)
    urgency = models.CharField(_("urgency"), max_length=8, choices=NeedUrgency.choices, default=NeedUrgency.NORMAL)
    status = models.CharField(_("status"), max_length=12, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("raised at"))
    request = models.ForeignKey(
        "assistance.ServiceRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("service request"),
    )

    class Meta:
        verbose_name = _("need flag")
        verbose_name_plural = _("need flags")
        indexes = [models.Index(fields=["district", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_urgency_display()})"


class AlertQuerySet(ZoneScopedQuerySet):
    """Command leads: the district; operators and doctors: their zones; others: none."""

    def open(self) -> AlertQuerySet:
        return self.filter(acknowledged_at__isnull=True)


class Alert(models.Model):
    """Something a zone's supervisors must look at: a red flag, a breach, a visit nobody can make."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=AlertKind.choices)
    message = models.CharField(_("message"), max_length=240)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(OutreachTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("raised at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["district", "acknowledged_at", "created_at"])]

    def __str__(self) -> str:
        return self.message


class Escalation(models.Model):
    """A red-flag rule that fired on a check-in, and what the ICCC did about it."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="escalations")
    rule = models.ForeignKey(RedFlagRule, on_delete=models.PROTECT, related_name="+")
    rule_code = models.SlugField(_("rule"), max_length=40, help_text=_("kept even if the rule is edited later"))
    action = models.CharField(_("action"), max_length=20, choices=RuleAction.choices)
    task = models.ForeignKey(OutreachTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    need = models.ForeignKey(NeedFlag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self) -> str:
        return f"{self.rule_code} on {self.case_id}"
