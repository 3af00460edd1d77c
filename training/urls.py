"""Dashboard URLs of training, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from training.views import models, runs

urlpatterns = [
    path("projects/<uuid:project_id>/runs/", runs.RunListView.as_view(), name="run-list"),
    path("projects/<uuid:project_id>/runs/<uuid:run_id>/", runs.RunDetailView.as_view(), name="run-detail"),
    path("projects/<uuid:project_id>/runs/<uuid:run_id>/cancel/", runs.RunCancelView.as_view(), name="run-cancel"),
    path("projects/<uuid:project_id>/models/", models.ModelListView.as_view(), name="model-list"),
    path(
        "projects/<uuid:project_id>/models/<uuid:version_id>/deploy/",
        models.ModelDeployView.as_view(),
        name="model-deploy",
    ),
]
