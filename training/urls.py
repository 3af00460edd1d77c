"""Dashboard URLs of training, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from training import views

urlpatterns = [
    path("projects/<uuid:project_id>/runs/", views.RunListView.as_view(), name="run-list"),
    path("projects/<uuid:project_id>/runs/<uuid:run_id>/", views.RunDetailView.as_view(), name="run-detail"),
    path("projects/<uuid:project_id>/runs/<uuid:run_id>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path("projects/<uuid:project_id>/models/", views.ModelListView.as_view(), name="model-list"),
    path(
        "projects/<uuid:project_id>/models/<uuid:version_id>/deploy/",
        views.ModelDeployView.as_view(),
        name="model-deploy",
    ),
]
