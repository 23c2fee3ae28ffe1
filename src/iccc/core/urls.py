from django.urls import path

from iccc.core import views

app_name = "core"
urlpatterns = [
    path("", views.audit_home, name="audit_home"),
    path("chain/", views.audit_chain, name="audit_chain"),
    path("person/", views.audit_person, name="audit_person"),
    path("user/", views.audit_user_lookup, name="audit_user_lookup"),
    path("user/<int:pk>/", views.audit_user, name="audit_user"),
]
