from django.urls import path

from iccc.assistance import views

app_name = "assistance"
urlpatterns = [
    path("", views.board, name="board"),
    path("summary/", views.board_summary, name="board_summary"),
    path("bulk/", views.board_bulk, name="bulk"),
    path("new/", views.new, name="new"),
    path("partner/", views.partner, name="partner"),
    path("breaches/", views.breaches, name="breaches"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/<slug:action>/", views.act, name="act"),
]
