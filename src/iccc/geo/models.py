"""Districts, their zones (GeoJSON polygons) and the locality gazetteer."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class LocalityKind(models.TextChoices):
    TOWN = "town", _("Town")
    COLONY = "colony", _("Colony")
    VILLAGE = "village", _("Village")
    SECTOR = "sector", _("Sector")
    ROAD = "road", _("Road / landmark")


class District(models.Model):
    """A district served by one ICCC: the tenant key of every other record."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_hi = models.CharField(_("name (Hindi)"), max_length=120, blank=True)
    state = models.CharField(_("state"), max_length=80, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"))
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    attribution = models.TextField(_("map data attribution"), blank=True)
    # Changes whenever the district's zones, localities or aliases change, so every process
    # can tell that its in-memory point-in-zone index or gazetteer is stale.
    geo_revision = models.UUIDField(_("geography revision"), default=uuid.uuid4, editable=False)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class Zone(models.Model):
    """An operational area of a district (ward, block, demo cell) that staff are scoped to."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="zones")
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    name_hi = models.CharField(_("name (Hindi)"), max_length=120, blank=True)
    geometry = models.JSONField(_("geometry (GeoJSON)"))
    centroid_lat = models.FloatField()
    centroid_lon = models.FloatField()
    area_km2 = models.FloatField(null=True, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        ordering = ["district", "code"]
        constraints = [models.UniqueConstraint(fields=["district", "code"], name="zone_code_unique_per_district")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Locality(models.Model):
    """A named place (sector, colony, village, road) used to place free-text addresses."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="localities")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=LocalityKind.choices)
    lat = models.FloatField()
    lon = models.FloatField()
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="localities")
    aliases = models.JSONField(_("other spellings"), default=list, blank=True)
    source = models.TextField(_("source"), blank=True)

    class Meta:
        verbose_name = _("locality")
        verbose_name_plural = _("localities")
        ordering = ["district", "name"]
        constraints = [models.UniqueConstraint(fields=["district", "name"], name="locality_unique_per_district")]

    def __str__(self) -> str:
        return self.name


class AliasTarget(models.TextChoices):
    LOCALITY = "locality", _("A locality")
    ZONE = "zone", _("A zone")
    DISTRICT = "district", _("The district itself (not a placement)")
    OUTSIDE = "outside", _("A place outside the district")


class PlaceAlias(models.Model):
    """Another name for a place, used by the gazetteer: a variant spelling, a road, a Hindi form.

    It points at a locality or a zone (approximate: no sourced coordinate of its own), names
    the district itself ("Gurgaon" says nothing about where in the district), or names a
    place outside the district ("Faridabad") so such addresses are reported, not guessed.
    """

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="place_aliases")
    alias = models.CharField(_("alias"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=LocalityKind.choices, blank=True)
    target_type = models.CharField(_("refers to"), max_length=16, choices=AliasTarget.choices)
    locality = models.ForeignKey(Locality, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    place = models.CharField(_("place name (outside the district)"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("place alias")
        verbose_name_plural = _("place aliases")
        ordering = ["district", "alias"]
        constraints = [models.UniqueConstraint(fields=["district", "alias"], name="place_alias_unique_per_district")]

    def __str__(self) -> str:
        return self.alias
