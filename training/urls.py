"""Dashboard URLs of training, under ``/t/<slug>/`` (config/urls.py composes them)."""

from django.urls import path

from training.views import calibration, evaluation, models, runs

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
    path(
        "projects/<uuid:project_id>/models/<uuid:version_id>/adopt-threshold/",
        calibration.ThresholdAdoptView.as_view(),
        name="model-adopt-threshold",
    ),
    path("projects/<uuid:project_id>/models/compare/", evaluation.ModelCompareView.as_view(), name="model-compare"),
    path(
        "projects/<uuid:project_id>/models/<uuid:version_id>/",
        evaluation.ModelEvaluationView.as_view(),
        name="model-evaluation",
    ),
    path(
        "projects/<uuid:project_id>/models/<uuid:version_id>/download/",
        evaluation.ModelDownloadView.as_view(),
        name="model-download",
    ),
]
