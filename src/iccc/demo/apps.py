from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The live Gurugram demo: seed data, the case-curve simulator and the `demo`/`serve` commands."""

    name = "iccc.demo"
    label = "demo"
    verbose_name = _("Demo")
