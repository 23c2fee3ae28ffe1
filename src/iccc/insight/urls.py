from django.urls import path

from iccc.insight import views

app_name = "insight"
urlpatterns = [
    path("", views.analyst, name="analyst"),
    path("refresh/", views.refresh, name="refresh"),
]
