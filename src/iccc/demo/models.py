"""The simulator's clock, kept in the database so a restarted demo carries on where it stopped."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from iccc.geo.models import District


class SimulationClock(models.Model):
    """Where the case-curve simulator of one district has got to.

    `next_index` numbers the generated line-list rows (their SRF IDs derive from it), so a
    restarted simulator never re-sends rows it already sent; `carry` is the fraction of a
    case owed from the last batch, so small scales still add up to the real curve.
    """

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="+")
    sim_time = models.DateTimeField(_("simulated time"))
    next_index = models.PositiveBigIntegerField(_("next row number"), default=0)
    carry = models.FloatField(default=0.0)
    cases_sent = models.PositiveBigIntegerField(_("rows sent"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("simulation clock")
        verbose_name_plural = _("simulation clocks")

    def __str__(self) -> str:
        return f"{self.district} @ {self.sim_time:%Y-%m-%d %H:%M} UTC"
