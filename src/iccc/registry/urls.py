from django.urls import path

from iccc.registry import views

app_name = "registry"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("people/<uuid:pk>/", views.person_detail, name="person"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/<int:pk>/", views.duplicate_detail, name="duplicate"),
    path("import/", views.import_page, name="import"),
    path("imports/", views.import_list, name="imports"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/errors.csv", views.import_errors_csv, name="import_errors"),
]
