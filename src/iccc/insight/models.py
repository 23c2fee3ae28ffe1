"""Stored analyses: a district's settings, its historical case series, and each computed run's results.

A run (`InsightRun`) computes every analysis of one district as of one day and stores each as
one `InsightResult` row: (run, zone or none, kind) → a JSON payload. Pages and the API read the
latest finished run; nothing is recomputed on a page view. Payloads hold aggregates only — no
person, no case id — and zone counts small enough to point at someone are already suppressed
(see `SMALL_COUNT` and docs/analytics-demand.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from iccc.accounts.models import Role
from iccc.geo.models import District, Zone
from iccc.insight.demand import DEFAULT_PARAMS, DemandError, DemandParams
from iccc.insight.pipeline import SMALL_COUNT, suppress  # noqa: F401 - the rule lives with the pipeline
from iccc.insight.scenarios import DEFAULT_SCENARIO_RTS, MAX_RT

if TYPE_CHECKING:
    from iccc.accounts.models import User
    from iccc.insight.epi.series import DailySeries

# Roles that read the analyses: the analysts who run them and the command leads who act on them.
INSIGHT_ROLES = frozenset({Role.ANALYST, Role.COMMAND_LEAD})
# Finished runs kept per district (older ones are deleted by the next run): two days of hourly runs.
KEEP_RUNS = 48
# Serial interval used unless a district sets its own: mean 4.7 and sd 2.9 days, the project's
# COVID-19 choice (the EpiEstim Gurugram reference in data/epi uses the same).
DEFAULT_SI_MEAN = 4.7
DEFAULT_SI_SD = 2.9


def can_read_insight(user: Any) -> bool:
    """Analysts and command leads of a district (and superusers) read its analyses."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.is_superuser or (user.role in INSIGHT_ROLES and user.district_id is not None))
    )


class SeriesSource(models.TextChoices):
    """Where a district's daily case series comes from."""

    REGISTRY = "registry", _("Cases in the registry (by result date)")
    HISTORICAL = "historical", _("The district's recorded series (loaded from a file)")
    COMBINED = "combined", _("Recorded series before a day, registry from that day")


class InsightSettings(models.Model):
    """A district's analysis settings: the case series' source, the serial interval, demand and scenarios.

    `source` says where the district's daily cases come from: the registry (live), a recorded
    series loaded into `HistoricalSeries` (a demo, or the months before the ICCC went live), or
    both — the recorded series before `registry_from` and the registry from that day on. Zone
    analyses always use the registry (recorded series have no zones). `demand_overrides` changes
    any parameter of `demand.DEFAULT_PARAMS` (e.g. {"icu": {"share": 0.02}}); `scenario_rts` are
    the "what if Rt is …" values shown to planners.
    """

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="insight_settings")
    source = models.CharField(
        _("case series from"), max_length=12, choices=SeriesSource.choices, default=SeriesSource.REGISTRY
    )
    registry_from = models.DateField(
        _("registry from"),
        null=True,
        blank=True,
        help_text=_("with a combined source: the first day counted from the registry"),
    )
    si_mean = models.FloatField(_("serial interval mean (days)"), default=DEFAULT_SI_MEAN)
    si_sd = models.FloatField(_("serial interval sd (days)"), default=DEFAULT_SI_SD)
    demand_overrides = models.JSONField(
        _("demand parameters (overrides)"),
        default=dict,
        blank=True,
        help_text=_('e.g. {"icu": {"share": 0.02, "los_mean": 10}, "oxygen_supply_tonnes_per_day": 40}'),
    )
    scenario_rts = models.JSONField(_("scenario Rt values"), default=list, blank=True)
    refresh_minutes = models.PositiveIntegerField(
        _("refresh every (minutes)"), default=60, help_text=_("how often the scheduled job recomputes")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("insight settings")
        verbose_name_plural = _("insight settings")

    def __str__(self) -> str:
        return f"insight settings of {self.district_id}"

    def demand_params(self) -> DemandParams:
        """The default demand parameters with this district's overrides (raises DemandError if bad)."""
        return DEFAULT_PARAMS.with_overrides(self.demand_overrides or None)

    def scenarios(self) -> tuple[float, ...]:
        return tuple(float(r) for r in self.scenario_rts) if self.scenario_rts else DEFAULT_SCENARIO_RTS

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            self.demand_params()
        except DemandError as exc:
            errors["demand_overrides"] = [str(exc)]
        rts = self.scenario_rts or []
        if not isinstance(rts, list) or not all(
            isinstance(r, int | float) and not isinstance(r, bool) and 0 <= r <= MAX_RT for r in rts
        ):
            errors["scenario_rts"] = [str(_("a list of Rt values between 0 and 5, e.g. [1.5, 1.0, 0.8]"))]
        if not (1 < self.si_mean <= 30):
            errors["si_mean"] = [str(_("must be more than 1 and at most 30 days"))]
        if not (0 < self.si_sd <= 30):
            errors["si_sd"] = [str(_("must be more than 0 and at most 30 days"))]
        if self.source == SeriesSource.COMBINED and self.registry_from is None:
            errors["registry_from"] = [str(_("a combined source needs the first day counted from the registry"))]
        if errors:
            raise ValidationError(errors)


def settings_for(district_id: int) -> InsightSettings:
    """The district's settings (an unsaved default row when none was configured)."""
    found = InsightSettings.objects.filter(district_id=district_id).first()
    return found or InsightSettings(district_id=district_id)


class HistoricalSeries(models.Model):
    """A district's recorded daily case series (e.g. covid19india's), loaded once from a CSV.

    Stored as the first day and one count per day (cleaned by `epi.series`, whose notes are kept),
    so every web process and worker reads the same numbers without the file. `scale` multiplies
    the counts when used (1 for the real series).
    """

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="historical_series")
    name = models.CharField(_("name"), max_length=120)
    source = models.TextField(_("source"), blank=True, help_text=_("file, provenance and licence"))
    sha256 = models.CharField(_("file fingerprint"), max_length=64, blank=True)
    start = models.DateField(_("first day"))
    counts = models.JSONField(_("daily counts"), default=list)
    notes = models.JSONField(_("cleaning notes"), default=list, blank=True)
    scale = models.FloatField(_("scale"), default=1.0)
    loaded_at = models.DateTimeField(_("loaded at"))

    class Meta:
        verbose_name = _("historical series")
        verbose_name_plural = _("historical series")

    def __str__(self) -> str:
        return f"{self.name} ({self.start} + {len(self.counts or [])} days)"

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.counts or []) - 1)

    def daily_series(self) -> DailySeries:
        from iccc.insight.epi.series import DailySeries

        return DailySeries(self.start, np.asarray(self.counts, dtype=float) * self.scale, tuple(self.notes or ()))


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Scheduled")
    ON_DEMAND = "on_demand", _("Asked for by staff")
    COMMAND = "command", _("Command line")


