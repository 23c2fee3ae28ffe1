from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeographyConfig(AppConfig):
    name = "iccc.geo"
    label = "geo"
    verbose_name = _("Geography")
