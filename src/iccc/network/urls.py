from django.urls import path

from iccc.network import views

app_name = "network"
urlpatterns = [
    path("offerings/", views.offerings, name="offerings"),
    path("offerings/<int:pk>/", views.update, name="update"),
]