class ResultKind(models.TextChoices):
    EPICURVE = "epicurve", _("Epicurve and nowcast")
    RT = "rt", _("Reproduction number (Rt)")
    GROWTH = "growth", _("Growth rate")
    FORECAST = "forecast", _("Weekly case forecast")
    DEMAND = "demand", _("Bed and oxygen demand")
    HOTSPOTS = "hotspots", _("Hotspots")
    SCENARIOS = "scenarios", _("Scenarios")


class InsightRunQuerySet(models.QuerySet["InsightRun"]):
    def visible_to(self, user: User) -> InsightRunQuerySet:
        """Analysts and command leads see their own district's runs; everyone else none."""
        if not can_read_insight(user):
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(district_id=user.district_id)

    def finished(self) -> InsightRunQuerySet:
        return self.filter(status=RunStatus.DONE)


class InsightRun(models.Model):
    """One computation of a district's analyses as of a day: when, how long, from what, and whether it worked.

    `summary` holds the headline figures (cases in the last week, today's Rt, run-out days) and
    the plain-words notes of every treatment, so a page can say what a number rests on without
    reading every result. A run that failed keeps its error; the previous finished run stays in use.
    """

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"), help_text=_("the last day of data used"))
    zone_as_of = models.DateField(_("zones as of"), null=True, blank=True)
    source = models.CharField(_("case series from"), max_length=12, choices=SeriesSource.choices)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    trigger = models.CharField(_("started by"), max_length=10, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    objects = InsightRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("insight run")
        verbose_name_plural = _("insight runs")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["district", "status", "-computed_at"], name="insight_run_latest")]

    def __str__(self) -> str:
        return f"{self.district_id} as of {self.as_of} ({self.status})"


class InsightResult(models.Model):
    """One analysis of a run, for the whole district (`zone` empty) or for one zone: a JSON payload.

    The payload's shape per kind is documented in docs/analytics-demand.md ("Stored results");
    the API serves it as it is stored.
    """

    run = models.ForeignKey(InsightRun, on_delete=models.CASCADE, related_name="results")
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=ResultKind.choices)
    payload = models.JSONField(_("result"), default=dict)

    class Meta:
        verbose_name = _("insight result")
        verbose_name_plural = _("insight results")
        constraints = [
            # NULL zones are distinct in a plain unique index: the district row needs its own.
            models.UniqueConstraint(
                fields=["run", "kind"], condition=Q(zone__isnull=True), name="insight_result_one_district_row"
            ),
            models.UniqueConstraint(fields=["run", "zone", "kind"], name="insight_result_one_zone_row"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.zone_id or 'district'} of run {self.run_id}"
