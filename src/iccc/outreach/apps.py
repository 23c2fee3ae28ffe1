from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutreachConfig(AppConfig):
    name = "iccc.outreach"
    label = "outreach"
    verbose_name = _("Outreach")

    def ready(self) -> None:
        # Higher app listens to the registry; the registry never imports outreach.
        from iccc.core.events import subscribe
        from iccc.outreach.services import on_case_registered

        subscribe("case_registered", on_case_registered)
