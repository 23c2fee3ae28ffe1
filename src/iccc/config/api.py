"""The JSON API root: each app contributes a django-ninja router."""

from ninja import NinjaAPI
from ninja.security import django_auth

api = NinjaAPI(
    title="ICCC API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    docs_url="/docs",
)

from iccc.assistance.api import router as assistance_router  # noqa: E402
from iccc.geo.api import router as geo_router  # noqa: E402
from iccc.insight.api import router as insight_router  # noqa: E402
from iccc.network.api import router as network_router  # noqa: E402
from iccc.outreach.api import router as outreach_router  # noqa: E402
from iccc.registry.api import router as registry_router  # noqa: E402

api.add_router("/geo", geo_router)
api.add_router("/registry", registry_router)
api.add_router("/outreach", outreach_router)
api.add_router("/network", network_router)
api.add_router("/assistance", assistance_router)
api.add_router("/insight", insight_router)
