from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from inference.api.batch_views import BatchPredictionViewSet, ProjectBatchPredictionsViewSet
from inference.api.feedback_views import ProjectFeedbackViewSet
from inference.api.monitor_views import AlertRuleViewSet, MonitorViewSet
from inference.api.views import PredictView
from projects.api.datasets import DatasetViewSet, ProjectDatasetsViewSet
from training.api.views import (
    ModelVersionViewSet,
    ProjectModelsViewSet,
    ProjectTrainingRunsViewSet,
    TrainingRunViewSet,
)

_project_datasets = ProjectDatasetsViewSet.as_view({"get": "list", "post": "create"})
_dataset = DatasetViewSet.as_view({"get": "retrieve", "delete": "destroy"})

api_v1: list[URLPattern | URLResolver] = [
    # The hot path first: Django tries the patterns in order, and a prediction otherwise walked ~40.
    path("projects/<uuid:project_pk>/predict/", PredictView.as_view(), name="project-predict"),
    path("", include("projects.api.urls")),
    path("", include("tenants.api.webhook_urls")),
    path("projects/<uuid:project_pk>/datasets/", _project_datasets, name="project-datasets"),
    path(
        "projects/<uuid:project_pk>/datasets/preview/",
        ProjectDatasetsViewSet.as_view({"post": "preview"}),
        name="project-datasets-preview",
    ),
    path("datasets/<uuid:pk>/", _dataset, name="dataset-detail"),
    path("datasets/<uuid:pk>/fix/", DatasetViewSet.as_view({"post": "fix"}), name="dataset-fix"),
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
    path(
        "projects/<uuid:project_pk>/batch-predictions/",
        ProjectBatchPredictionsViewSet.as_view({"get": "list", "post": "create"}),
        name="project-batch-predictions",
    ),
    path(
        "batch-predictions/<uuid:pk>/",
        BatchPredictionViewSet.as_view({"get": "retrieve"}),
        name="batch-prediction-detail",
    ),
    path(
        "batch-predictions/<uuid:pk>/results/",
        BatchPredictionViewSet.as_view({"get": "results"}),
        name="batch-prediction-results",
    ),
    path(
        "projects/<uuid:project_pk>/feedback/",
        ProjectFeedbackViewSet.as_view({"get": "list", "post": "create"}),
        name="project-feedback",
    ),
    path("monitors/", MonitorViewSet.as_view({"get": "list", "post": "create"}), name="monitor-list"),
    path(
        "monitors/<uuid:pk>/",
        MonitorViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="monitor-detail",
    ),
    path("monitors/<uuid:pk>/events/", MonitorViewSet.as_view({"post": "events"}), name="monitor-events"),
    path("monitors/<uuid:pk>/alerts/", MonitorViewSet.as_view({"get": "alerts"}), name="monitor-alerts"),
    path("monitors/<uuid:pk>/series/", MonitorViewSet.as_view({"get": "series"}), name="monitor-series"),
    path("monitors/<uuid:pk>/rules/", MonitorViewSet.as_view({"get": "rules", "post": "rules"}), name="monitor-rules"),
    path(
        "alert-rules/<uuid:pk>/",
        AlertRuleViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="alert-rule-detail",
    ),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("tenants.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
