from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from iccc.config.api import api

admin.site.site_header = "ICCC back-office"
admin.site.site_title = "ICCC"

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
    path("healthz", include("iccc.core.health_urls")),
]
# Pages carry the language in the session/cookie, not the URL, so links stay stable
# for agents who switch language mid-shift.
urlpatterns += [
    path("admin/", admin.site.urls),
    path("accounts/", include("iccc.accounts.urls")),
    path("audit/", include("iccc.core.urls")),
    path("registry/", include("iccc.registry.urls")),
    path("network/", include("iccc.network.urls")),
    path("assistance/", include("iccc.assistance.urls")),
    path("outreach/", include("iccc.outreach.urls")),
    path("insight/", include("iccc.insight.urls")),
    path("", include("iccc.dashboard.urls")),
]
