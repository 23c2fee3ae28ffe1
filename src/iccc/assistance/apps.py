from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistanceConfig(AppConfig):
    name = "iccc.assistance"
    label = "assistance"
    verbose_name = _("Assistance")

    def ready(self) -> None:
        # The network page shows each offering's load today; the requests that make it are counted here.
        from iccc.assistance.routing import offering_loads
        from iccc.network.loads import register

        register(offering_loads)
