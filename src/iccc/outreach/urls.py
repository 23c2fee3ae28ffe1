from django.urls import path

from iccc.outreach import views

app_name = "outreach"
urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/next/", views.next_task, name="next"),
    path("tasks/<int:pk>/outcome/", views.record_outcome, name="outcome"),
    path("tasks/<int:pk>/heartbeat/", views.heartbeat, name="heartbeat"),
    path("tasks/<int:pk>/release/", views.release, name="release"),
    path("tasks/<int:pk>/call/", views.bridge_call, name="call"),
    path("tasks/<int:pk>/need/", views.raise_need, name="need"),
    path("tasks/<int:pk>/language/", views.set_language_for_calls, name="language"),
    path("tasks/<int:pk>/reassign/", views.reassign, name="reassign"),
    path("visits/", views.visits, name="visits"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/live/", views.supervisor_live, name="supervisor_live"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("planner/", views.planner_page, name="planner"),
]
