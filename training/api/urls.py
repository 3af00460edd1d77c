"""``/api/v1/`` routes of training: runs and model versions."""

from django.urls import path

from training.api.views import ModelVersionViewSet, ProjectModelsViewSet, ProjectTrainingRunsViewSet, TrainingRunViewSet

urlpatterns = [
    path(
        "projects/<uuid:project_pk>/training-runs/",
        ProjectTrainingRunsViewSet.as_view({"get": "list", "post": "create"}),
        name="project-training-runs",
    ),
    path("training-runs/<uuid:pk>/", TrainingRunViewSet.as_view({"get": "retrieve"}), name="training-run-detail"),
    path(
        "training-runs/<uuid:pk>/cancel/",
        TrainingRunViewSet.as_view({"post": "cancel"}),
        name="training-run-cancel",
    ),
    path("projects/<uuid:project_pk>/models/", ProjectModelsViewSet.as_view({"get": "list"}), name="project-models"),
    path("models/<uuid:pk>/", ModelVersionViewSet.as_view({"get": "retrieve"}), name="model-version-detail"),
    path("models/<uuid:pk>/deploy/", ModelVersionViewSet.as_view({"post": "deploy"}), name="model-version-deploy"),
    path("models/<uuid:pk>/download/", ModelVersionViewSet.as_view({"get": "download"}), name="model-version-download"),
]
